package consul_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pathSent is one request as it reached the server.
type pathSent struct {
	method string
	target string // the request target exactly as sent (RequestURI), query cut off
	path   string // the path as the server decoded it, what Consul routes on
}

// pathWire is a server that records the exact request target of every
// request and answers 404, so that reads end at once and nothing retries.
type pathWire struct {
	mu   sync.Mutex
	reqs []pathSent
	srv  *httptest.Server
}

func newPathWire(t *testing.T) (*pathWire, *consul.Client) {
	t.Helper()
	w := &pathWire{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		target, _, _ := strings.Cut(r.RequestURI, "?")
		w.mu.Lock()
		w.reqs = append(w.reqs, pathSent{method: r.Method, target: target, path: r.URL.Path})
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(rw, "not found")
	}))
	t.Cleanup(w.srv.Close)
	c, err := consul.NewClient(consul.Config{Address: w.srv.URL})
	require.NoError(t, err)
	return w, c
}

// take returns the requests recorded since the last take.
func (w *pathWire) take() []pathSent {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.reqs
	w.reqs = nil
	return r
}

// pathCase is one path parameter value and what must happen to it: refused
// before sending (esc == "") or sent as exactly esc.
type pathCase struct {
	v, esc string
}

// pathSegmentCases are hostile values for a parameter that is one path
// segment. The escaped forms are written out by hand, not computed.
var pathSegmentCases = []pathCase{
	// Refused: what would change the route.
	{"", ""},
	{".", ""},
	{"..", ""},
	{"../x", ""},
	{"x/..", ""},
	{"../../token/self", ""},
	{"a/b", ""},
	{"/", ""},
	{"/a", ""},
	{"a/", ""},
	{"a//b", ""},
	{"x/clone", ""},
	// Refused: escapes that one more unescaping (a proxy) turns into the above.
	{"%2e%2e", ""},
	{"%2E%2E", ""},
	{".%2e", ""},
	{"%2e.", ""},
	{"%2e", ""},
	{"a%2fb", ""},
	{"a%2Fb", ""},
	{"%2f", ""},
	{"x%2Fclone", ""},
	{"a%00b", ""},
	{"a%0ab", ""},
	{"%7f", ""},
	// Refused: ASCII control characters.
	{"a\x00b", ""},
	{"\x00", ""},
	{"a\nb", ""},
	{"a\rb", ""},
	{"a\tb", ""},
	{"\x7f", ""},
	{"\x1b[31m", ""},
	{"a\r\nX-Injected: 1", ""},
	// Sent, escaped so that they stay in their segment.
	{"a?b", "a%3Fb"},
	{"?", "%3F"},
	{"a#b", "a%23b"},
	{"#", "%23"},
	{" ", "%20"},
	{"a b", "a%20b"},
	{"a%b", "a%25b"},
	{"%", "%25"},
	{"%zz", "%25zz"},
	{"a%20b", "a%2520b"},
	{"%252e%252e", "%25252e%25252e"},
	{"a%2ex", "a%252ex"},
	{"a+b", "a+b"},
	{"a\\b", "a%5Cb"},
	{"..\\..", "..%5C.."},
	{"...", "..."},
	{".a", ".a"},
	{"a.", "a."},
	{"a;b", "a%3Bb"},
	{"a,b", "a%2Cb"},
	{"a&b=c", "a&b=c"},
	{"a@b:c", "a@b:c"},
	{"[::1]:8301", "%5B::1%5D:8301"},
	{"~a_b-c.d", "~a_b-c.d"},
	{"a\"b'c", "a%22b%27c"},
	{"a<b>", "a%3Cb%3E"},
	{"日本", "%E6%97%A5%E6%9C%AC"},
	{"é", "%C3%A9"},
	// Refused: runes Consul's HTTP server refuses in a path (400), and
	// bytes that are not UTF-8 (see adversarial_inputs_test.go).
	{"\u2028", ""},
	{"\u0085", ""},
	{"\xff", ""},
}

