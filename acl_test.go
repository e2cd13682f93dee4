package consul_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aclWireCase is one wire test of an ACL or query method: the call, the
// answer served, and the request expected.
type aclWireCase struct {
	name   string
	status int
	reply  string
	call   func(ctx context.Context, c *consul.Client) (any, error)
	method string
	path   string // escaped
	query  url.Values
	body   string // JSON compared with JSONEq; "" means no body
	check  func(t *testing.T, got any)
}

func aclRunWire(t *testing.T, cases []aclWireCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWireConfig(t, consul.Config{Token: "client-secret"}, reply{Status: tc.status, Body: tc.reply, Header: map[string]string{"X-Consul-Index": "42"}})
			got, err := tc.call(testCtx(t), c)
			require.NoError(t, err)
			r := w.only(t)
			r.expect(t, tc.method, tc.path, tc.query)
			require.Equal(t, "client-secret", r.Header.Get("X-Consul-Token"))
			if tc.body == "" {
				require.Empty(t, r.Body)
			} else {
				require.JSONEq(t, tc.body, r.Body)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

// A token as Consul 1.19.2 answers it (recorded, IDs shortened).
const aclTestTokenJSON = `{"AccessorID":"acc-1","SecretID":"sec-1","Description":"app",
"Policies":[{"ID":"pol-1","Name":"app-read"}],"Roles":[{"ID":"role-1","Name":"ops"}],
"ServiceIdentities":[{"ServiceName":"web","Datacenters":["dc1"]}],
"NodeIdentities":[{"NodeName":"n1","Datacenter":"dc1"}],
"TemplatedPolicies":[{"TemplateName":"builtin/service","TemplateVariables":{"name":"api"}}],
"Local":false,"ExpirationTime":"2026-11-21T23:31:22.302817641Z","CreateTime":"2026-11-21T22:31:22.302817641Z",
"Hash":"tqqwFU6g05D0TFVusPUxoli6BJKS+EV1CCZnyxmjZpQ=","CreateIndex":6,"ModifyIndex":7}`

func aclCheckTestToken(t *testing.T, got any) {
	tok := got.(*consul.ACLToken)
	require.NotNil(t, tok)
	assert.Equal(t, "acc-1", tok.AccessorID)
	assert.Equal(t, "sec-1", tok.SecretID)
	assert.Equal(t, []consul.ACLLink{{ID: "pol-1", Name: "app-read"}}, tok.Policies)
	assert.Equal(t, []consul.ACLLink{{ID: "role-1", Name: "ops"}}, tok.Roles)
	assert.Equal(t, []consul.ACLServiceIdentity{{ServiceName: "web", Datacenters: []string{"dc1"}}}, tok.ServiceIdentities)
	assert.Equal(t, []consul.ACLNodeIdentity{{NodeName: "n1", Datacenter: "dc1"}}, tok.NodeIdentities)
	assert.Equal(t, "api", tok.TemplatedPolicies[0].TemplateVariables.Name)
	require.NotNil(t, tok.ExpirationTime)
	assert.Equal(t, time.Hour, tok.ExpirationTime.Sub(tok.CreateTime))
	assert.Equal(t, 2026, tok.CreateTime.Year())
	assert.Len(t, tok.Hash, 32)
	assert.Equal(t, uint64(7), tok.ModifyIndex)
}

const aclTestPolicyJSON = `{"ID":"pol-1","Name":"app-read","Description":"d","Rules":"key_prefix \"app/\" { policy = \"read\" }",
"Datacenters":["dc1"],"Hash":"fkKhjrlAmpAdYg5TaoHiIklLu6v8zpTlFIPJanEjDcQ=","CreateIndex":4,"ModifyIndex":5}`

func aclCheckTestPolicy(t *testing.T, got any) {
	p := got.(*consul.ACLPolicy)
	require.NotNil(t, p)
	assert.Equal(t, "pol-1", p.ID)
	assert.Equal(t, "app-read", p.Name)
	assert.Equal(t, `key_prefix "app/" { policy = "read" }`, p.Rules)
	assert.Equal(t, []string{"dc1"}, p.Datacenters)
	assert.Len(t, p.Hash, 32)
}

const aclTestRoleJSON = `{"ID":"role-1","Name":"ops","Description":"d","Policies":[{"ID":"pol-1","Name":"app-read"}],
"ServiceIdentities":[{"ServiceName":"web"}],"Hash":"fkKhjrlAmpAdYg5TaoHiIklLu6v8zpTlFIPJanEjDcQ=","CreateIndex":8,"ModifyIndex":8}`

func aclCheckTestRole(t *testing.T, got any) {
	r := got.(*consul.ACLRole)
	require.NotNil(t, r)
	assert.Equal(t, "role-1", r.ID)
	assert.Equal(t, []consul.ACLLink{{ID: "pol-1", Name: "app-read"}}, r.Policies)
	assert.Equal(t, "web", r.ServiceIdentities[0].ServiceName)
}

const aclTestMethodJSON = `{"Name":"jwt","Type":"jwt","DisplayName":"JWT","Description":"d","MaxTokenTTL":"5m0s",
"TokenLocality":"global","Config":{"BoundIssuer":"test","JWTValidationPubKeys":["pem"]},"CreateIndex":9,"ModifyIndex":9}`

func aclCheckTestMethod(t *testing.T, got any) {
	m := got.(*consul.ACLAuthMethod)
	require.NotNil(t, m)
	assert.Equal(t, "jwt", m.Type)
	assert.Equal(t, 5*time.Minute, m.MaxTokenTTL)
	assert.Equal(t, "test", m.Config["BoundIssuer"])
	assert.Equal(t, "global", m.TokenLocality)
}

const aclTestRuleJSON = `{"ID":"rule-1","Description":"d","AuthMethod":"jwt","Selector":"value.role == \"web\"",
"BindType":"service","BindName":"${value.service}","CreateIndex":10,"ModifyIndex":10}`

func aclCheckTestRule(t *testing.T, got any) {
	r := got.(*consul.ACLBindingRule)
	require.NotNil(t, r)
	assert.Equal(t, "rule-1", r.ID)
	assert.Equal(t, consul.ACLBindService, r.BindType)
	assert.Equal(t, "${value.service}", r.BindName)
	assert.Equal(t, `value.role == "web"`, r.Selector)
}

func TestACLWireTokens(t *testing.T) {
	aclRunWire(t, []aclWireCase{
		{
			name: "Bootstrap", reply: `{"ID":"sec-1",` + aclTestTokenJSON[1:],
			call:   func(ctx context.Context, c *consul.Client) (any, error) { return c.ACL.Bootstrap(ctx, "") },
			method: "PUT", path: "/v1/acl/bootstrap", check: aclCheckTestToken,
		},
		{
			name: "BootstrapSecret", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.Bootstrap(ctx, "11111111-2222-3333-4444-555555555555")
			},
			method: "PUT", path: "/v1/acl/bootstrap", body: `{"BootstrapSecret":"11111111-2222-3333-4444-555555555555"}`,
		},
		{
			name: "CreateToken", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CreateToken(ctx, &consul.ACLToken{
					Description:       "app",
					Policies:          []consul.ACLLink{{Name: "app-read"}},
					Roles:             []consul.ACLLink{{ID: "role-1"}},
					ServiceIdentities: []consul.ACLServiceIdentity{{ServiceName: "web"}},
					NodeIdentities:    []consul.ACLNodeIdentity{{NodeName: "n1", Datacenter: "dc1"}},
					TemplatedPolicies: []consul.ACLTemplatedPolicy{{TemplateName: "builtin/service", TemplateVariables: &consul.ACLTemplatedPolicyVariables{Name: "api"}}},
					Local:             true,
					ExpirationTTL:     time.Hour,
				})
			},
			method: "PUT", path: "/v1/acl/token",
			body: `{"Description":"app","Policies":[{"Name":"app-read"}],"Roles":[{"ID":"role-1"}],
				"ServiceIdentities":[{"ServiceName":"web"}],"NodeIdentities":[{"NodeName":"n1","Datacenter":"dc1"}],
				"TemplatedPolicies":[{"TemplateName":"builtin/service","TemplateVariables":{"name":"api"}}],
				"Local":true,"ExpirationTTL":"1h0m0s"}`,
			check: aclCheckTestToken,
		},
		{
			name: "UpdateToken", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.UpdateToken(ctx, &consul.ACLToken{AccessorID: "acc 1", Description: "new"})
			},
			method: "PUT", path: "/v1/acl/token/acc%201", body: `{"AccessorID":"acc 1","Description":"new","Local":false}`,
			check: aclCheckTestToken,
		},
		{
			name: "GetToken", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				tok, meta, err := c.ACL.GetToken(ctx, "acc-1", consul.Consistent())
				if err == nil && meta.Index != 42 {
					err = errors.New("meta not parsed")
				}
				return tok, err
			},
			method: "GET", path: "/v1/acl/token/acc-1", query: q("consistent", ""), check: aclCheckTestToken,
		},
		{
			name: "GetTokenMissing", status: 403, reply: "token does not exist: ACL not found",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				tok, meta, err := c.ACL.GetToken(ctx, "acc-1")
				if err == nil && (tok != nil || meta == nil) {
					err = errors.New("want nil token and a meta")
				}
				return nil, err
			},
			method: "GET", path: "/v1/acl/token/acc-1",
		},
		{
			name: "GetSelfToken", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				tok, _, err := c.ACL.GetSelfToken(ctx)
				return tok, err
			},
			method: "GET", path: "/v1/acl/token/self", check: aclCheckTestToken,
		},
		{
			name: "CloneToken", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CloneToken(ctx, "acc-0", "copy")
			},
			method: "PUT", path: "/v1/acl/token/acc-0/clone", body: `{"Description":"copy"}`, check: aclCheckTestToken,
		},
		{
			name: "CloneTokenKeepDescription", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CloneToken(ctx, "acc-0", "")
			},
			method: "PUT", path: "/v1/acl/token/acc-0/clone", body: `{}`,
		},
		{
			name: "DeleteToken", reply: "true",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.ACL.DeleteToken(ctx, "acc-1")
			},
			method: "DELETE", path: "/v1/acl/token/acc-1",
		},
		{
			name: "ListTokens", reply: `[` + aclTestTokenJSON + `]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListTokens(ctx, nil)
				return l, err
			},
			method: "GET", path: "/v1/acl/tokens",
			check: func(t *testing.T, got any) {
				l := got.([]*consul.ACLTokenListEntry)
				require.Len(t, l, 1)
				assert.Equal(t, "acc-1", l[0].AccessorID)
				assert.Equal(t, "app-read", l[0].Policies[0].Name)
				assert.Equal(t, 2026, l[0].CreateTime.Year())
			},
		},
		{
			name: "ListTokensFilters", reply: `[]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListTokens(ctx, &consul.ACLTokenFilter{Policy: "p", Role: "r", AuthMethod: "m", ServiceName: "s"})
				return l, err
			},
			method: "GET", path: "/v1/acl/tokens",
			query: q("policy", "p", "role", "r", "authmethod", "m", "servicename", "s"),
			check: func(t *testing.T, got any) { require.Empty(t, got) },
		},
		{
			name: "Login", reply: aclTestTokenJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: "jwt", BearerToken: "eyJ.x.y", Meta: map[string]string{"host": "h"}})
			},
			method: "POST", path: "/v1/acl/login", body: `{"AuthMethod":"jwt","BearerToken":"eyJ.x.y","Meta":{"host":"h"}}`,
			check: aclCheckTestToken,
		},
		{
			name: "Logout", reply: "true",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.ACL.Logout(ctx)
			},
			method: "POST", path: "/v1/acl/logout",
		},
		{
			name: "Replication",
			reply: `{"Enabled":true,"Running":true,"SourceDatacenter":"dc1","ReplicationType":"tokens","ReplicatedIndex":10,
				"ReplicatedRoleIndex":11,"ReplicatedTokenIndex":12,"LastSuccess":"2026-11-21T22:31:22Z","LastError":"0001-01-01T00:00:00Z","LastErrorMessage":""}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, _, err := c.ACL.Replication(ctx, consul.Datacenter("dc2"))
				return r, err
			},
			method: "GET", path: "/v1/acl/replication", query: q("dc", "dc2"),
			check: func(t *testing.T, got any) {
				r := got.(*consul.ACLReplicationStatus)
				assert.True(t, r.Enabled)
				assert.Equal(t, "tokens", r.ReplicationType)
				assert.Equal(t, uint64(12), r.ReplicatedTokenIndex)
				assert.Equal(t, 22, r.LastSuccess.Hour())
				assert.True(t, r.LastError.IsZero())
			},
		},
	})
}

func TestACLWirePolicies(t *testing.T) {
	aclRunWire(t, []aclWireCase{
		{
			name: "CreatePolicy", reply: aclTestPolicyJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: "app-read", Rules: `key_prefix "app/" { policy = "read" }`, Datacenters: []string{"dc1"}})
			},
			method: "PUT", path: "/v1/acl/policy",
			body:  `{"Name":"app-read","Rules":"key_prefix \"app/\" { policy = \"read\" }","Datacenters":["dc1"]}`,
			check: aclCheckTestPolicy,
		},
		{
			name: "UpdatePolicy", reply: aclTestPolicyJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.UpdatePolicy(ctx, &consul.ACLPolicy{ID: "pol-1", Name: "app-read", Rules: `{"key_prefix":{"app/":{"policy":"read"}}}`})
			},
			method: "PUT", path: "/v1/acl/policy/pol-1",
			body:  `{"ID":"pol-1","Name":"app-read","Rules":"{\"key_prefix\":{\"app/\":{\"policy\":\"read\"}}}"}`,
			check: aclCheckTestPolicy,
		},
		{
			name: "GetPolicy", reply: aclTestPolicyJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				p, _, err := c.ACL.GetPolicy(ctx, "pol-1", consul.Stale())
				return p, err
			},
			method: "GET", path: "/v1/acl/policy/pol-1", query: q("stale", ""), check: aclCheckTestPolicy,
		},
		{
			name: "GetPolicyMissing", status: 404, reply: "Requested policy does not exist: ACL not found",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				p, meta, err := c.ACL.GetPolicy(ctx, "pol-1")
				if err == nil && (p != nil || meta.Index != 42) {
					err = errors.New("want nil policy and a meta")
				}
				return nil, err
			},
			method: "GET", path: "/v1/acl/policy/pol-1",
		},
		{
			name: "GetPolicyByName", reply: aclTestPolicyJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				p, _, err := c.ACL.GetPolicyByName(ctx, "app read")
				return p, err
			},
			method: "GET", path: "/v1/acl/policy/name/app%20read", check: aclCheckTestPolicy,
		},
		{
			name: "DeletePolicy", reply: "true",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.ACL.DeletePolicy(ctx, "pol-1")
			},
			method: "DELETE", path: "/v1/acl/policy/pol-1",
		},
		{
			name: "ListPolicies", reply: `[{"ID":"pol-1","Name":"app-read","Description":"d","Datacenters":null,"Hash":"fkKhjrlAmpAdYg5TaoHiIklLu6v8zpTlFIPJanEjDcQ=","CreateIndex":4,"ModifyIndex":5}]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListPolicies(ctx, consul.WaitIndex(41))
				return l, err
			},
			method: "GET", path: "/v1/acl/policies", query: q("index", "41"),
			check: func(t *testing.T, got any) {
				l := got.([]*consul.ACLPolicyListEntry)
				require.Len(t, l, 1)
				assert.Equal(t, "app-read", l[0].Name)
				assert.Equal(t, uint64(5), l[0].ModifyIndex)
			},
		},
		{
			name: "ListTemplatedPolicies",
			reply: `{"builtin/service":{"TemplateName":"builtin/service","Schema":"{}","Template":"service \"{{.Name}}\" {}","Description":"svc"},
				"builtin/dns":{"TemplateName":"builtin/dns","Schema":"","Template":"node_prefix \"\" {}","Description":"dns"}}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListTemplatedPolicies(ctx)
				return l, err
			},
			method: "GET", path: "/v1/acl/templated-policies",
			check: func(t *testing.T, got any) {
				l := got.(map[string]*consul.ACLTemplatedPolicyTemplate)
				require.Len(t, l, 2)
				assert.Equal(t, "svc", l["builtin/service"].Description)
			},
		},
		{
			name:  "GetTemplatedPolicy",
			reply: `{"TemplateName":"builtin/service","Schema":"{}","Template":"service \"{{.Name}}\" {}","Description":"svc"}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				p, _, err := c.ACL.GetTemplatedPolicy(ctx, "builtin/service")
				return p, err
			},
			method: "GET", path: "/v1/acl/templated-policy/name/builtin/service",
			check: func(t *testing.T, got any) {
				assert.Equal(t, `service "{{.Name}}" {}`, got.(*consul.ACLTemplatedPolicyTemplate).Template)
			},
		},
		{
			name: "GetTemplatedPolicyMissing", status: 400, reply: "Invalid templated policy Name: builtin/nope",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				p, meta, err := c.ACL.GetTemplatedPolicy(ctx, "builtin/nope")
				if err == nil && (p != nil || meta == nil) {
					err = errors.New("want nil template and a meta")
				}
				return nil, err
			},
			method: "GET", path: "/v1/acl/templated-policy/name/builtin/nope",
		},
		{
			name: "PreviewTemplatedPolicy", reply: aclTestPolicyJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.PreviewTemplatedPolicy(ctx, "builtin/service", &consul.ACLTemplatedPolicyVariables{Name: "web"})
			},
			method: "POST", path: "/v1/acl/templated-policy/preview/builtin/service", body: `{"name":"web"}`,
			check: aclCheckTestPolicy,
		},
	})
}