// pathMultiCases are the values of a parameter of several segments (a
// templated policy name) that hold a '/': each segment follows the rules
// of one segment.
var pathMultiCases = []pathCase{
	{"builtin/service", "builtin/service"},
	{"a/b", "a/b"},
	{"a b/c?d#e", "a%20b/c%3Fd%23e"},
	{"a/b/c", "a/b/c"},
	{"../x", ""},
	{"x/..", ""},
	{"a/./b", ""},
	{"../../token/self", ""},
	{"../../../kv/adv/secret", ""},
	{"builtin/..", ""},
	{"/", ""},
	{"/a", ""},
	{"a/", ""},
	{"a//b", ""},
	{"a/%2e%2e", ""},
	{"a/b%2fc", ""},
	{"a/b\x00", ""},
	{"a/\n", ""},
}

// pathRoute is one method with a path parameter. want is the expected path
// with {} where the escaped value goes.
type pathRoute struct {
	name   string
	method string
	want   string
	arg    string // the ArgumentError's Arg
	multi  bool   // the value may hold several segments
	fixed  bool   // only a fixed set of values is accepted: every case is refused
	call   func(ctx context.Context, c *consul.Client, v string) error
}

func pathRoutes() []pathRoute {
	var noVars *consul.ACLTemplatedPolicyVariables
	ixn := func(id string) *consul.Intention {
		return &consul.Intention{ID: id, SourceName: "web", DestinationName: "db", Action: consul.IntentionAllow}
	}
	query := func(id string) *consul.PreparedQuery {
		q := &consul.PreparedQuery{ID: id}
		q.Service.Service = "web"
		return q
	}
	return []pathRoute{
		// ACL tokens.
		{"ACL.UpdateToken", "PUT", "/v1/acl/token/{}", "token.AccessorID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.UpdateToken(ctx, &consul.ACLToken{AccessorID: v})
			return err
		}},
		{"ACL.GetToken", "GET", "/v1/acl/token/{}", "accessorID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetToken(ctx, v)
			return err
		}},
		{"ACL.CloneToken", "PUT", "/v1/acl/token/{}/clone", "accessorID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.CloneToken(ctx, v, "copy")
			return err
		}},
		{"ACL.DeleteToken", "DELETE", "/v1/acl/token/{}", "accessorID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ACL.DeleteToken(ctx, v)
		}},
		// ACL policies and templated policies.
		{"ACL.UpdatePolicy", "PUT", "/v1/acl/policy/{}", "policy.ID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.UpdatePolicy(ctx, &consul.ACLPolicy{ID: v, Name: "p"})
			return err
		}},
		{"ACL.GetPolicy", "GET", "/v1/acl/policy/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetPolicy(ctx, v)
			return err
		}},
		{"ACL.GetPolicyByName", "GET", "/v1/acl/policy/name/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetPolicyByName(ctx, v)
			return err
		}},
		{"ACL.DeletePolicy", "DELETE", "/v1/acl/policy/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ACL.DeletePolicy(ctx, v)
		}},
		{"ACL.GetTemplatedPolicy", "GET", "/v1/acl/templated-policy/name/{}", "name", true, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetTemplatedPolicy(ctx, v)
			return err
		}},
		{"ACL.PreviewTemplatedPolicy", "POST", "/v1/acl/templated-policy/preview/{}", "name", true, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.PreviewTemplatedPolicy(ctx, v, noVars)
			return err
		}},
		// ACL roles.
		{"ACL.UpdateRole", "PUT", "/v1/acl/role/{}", "role.ID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.UpdateRole(ctx, &consul.ACLRole{ID: v, Name: "r"})
			return err
		}},
		{"ACL.GetRole", "GET", "/v1/acl/role/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetRole(ctx, v)
			return err
		}},
		{"ACL.GetRoleByName", "GET", "/v1/acl/role/name/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetRoleByName(ctx, v)
			return err
		}},
		{"ACL.DeleteRole", "DELETE", "/v1/acl/role/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ACL.DeleteRole(ctx, v)
		}},
		// ACL auth methods and binding rules.
		{"ACL.UpdateAuthMethod", "PUT", "/v1/acl/auth-method/{}", "method.Name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.UpdateAuthMethod(ctx, &consul.ACLAuthMethod{Name: v, Type: "jwt"})
			return err
		}},
		{"ACL.GetAuthMethod", "GET", "/v1/acl/auth-method/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetAuthMethod(ctx, v)
			return err
		}},
		{"ACL.DeleteAuthMethod", "DELETE", "/v1/acl/auth-method/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ACL.DeleteAuthMethod(ctx, v)
		}},
		{"ACL.UpdateBindingRule", "PUT", "/v1/acl/binding-rule/{}", "rule.ID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ACL.UpdateBindingRule(ctx, &consul.ACLBindingRule{ID: v, AuthMethod: "m", BindType: consul.ACLBindService, BindName: "web"})
			return err
		}},
		{"ACL.GetBindingRule", "GET", "/v1/acl/binding-rule/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ACL.GetBindingRule(ctx, v)
			return err
		}},
		{"ACL.DeleteBindingRule", "DELETE", "/v1/acl/binding-rule/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ACL.DeleteBindingRule(ctx, v)
		}},
		// Agent.
		{"Agent.SetToken", "PUT", "/v1/agent/token/{}", "kind", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Agent.SetToken(ctx, consul.AgentTokenKind(v), "secret")
		}},
		{"Agent.LeafCert", "GET", "/v1/agent/connect/ca/leaf/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Agent.LeafCert(ctx, v)
			return err
		}},
		// Catalog.
		{"Catalog.ListServiceInstances", "GET", "/v1/catalog/service/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Catalog.ListServiceInstances(ctx, v)
			return err
		}},
		{"Catalog.ListConnectInstances", "GET", "/v1/catalog/connect/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Catalog.ListConnectInstances(ctx, v)
			return err
		}},
		{"Catalog.GetNode", "GET", "/v1/catalog/node/{}", "node", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Catalog.GetNode(ctx, v)
			return err
		}},
		{"Catalog.GetNodeServices", "GET", "/v1/catalog/node-services/{}", "node", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Catalog.GetNodeServices(ctx, v)
			return err
		}},
		{"Catalog.ListGatewayServices", "GET", "/v1/catalog/gateway-services/{}", "gateway", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Catalog.ListGatewayServices(ctx, v)
			return err
		}},
		// Checks.
		{"Checks.Deregister", "PUT", "/v1/agent/check/deregister/{}", "checkID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Checks.Deregister(ctx, v)
		}},
		{"Checks.Pass", "PUT", "/v1/agent/check/pass/{}", "checkID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Checks.Pass(ctx, v, "ok")
		}},
		{"Checks.Warn", "PUT", "/v1/agent/check/warn/{}", "checkID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Checks.Warn(ctx, v, "")
		}},
		{"Checks.Fail", "PUT", "/v1/agent/check/fail/{}", "checkID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Checks.Fail(ctx, v, "")
		}},
		{"Checks.Update", "PUT", "/v1/agent/check/update/{}", "checkID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Checks.Update(ctx, v, consul.HealthPassing, "ok")
		}},
		// Config entries: the kind and the name are both path segments.
		{"ConfigEntries.Get(kind)", "GET", "/v1/config/{}/web", "kind", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ConfigEntries.Get(ctx, v, "web")
			return err
		}},
		{"ConfigEntries.Get(name)", "GET", "/v1/config/service-defaults/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, v)
			return err
		}},
		{"ConfigEntries.List", "GET", "/v1/config/{}", "kind", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ConfigEntries.List(ctx, v)
			return err
		}},
		{"ConfigEntries.Delete(kind)", "DELETE", "/v1/config/{}/web", "kind", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ConfigEntries.Delete(ctx, v, "web")
		}},
		{"ConfigEntries.Delete(name)", "DELETE", "/v1/config/service-defaults/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.ConfigEntries.Delete(ctx, consul.ConfigKindServiceDefaults, v)
		}},
		{"ConfigEntries.DeleteCAS(name)", "DELETE", "/v1/config/service-defaults/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.ConfigEntries.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, v, 7)
			return err
		}},
		{"ConfigEntries.GetDiscoveryChain", "GET", "/v1/discovery-chain/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.ConfigEntries.GetDiscoveryChain(ctx, v, nil)
			return err
		}},
		// Connect intentions by legacy ID.
		{"Connect.GetIntention", "GET", "/v1/connect/intentions/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Connect.GetIntention(ctx, v)
			return err
		}},
		{"Connect.UpdateIntention", "PUT", "/v1/connect/intentions/{}", "Intention.ID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Connect.UpdateIntention(ctx, ixn(v))
		}},
		{"Connect.DeleteIntention", "DELETE", "/v1/connect/intentions/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Connect.DeleteIntention(ctx, v)
		}},
		// Coordinates, events.
		{"Coordinate.GetNode", "GET", "/v1/coordinate/node/{}", "node", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Coordinate.GetNode(ctx, v)
			return err
		}},
		{"Event.Fire", "PUT", "/v1/event/fire/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.Event.Fire(ctx, v, []byte("payload"))
			return err
		}},
		// Health.
		{"Health.ListNodeChecks", "GET", "/v1/health/node/{}", "node", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Health.ListNodeChecks(ctx, v)
			return err
		}},
		{"Health.ListServiceChecks", "GET", "/v1/health/checks/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Health.ListServiceChecks(ctx, v)
			return err
		}},
		{"Health.ListChecksInState", "GET", "/v1/health/state/{}", "state", false, true, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Health.ListChecksInState(ctx, consul.HealthStatus(v))
			return err
		}},
		{"Health.ListServiceInstances", "GET", "/v1/health/service/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Health.ListServiceInstances(ctx, v)
			return err
		}},
		{"Health.ListConnectInstances", "GET", "/v1/health/connect/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Health.ListConnectInstances(ctx, v)
			return err
		}},
		{"Health.ListIngressInstances", "GET", "/v1/health/ingress/{}", "service", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Health.ListIngressInstances(ctx, v)
			return err
		}},
		// Members.
		{"Members.Join", "PUT", "/v1/agent/join/{}", "address", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Members.Join(ctx, v)
		}},
		{"Members.ForceLeave", "PUT", "/v1/agent/force-leave/{}", "node", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Members.ForceLeave(ctx, v)
		}},
		// Peerings.
		{"Peering.Get", "GET", "/v1/peering/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Peering.Get(ctx, v)
			return err
		}},
		{"Peering.Delete", "DELETE", "/v1/peering/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Peering.Delete(ctx, v)
		}},
		// Prepared queries.
		{"Query.Update", "PUT", "/v1/query/{}", "query.ID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Query.Update(ctx, query(v))
		}},
		{"Query.Get", "GET", "/v1/query/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Query.Get(ctx, v)
			return err
		}},
		{"Query.Delete", "DELETE", "/v1/query/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Query.Delete(ctx, v)
		}},
		{"Query.Execute", "GET", "/v1/query/{}/execute", "idOrName", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Query.Execute(ctx, v, nil)
			return err
		}},
		{"Query.Explain", "GET", "/v1/query/{}/explain", "idOrName", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Query.Explain(ctx, v)
			return err
		}},
		// Local services.
		{"Services.Get", "GET", "/v1/agent/service/{}", "serviceID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Services.Get(ctx, v)
			return err
		}},
		{"Services.Deregister", "PUT", "/v1/agent/service/deregister/{}", "serviceID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Services.Deregister(ctx, v)
		}},
		{"Services.EnableMaintenance", "PUT", "/v1/agent/service/maintenance/{}", "serviceID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Services.EnableMaintenance(ctx, v, "why")
		}},
		{"Services.DisableMaintenance", "PUT", "/v1/agent/service/maintenance/{}", "serviceID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Services.DisableMaintenance(ctx, v)
		}},
		{"Services.GetHealthByID", "GET", "/v1/agent/health/service/id/{}", "serviceID", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Services.GetHealthByID(ctx, v)
			return err
		}},
		{"Services.GetHealthByName", "GET", "/v1/agent/health/service/name/{}", "name", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, _, err := c.Services.GetHealthByName(ctx, v)
			return err
		}},
		// Sessions.
		{"Session.Destroy", "PUT", "/v1/session/destroy/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			return c.Session.Destroy(ctx, v)
		}},
		{"Session.Renew", "PUT", "/v1/session/renew/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, err := c.Session.Renew(ctx, v)
			return err
		}},
		{"Session.Get", "GET", "/v1/session/info/{}", "id", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Session.Get(ctx, v)
			return err
		}},
		{"Session.ListByNode", "GET", "/v1/session/node/{}", "node", false, false, func(ctx context.Context, c *consul.Client, v string) error {
			_, _, err := c.Session.ListByNode(ctx, v)
			return err
		}},
	}
}

// pathCheck runs call with v and asserts the outcome of tc: an
// *ArgumentError naming arg with nothing sent, or exactly one request whose
// target is want with {} replaced by tc.esc.
func pathCheck(t *testing.T, w *pathWire, c *consul.Client, name, method, want, arg string,
	call func(ctx context.Context, c *consul.Client, v string) error, tc pathCase) {
	t.Helper()
	err := call(testCtx(t), c, tc.v)
	sent := w.take()
	var ae *consul.ArgumentError
	if tc.esc == "" {
		if assert.Truef(t, errors.As(err, &ae), "%s(%q): want an *ArgumentError, got %v", name, tc.v, err) {
			assert.Equalf(t, arg, ae.Arg, "%s(%q): the argument named", name, tc.v)
		}
		assert.Emptyf(t, sent, "%s(%q): nothing may be sent", name, tc.v)
		return
	}
	assert.Falsef(t, errors.As(err, &ae), "%s(%q): refused: %v", name, tc.v, err)
	if assert.Lenf(t, sent, 1, "%s(%q): want one request", name, tc.v) {
		assert.Equalf(t, method, sent[0].method, "%s(%q): method", name, tc.v)
		assert.Equalf(t, strings.Replace(want, "{}", tc.esc, 1), sent[0].target, "%s(%q): request target", name, tc.v)
		// What the server routes on is the value itself, in its segment.
		assert.Equalf(t, strings.Replace(want, "{}", tc.v, 1), sent[0].path, "%s(%q): decoded path", name, tc.v)
	}
}