func TestACLWireRoles(t *testing.T) {
	aclRunWire(t, []aclWireCase{
		{
			name: "CreateRole", reply: aclTestRoleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CreateRole(ctx, &consul.ACLRole{Name: "ops", Policies: []consul.ACLLink{{ID: "pol-1"}}, ServiceIdentities: []consul.ACLServiceIdentity{{ServiceName: "web"}}})
			},
			method: "PUT", path: "/v1/acl/role",
			body:  `{"Name":"ops","Policies":[{"ID":"pol-1"}],"ServiceIdentities":[{"ServiceName":"web"}]}`,
			check: aclCheckTestRole,
		},
		{
			name: "UpdateRole", reply: aclTestRoleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.UpdateRole(ctx, &consul.ACLRole{ID: "role-1", Name: "ops", Description: "d"})
			},
			method: "PUT", path: "/v1/acl/role/role-1", body: `{"ID":"role-1","Name":"ops","Description":"d"}`,
			check: aclCheckTestRole,
		},
		{
			name: "GetRole", reply: aclTestRoleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, _, err := c.ACL.GetRole(ctx, "role-1")
				return r, err
			},
			method: "GET", path: "/v1/acl/role/role-1", check: aclCheckTestRole,
		},
		{
			name: "GetRoleByName", reply: aclTestRoleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, _, err := c.ACL.GetRoleByName(ctx, "ops")
				return r, err
			},
			method: "GET", path: "/v1/acl/role/name/ops", check: aclCheckTestRole,
		},
		{
			name: "GetRoleByNameMissing", status: 404, reply: "Requested role does not exist: ACL not found",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, meta, err := c.ACL.GetRoleByName(ctx, "ops")
				if err == nil && (r != nil || meta == nil) {
					err = errors.New("want nil role and a meta")
				}
				return nil, err
			},
			method: "GET", path: "/v1/acl/role/name/ops",
		},
		{
			name: "DeleteRole", reply: "true",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.ACL.DeleteRole(ctx, "role-1")
			},
			method: "DELETE", path: "/v1/acl/role/role-1",
		},
		{
			name: "ListRoles", reply: `[` + aclTestRoleJSON + `]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListRoles(ctx, &consul.ACLRoleFilter{Policy: "pol-1"})
				return l, err
			},
			method: "GET", path: "/v1/acl/roles", query: q("policy", "pol-1"),
			check: func(t *testing.T, got any) { aclCheckTestRole(t, got.([]*consul.ACLRole)[0]) },
		},
	})
}

func TestACLWireAuthMethods(t *testing.T) {
	aclRunWire(t, []aclWireCase{
		{
			name: "CreateAuthMethod", reply: aclTestMethodJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CreateAuthMethod(ctx, &consul.ACLAuthMethod{Name: "jwt", Type: "jwt", MaxTokenTTL: 5 * time.Minute,
					TokenLocality: "global", Config: map[string]any{"BoundIssuer": "test"}})
			},
			method: "PUT", path: "/v1/acl/auth-method",
			body:  `{"Name":"jwt","Type":"jwt","MaxTokenTTL":"5m0s","TokenLocality":"global","Config":{"BoundIssuer":"test"}}`,
			check: aclCheckTestMethod,
		},
		{
			name: "UpdateAuthMethod", reply: aclTestMethodJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.UpdateAuthMethod(ctx, &consul.ACLAuthMethod{Name: "my jwt", Type: "jwt", Description: "d"})
			},
			method: "PUT", path: "/v1/acl/auth-method/my%20jwt", body: `{"Name":"my jwt","Type":"jwt","Description":"d"}`,
			check: aclCheckTestMethod,
		},
		{
			name: "GetAuthMethod", reply: aclTestMethodJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				m, _, err := c.ACL.GetAuthMethod(ctx, "jwt")
				return m, err
			},
			method: "GET", path: "/v1/acl/auth-method/jwt", check: aclCheckTestMethod,
		},
		{
			name: "DeleteAuthMethod", reply: "true",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.ACL.DeleteAuthMethod(ctx, "jwt")
			},
			method: "DELETE", path: "/v1/acl/auth-method/jwt",
		},
		{
			name:  "ListAuthMethods",
			reply: `[{"Name":"jwt","Type":"jwt","MaxTokenTTL":300000000000,"CreateIndex":9,"ModifyIndex":9}]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListAuthMethods(ctx)
				return l, err
			},
			method: "GET", path: "/v1/acl/auth-methods",
			check: func(t *testing.T, got any) {
				l := got.([]*consul.ACLAuthMethodListEntry)
				require.Len(t, l, 1)
				assert.Equal(t, 5*time.Minute, l[0].MaxTokenTTL)
				assert.Equal(t, "jwt", l[0].Type)
			},
		},
		{
			name: "CreateBindingRule", reply: aclTestRuleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.CreateBindingRule(ctx, &consul.ACLBindingRule{AuthMethod: "jwt", Selector: `value.role == "web"`, BindType: consul.ACLBindService, BindName: "${value.service}"})
			},
			method: "PUT", path: "/v1/acl/binding-rule",
			body:  `{"AuthMethod":"jwt","Selector":"value.role == \"web\"","BindType":"service","BindName":"${value.service}"}`,
			check: aclCheckTestRule,
		},
		{
			name: "UpdateBindingRule", reply: aclTestRuleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.ACL.UpdateBindingRule(ctx, &consul.ACLBindingRule{ID: "rule-1", AuthMethod: "jwt", BindType: consul.ACLBindTemplatedPolicy,
					BindName: "builtin/service", BindVars: &consul.ACLTemplatedPolicyVariables{Name: "${value.service}"}})
			},
			method: "PUT", path: "/v1/acl/binding-rule/rule-1",
			body:  `{"ID":"rule-1","AuthMethod":"jwt","BindType":"templated-policy","BindName":"builtin/service","BindVars":{"name":"${value.service}"}}`,
			check: aclCheckTestRule,
		},
		{
			name: "GetBindingRule", reply: aclTestRuleJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, _, err := c.ACL.GetBindingRule(ctx, "rule-1")
				return r, err
			},
			method: "GET", path: "/v1/acl/binding-rule/rule-1", check: aclCheckTestRule,
		},
		{
			name: "GetBindingRuleMissing", status: 404, reply: "Requested binding rule does not exist: ACL not found",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, meta, err := c.ACL.GetBindingRule(ctx, "rule-1")
				if err == nil && (r != nil || meta == nil) {
					err = errors.New("want nil rule and a meta")
				}
				return nil, err
			},
			method: "GET", path: "/v1/acl/binding-rule/rule-1",
		},
		{
			name: "DeleteBindingRule", reply: "true",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.ACL.DeleteBindingRule(ctx, "rule-1")
			},
			method: "DELETE", path: "/v1/acl/binding-rule/rule-1",
		},
		{
			name: "ListBindingRules", reply: `[` + aclTestRuleJSON + `]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.ACL.ListBindingRules(ctx, "jwt")
				return l, err
			},
			method: "GET", path: "/v1/acl/binding-rules", query: q("authmethod", "jwt"),
			check: func(t *testing.T, got any) { aclCheckTestRule(t, got.([]*consul.ACLBindingRule)[0]) },
		},
	})
}

// TestACLWireErrors checks the errors that are not the 404 rule: a denied
// caller, a missing object on delete, and that secrets stay out of errors.
func TestACLWireErrors(t *testing.T) {
	ctx := testCtx(t)

	// A 403 for the caller's own unknown token is an error, not "missing".
	w, c := newWire(t, reply{Status: 403, Body: "ACL not found"})
	tok, _, err := c.ACL.GetToken(ctx, "acc-1")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.Nil(t, tok)
	w.only(t)

	_, c = newWire(t, reply{Status: 404, Body: "Cannot find token to delete"})
	require.ErrorIs(t, c.ACL.DeleteToken(ctx, "acc-1"), consul.ErrNotFound)

	// A secret echoed back by Consul is scrubbed from the error.
	const secret = "0b0e3bd7-5c6d-4d2e-9b1c-4e0e5a6c7d8f"
	_, c = newWire(t, reply{Status: 400, Body: "Invalid Token: SecretID " + secret + " is already in use"})
	_, err = c.ACL.CreateToken(ctx, &consul.ACLToken{SecretID: secret})
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret)
	require.Contains(t, err.Error(), "already in use")

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied: bootstrap " + secret})
	_, err = c.ACL.Bootstrap(ctx, secret)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.NotContains(t, err.Error(), secret)

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied: bad token eyJ.secret.sig"})
	_, err = c.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: "jwt", BearerToken: "eyJ.secret.sig"})
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.NotContains(t, err.Error(), "eyJ.secret.sig")

	_, c = newWire(t, reply{Status: 401, Body: "Supplied token does not exist"})
	require.Error(t, c.ACL.Logout(ctx))
}

// TestACLWireBadInput checks that bad input is refused before sending.
func TestACLWireBadInput(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t)
	a := c.ACL
	var ae *consul.ArgumentError
	for name, err := range map[string]error{
		"token":                 func() error { _, err := a.CreateToken(ctx, nil); return err }(),
		"token.ExpirationTTL":   func() error { _, err := a.CreateToken(ctx, &consul.ACLToken{ExpirationTTL: -time.Second}); return err }(),
		"token.AccessorID":      func() error { _, err := a.UpdateToken(ctx, &consul.ACLToken{}); return err }(),
		"accessorID":            func() error { _, _, err := a.GetToken(ctx, ""); return err }(),
		"accessorID clone":      func() error { _, err := a.CloneToken(ctx, "", "x"); return err }(),
		"accessorID delete":     a.DeleteToken(ctx, ""),
		"params":                func() error { _, err := a.Login(ctx, nil); return err }(),
		"params.AuthMethod":     func() error { _, err := a.Login(ctx, &consul.ACLLoginParams{BearerToken: "x"}); return err }(),
		"params.BearerToken":    func() error { _, err := a.Login(ctx, &consul.ACLLoginParams{AuthMethod: "x"}); return err }(),
		"policy":                func() error { _, err := a.CreatePolicy(ctx, nil); return err }(),
		"policy.Name":           func() error { _, err := a.CreatePolicy(ctx, &consul.ACLPolicy{Rules: "x"}); return err }(),
		"policy.ID":             func() error { _, err := a.CreatePolicy(ctx, &consul.ACLPolicy{ID: "x", Name: "x"}); return err }(),
		"policy.ID update":      func() error { _, err := a.UpdatePolicy(ctx, &consul.ACLPolicy{Name: "x"}); return err }(),
		"id policy read":        func() error { _, _, err := a.GetPolicy(ctx, ""); return err }(),
		"name policy read":      func() error { _, _, err := a.GetPolicyByName(ctx, ""); return err }(),
		"id policy delete":      a.DeletePolicy(ctx, ""),
		"name template read":    func() error { _, _, err := a.GetTemplatedPolicy(ctx, ""); return err }(),
		"name template preview": func() error { _, err := a.PreviewTemplatedPolicy(ctx, "", nil); return err }(),
		"role":                  func() error { _, err := a.CreateRole(ctx, nil); return err }(),
		"role.Name":             func() error { _, err := a.CreateRole(ctx, &consul.ACLRole{}); return err }(),
		"role.ID":               func() error { _, err := a.CreateRole(ctx, &consul.ACLRole{ID: "x", Name: "x"}); return err }(),
		"role.ID update":        func() error { _, err := a.UpdateRole(ctx, &consul.ACLRole{Name: "x"}); return err }(),
		"id role read":          func() error { _, _, err := a.GetRole(ctx, ""); return err }(),
		"name role read":        func() error { _, _, err := a.GetRoleByName(ctx, ""); return err }(),
		"id role delete":        a.DeleteRole(ctx, ""),
		"method":                func() error { _, err := a.CreateAuthMethod(ctx, nil); return err }(),
		"method.Name":           func() error { _, err := a.CreateAuthMethod(ctx, &consul.ACLAuthMethod{Type: "jwt"}); return err }(),
		"method.Type":           func() error { _, err := a.UpdateAuthMethod(ctx, &consul.ACLAuthMethod{Name: "x"}); return err }(),
		"method.MaxTokenTTL": func() error {
			_, err := a.CreateAuthMethod(ctx, &consul.ACLAuthMethod{Name: "x", Type: "jwt", MaxTokenTTL: -1})
			return err
		}(),
		"name method read":   func() error { _, _, err := a.GetAuthMethod(ctx, ""); return err }(),
		"name method delete": a.DeleteAuthMethod(ctx, ""),
		"rule":               func() error { _, err := a.CreateBindingRule(ctx, nil); return err }(),
		"rule.AuthMethod": func() error {
			_, err := a.CreateBindingRule(ctx, &consul.ACLBindingRule{BindType: "service", BindName: "x"})
			return err
		}(),
		"rule.BindType": func() error {
			_, err := a.CreateBindingRule(ctx, &consul.ACLBindingRule{AuthMethod: "x", BindName: "x"})
			return err
		}(),
		"rule.BindName": func() error {
			_, err := a.CreateBindingRule(ctx, &consul.ACLBindingRule{AuthMethod: "x", BindType: "service"})
			return err
		}(),
		"rule.ID": func() error {
			_, err := a.CreateBindingRule(ctx, &consul.ACLBindingRule{ID: "x", AuthMethod: "x", BindType: "service", BindName: "x"})
			return err
		}(),
		"rule.ID update": func() error {
			_, err := a.UpdateBindingRule(ctx, &consul.ACLBindingRule{AuthMethod: "x", BindType: "service", BindName: "x"})
			return err
		}(),
		"id rule read":   func() error { _, _, err := a.GetBindingRule(ctx, ""); return err }(),
		"id rule delete": a.DeleteBindingRule(ctx, ""),
	} {
		require.ErrorAs(t, err, &ae, name)
	}
	w.noRequest(t)

	// A refused SecretID does not leak into the argument error either.
	_, err := a.CreateToken(ctx, &consul.ACLToken{SecretID: "very-secret", ExpirationTTL: -1})
	require.NotContains(t, err.Error(), "very-secret")
	w.noRequest(t)
}

func TestACLTokenJSONRoundTrip(t *testing.T) {
	// ExpirationTTL is read in both of Consul's forms.
	var tok consul.ACLToken
	require.NoError(t, tok.UnmarshalJSON([]byte(`{"AccessorID":"a","ExpirationTTL":3600000000000}`)))
	require.Equal(t, time.Hour, tok.ExpirationTTL)
	require.NoError(t, tok.UnmarshalJSON([]byte(`{"AccessorID":"a","ExpirationTTL":"90s"}`)))
	require.Equal(t, 90*time.Second, tok.ExpirationTTL)
	b, err := tok.MarshalJSON()
	require.NoError(t, err)
	require.JSONEq(t, `{"AccessorID":"a","ExpirationTTL":"1m30s","Local":false}`, string(b))
}

// aclStatus returns the status code of err's *StatusError, or 0.
func aclStatus(err error) int {
	var se *consul.StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}