// TestPathParamsHostile calls every method that puts a parameter in the
// path with every hostile value: each is refused with an *ArgumentError
// before anything is sent, or reaches the server as exactly one escaped
// segment of the method's own route.
func TestPathParamsHostile(t *testing.T) {
	w, c := newPathWire(t)
	var tried, refused atomic.Int64
	for _, r := range pathRoutes() {
		cases := make([]pathCase, 0, len(pathSegmentCases)+len(pathMultiCases))
		for _, tc := range pathSegmentCases {
			if r.multi && strings.Contains(tc.v, "/") {
				continue // pathMultiCases covers those
			}
			cases = append(cases, tc)
		}
		if r.multi {
			cases = append(cases, pathMultiCases...)
		}
		for _, tc := range cases {
			if r.fixed {
				tc.esc = ""
			}
			pathCheck(t, w, c, r.name, r.method, r.want, r.arg, r.call, tc)
			tried.Add(1)
			if tc.esc == "" {
				refused.Add(1)
			}
		}
	}
	t.Logf("%d routes, %d hostile calls, %d refused before sending", len(pathRoutes()), tried.Load(), refused.Load())
}

// TestPathParamsAccepted checks that ordinary values of every route are
// sent as they are, so that the hostile table does not pass by refusing
// everything.
func TestPathParamsAccepted(t *testing.T) {
	w, c := newPathWire(t)
	for _, r := range pathRoutes() {
		v := "web-1.a_b~c"
		switch {
		case r.fixed:
			v = string(consul.HealthCritical)
		case r.multi:
			v = "builtin/service"
		}
		pathCheck(t, w, c, r.name, r.method, r.want, r.arg, r.call, pathCase{v, v})
	}
}

// kvPathCases are hostile KV keys. A key is a whole path: '/' separates
// segments, and a trailing '/' is part of the key. Escapes are not
// unescaped: '%' is sent as %25 and the key stays what it says.
var kvPathCases = []pathCase{
	{".", ""},
	{"..", ""},
	{"../x", ""},
	{"x/..", ""},
	{"a/./b", ""},
	{"a/../b", ""},
	{"../acl/token/self", ""},
	{"/a", ""},
	{"/", ""},
	{"a//b", ""},
	{"a\x00b", ""},
	{"a\nb", ""},
	{"a\rb", ""},
	{"a\tb", ""},
	{"\x7f", ""},
	{"a/\x1b[31m", ""},
	{"a\r\nX-Injected: 1", ""},
	{"a/b", "a/b"},
	{"a/", "a/"},
	{"a/b/", "a/b/"},
	// Escapes that Consul 1.22 refuses once unescaped, or that an
	// unescaping proxy would turn into another route: refused.
	{"%2e%2e", ""},
	{"a/%2e%2e/b", ""},
	{"%2E", ""},
	{"%2F", ""},
	{"a%00b", ""},
	{"a%2fb", "a%252fb"},
	{"a?b", "a%3Fb"},
	{"a?recurse", "a%3Frecurse"},
	{"a#b", "a%23b"},
	{" ", ""}, // Consul 1.22 refuses a leading or trailing space
	{"a b/c d", "a%20b/c%20d"},
	{"a%b", "a%25b"},
	{"a+b", "a+b"},
	{"a\\b", "a%5Cb"},
	{"...", "..."},
	{".a/b.", ".a/b."},
	{"a;b,c", "a%3Bb%2Cc"},
	{"a@b:c=d&e", "a@b:c=d&e"},
	{"日本/語", "%E6%97%A5%E6%9C%AC/%E8%AA%9E"},
	{"\xff", ""},
}

// TestKVPathHostile calls every KV method with hostile keys: refused before
// sending, or sent as exactly the escaped key under /v1/kv/.
func TestKVPathHostile(t *testing.T) {
	w, c := newPathWire(t)
	v := []byte("v")
	for _, r := range []struct {
		name, method, arg string
		emptyOK           bool
		call              func(ctx context.Context, c *consul.Client, k string) error
	}{
		{"KV.Get", "GET", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			_, _, err := c.KV.Get(ctx, k)
			return err
		}},
		{"KV.GetRaw", "GET", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			_, _, err := c.KV.GetRaw(ctx, k)
			return err
		}},
		{"KV.List", "GET", "prefix", true, func(ctx context.Context, c *consul.Client, k string) error {
			_, _, err := c.KV.List(ctx, k)
			return err
		}},
		{"KV.ListKeys", "GET", "prefix", true, func(ctx context.Context, c *consul.Client, k string) error {
			_, _, err := c.KV.ListKeys(ctx, k)
			return err
		}},
		{"KV.Put", "PUT", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			return c.KV.Put(ctx, k, v)
		}},
		{"KV.PutCAS", "PUT", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			_, err := c.KV.PutCAS(ctx, k, v, 3)
			return err
		}},
		{"KV.Acquire", "PUT", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			_, err := c.KV.Acquire(ctx, k, v, "sess")
			return err
		}},
		{"KV.Release", "PUT", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			_, err := c.KV.Release(ctx, k, v, "sess")
			return err
		}},
		{"KV.Delete", "DELETE", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			return c.KV.Delete(ctx, k)
		}},
		{"KV.DeleteTree", "DELETE", "prefix", false, func(ctx context.Context, c *consul.Client, k string) error {
			return c.KV.DeleteTree(ctx, k)
		}},
		{"KV.DeleteCAS", "DELETE", "key", false, func(ctx context.Context, c *consul.Client, k string) error {
			_, err := c.KV.DeleteCAS(ctx, k, 3)
			return err
		}},
	} {
		if r.emptyOK {
			// An empty prefix is the whole store: /v1/kv/ and nothing more.
			err := r.call(testCtx(t), c, "")
			var ae *consul.ArgumentError
			require.Falsef(t, errors.As(err, &ae), "%s(\"\"): %v", r.name, err)
			sent := w.take()
			require.Len(t, sent, 1)
			assert.Equal(t, "/v1/kv/", sent[0].target)
		} else {
			pathCheck(t, w, c, r.name, r.method, "/v1/kv/{}", r.arg, r.call, pathCase{"", ""})
		}
		for _, tc := range kvPathCases {
			pathCheck(t, w, c, r.name, r.method, "/v1/kv/{}", r.arg, r.call, tc)
		}
	}

	// Keys in a transaction's body follow the same rules.
	_, _, err := c.Txn.New().Set("a\nb", v).Execute(testCtx(t))
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Empty(t, w.take())
}

// pathRawGet sends what a client without the path rules sent: GET target
// (not cleaned, not escaped further) with token, following redirects as
// net/http does, and returns the status and body.
func pathRawGet(t *testing.T, addr, target, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, "http://"+addr+target, nil)
	require.NoError(t, err)
	req.Header.Set("X-Consul-Token", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestPathExploitsRefused replays, against a real agent with ACLs, each
// exploit of a path parameter that changed the route: first the request
// the unchecked client sent, to show what it reached with the caller's
// token, then the same call through the client, which must refuse it
// before sending and leave the agent's state as it was.
func TestPathExploitsRefused(t *testing.T) {
	srv, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	var ae *consul.ArgumentError

	secretKey := aclTestName(t, "adv") + "/secret"
	require.NoError(t, admin.KV.Put(ctx, secretKey, []byte("s3cret-value")))
	t.Cleanup(func() { _ = admin.KV.Delete(testCtx(t), secretKey) })
	self, _, err := admin.ACL.GetSelfToken(ctx)
	require.NoError(t, err)
	mgmt := self.AccessorID

	// 1. A templated policy name that climbs to a KV key.
	name := "../../../kv/" + secretKey
	code, body := pathRawGet(t, srv.HTTPAddr, "/v1/acl/templated-policy/name/"+name, srv.ManagementToken)
	require.Equal(t, http.StatusOK, code, "the unchecked route reaches the KV store: %s", body)
	require.Contains(t, body, "czNjcmV0LXZhbHVl", "base64 of the secret value")
	tpl, _, err := admin.ACL.GetTemplatedPolicy(ctx, name)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "name", ae.Arg)
	assert.Nil(t, tpl)
	_, err = admin.ACL.PreviewTemplatedPolicy(ctx, name, nil)
	require.ErrorAs(t, err, &ae)

	// 2. A templated policy name that reaches the caller's own token.
	code, body = pathRawGet(t, srv.HTTPAddr, "/v1/acl/templated-policy/name/../../token/self", srv.ManagementToken)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, srv.ManagementToken, "the unchecked route returns the caller's secret")
	tpl, _, err = admin.ACL.GetTemplatedPolicy(ctx, "../../token/self")
	require.ErrorAs(t, err, &ae)
	assert.Nil(t, tpl)
	// The name the route is for still works.
	tpl, _, err = admin.ACL.GetTemplatedPolicy(ctx, "builtin/service")
	require.NoError(t, err)
	require.NotNil(t, tpl)

	// 3. An AccessorID that turns an update into a clone of the management
	// token, plain or escaped.
	before, _, err := admin.ACL.ListTokens(ctx, nil)
	require.NoError(t, err)
	for _, id := range []string{mgmt + "/clone", mgmt + "%2Fclone", mgmt + "%2fclone"} {
		tok, err := admin.ACL.UpdateToken(ctx, &consul.ACLToken{AccessorID: id, Description: "stolen"})
		require.ErrorAs(t, err, &ae, "AccessorID %q", id)
		assert.Equal(t, "token.AccessorID", ae.Arg)
		assert.Nil(t, tok)
		_, err = admin.ACL.CloneToken(ctx, id, "stolen")
		require.ErrorAs(t, err, &ae, "CloneToken(%q)", id)
	}
	after, _, err := admin.ACL.ListTokens(ctx, nil)
	require.NoError(t, err)
	require.Len(t, after, len(before), "no token was created")

	// 4. A session ID of ".." reads /v1/session (the unchecked client got
	// the redirect's answer back); Info refuses it.
	sess, _, err := admin.Session.Get(ctx, "..")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "id", ae.Arg)
	assert.Nil(t, sess)

	// 5. DeleteToken(".."), which sent DELETE /v1/acl, is refused, and
	// the tokens are all there.
	require.ErrorAs(t, admin.ACL.DeleteToken(ctx, ".."), &ae)
	require.ErrorAs(t, admin.ACL.DeleteToken(ctx, "%2e%2e"), &ae)
	after, _, err = admin.ACL.ListTokens(ctx, nil)
	require.NoError(t, err)
	require.Len(t, after, len(before))

	// 6. A query ID with "/explain" reached the explain route.
	q := &consul.PreparedQuery{Name: aclTestName(t, "q")}
	q.Service.Service = "web"
	qid, err := admin.Query.Create(ctx, q)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Query.Delete(testCtx(t), qid) })
	code, body = pathRawGet(t, srv.HTTPAddr, "/v1/query/"+qid+"%2Fexplain", srv.ManagementToken)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"Query"`, "the unchecked route is the explain route")
	for _, id := range []string{qid + "/explain", qid + "%2Fexplain", qid + "/execute"} {
		got, _, err := admin.Query.Get(ctx, id)
		require.ErrorAs(t, err, &ae, "Query.Get(%q)", id)
		assert.Nil(t, got)
	}
	got, _, err := admin.Query.Get(ctx, qid)
	require.NoError(t, err)
	require.Equal(t, qid, got.ID)
}

// TestKVPathEscapesStayLiteral proves on a real agent that escapes in KV
// keys are harmless: "%2e%2e" and "%2f" are sent with '%' escaped, Consul
// unescapes them once to the literal key, and no other key is touched.
func TestKVPathEscapesStayLiteral(t *testing.T) {
	// Consul 1.21 alone refuses keys outside [a-zA-Z0-9,_./-?&=] unless its
	// filter of unprintable characters is off: an agent of its own, set so.
	srv := consultest.NewServer(t, consultest.Config{Extra: map[string]any{"disable_http_unprintable_char_filter": true}})
	c := newClient(t, srv)
	ctx := testCtx(t)
	p := uniq(t, "kv")
	t.Cleanup(func() { _ = c.KV.DeleteTree(testCtx(t), p+"/") })

	require.NoError(t, c.KV.Put(ctx, p+"/b", []byte("good")))
	keys := []string{
		p + "/a/%2e%2e/b", // would be p/b if unescaped twice
		p + "/%2e%2e",
		p + "/a%2fb",
		p + "/a?b#c d",
		p + "/x\\y",
		p + "/日本",
	}
	// Each key is stored as it is, or refused before sending as Consul
	// 1.22's own key validation would refuse it (a key whose unescaped
	// form holds ".."): never stored under another key.
	stored := []string{p + "/b"}
	for _, k := range keys {
		err := c.KV.Put(ctx, k, []byte("evil:"+k))
		if err != nil {
			var ae *consul.ArgumentError
			require.ErrorAs(t, err, &ae, "key %q", k)
			require.True(t, strings.Contains(k, "%2e") || strings.Contains(k, "%2f"), "only escaped keys may be refused: %q: %v", k, err)
			continue
		}
		stored = append(stored, k)
		pair, _, err := c.KV.Get(ctx, k)
		require.NoError(t, err)
		require.NotNil(t, pair, "key %q", k)
		assert.Equal(t, k, pair.Key)
		assert.Equal(t, "evil:"+k, string(pair.Value))
	}
	good, _, err := c.KV.Get(ctx, p+"/b")
	require.NoError(t, err)
	require.Equal(t, "good", string(good.Value), "no key reached another")

	listed, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	assert.ElementsMatch(t, stored, listed)

	// Control characters are refused before sending.
	var ae *consul.ArgumentError
	require.ErrorAs(t, c.KV.Put(ctx, p+"/a\nb", nil), &ae)
	_, _, err = c.KV.Get(ctx, p+"/\x00")
	require.ErrorAs(t, err, &ae)
}
