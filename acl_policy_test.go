package consul_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aclTestAdmin returns the shared ACL agent and a client holding its
// management token.
func aclTestAdmin(t *testing.T) (*consultest.Server, *consul.Client) {
	t.Helper()
	srv := testACLAgent(t)
	return srv, newClient(t, srv, consul.Config{Token: srv.ManagementToken})
}

// aclTestName is a unique ACL object name (policy and role names allow
// only letters, digits, '-' and '_').
func aclTestName(t *testing.T, s string) string {
	return strings.ToLower(strings.NewReplacer("/", "-", " ", "-", ".", "-").Replace(uniq(t, s)))
}

// TestACLEnforcement is the ACL system end to end on an agent with default
// deny: a policy reading app/ and denying app/private/, a token holding it,
// its clone, and the token deleted.
func TestACLEnforcement(t *testing.T) {
	srv, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	prefix := aclTestName(t, "app")

	require.NoError(t, admin.KV.Put(ctx, prefix+"/x", []byte("public")))
	require.NoError(t, admin.KV.Put(ctx, prefix+"/private/y", []byte("secret")))

	rules := fmt.Sprintf(`key_prefix %q { policy = "read" }
key_prefix %q { policy = "deny" }`, prefix+"/", prefix+"/private/")
	policy, err := admin.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: aclTestName(t, "read"), Description: "app read", Rules: rules})
	require.NoError(t, err)
	require.NotEmpty(t, policy.ID)
	require.Equal(t, rules, policy.Rules, "rules pass through untouched")
	t.Cleanup(func() { _ = admin.ACL.DeletePolicy(testCtx(t), policy.ID) })

	token, err := admin.ACL.CreateToken(ctx, &consul.ACLToken{Description: "app reader", Policies: []consul.ACLLink{{Name: policy.Name}}})
	require.NoError(t, err)
	require.NotEmpty(t, token.AccessorID)
	require.NotEmpty(t, token.SecretID)
	require.Equal(t, []consul.ACLLink{{ID: policy.ID, Name: policy.Name}}, token.Policies)
	require.False(t, token.CreateTime.IsZero())

	assertAccess := func(t *testing.T, secret string) {
		t.Helper()
		c := newClient(t, srv, consul.Config{Token: secret})
		pair, _, err := c.KV.Get(ctx, prefix+"/x")
		require.NoError(t, err)
		require.NotNil(t, pair)
		require.Equal(t, "public", string(pair.Value))
		_, _, err = c.KV.Get(ctx, prefix+"/private/y")
		require.ErrorIs(t, err, consul.ErrPermissionDenied)
		err = c.KV.Put(ctx, prefix+"/x", []byte("overwritten"))
		require.ErrorIs(t, err, consul.ErrPermissionDenied)
		require.NotContains(t, err.Error(), secret)
	}
	t.Run("token", func(t *testing.T) { assertAccess(t, token.SecretID) })

	clone, err := admin.ACL.CloneToken(ctx, token.AccessorID, "clone of app reader")
	require.NoError(t, err)
	require.NotEqual(t, token.AccessorID, clone.AccessorID)
	require.NotEqual(t, token.SecretID, clone.SecretID)
	require.Equal(t, "clone of app reader", clone.Description)
	require.Equal(t, token.Policies, clone.Policies)
	t.Run("clone", func(t *testing.T) { assertAccess(t, clone.SecretID) })

	require.NoError(t, admin.ACL.DeleteToken(ctx, token.AccessorID))
	gone := newClient(t, srv, consul.Config{Token: token.SecretID})
	_, _, err = gone.KV.Get(ctx, prefix+"/x")
	require.ErrorIs(t, err, consul.ErrPermissionDenied, "a deleted token reads nothing")
	require.NotContains(t, err.Error(), token.SecretID)
	got, _, err := admin.ACL.GetToken(ctx, token.AccessorID)
	require.NoError(t, err)
	require.Nil(t, got, "the 404 rule for a deleted token")

	// The clone lives on, and goes with its own delete.
	assertAccess(t, clone.SecretID)
	require.NoError(t, admin.ACL.DeleteToken(ctx, clone.AccessorID))
	err = admin.ACL.DeleteToken(ctx, clone.AccessorID)
	require.ErrorIs(t, err, consul.ErrNotFound)
}

func TestACLPolicyCRUD(t *testing.T) {
	_, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	name := aclTestName(t, "pol")

	// JSON rules pass through too.
	created, err := admin.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: name, Rules: `{"key_prefix":{"x/":{"policy":"read"}}}`, Datacenters: []string{"dc1"}})
	require.NoError(t, err)
	require.NotEmpty(t, created.Hash)

	byID, meta, err := admin.ACL.GetPolicy(ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, created.Rules, byID.Rules)
	require.Equal(t, []string{"dc1"}, byID.Datacenters)
	require.NotZero(t, meta.Index)

	byName, _, err := admin.ACL.GetPolicyByName(ctx, name)
	require.NoError(t, err)
	require.Equal(t, created.ID, byName.ID)

	byID.Description = "updated"
	byID.Rules = `key_prefix "y/" { policy = "write" }`
	updated, err := admin.ACL.UpdatePolicy(ctx, byID)
	require.NoError(t, err)
	require.Equal(t, "updated", updated.Description)
	require.Greater(t, updated.ModifyIndex, created.ModifyIndex)

	list, _, err := admin.ACL.ListPolicies(ctx)
	require.NoError(t, err)
	var found *consul.ACLPolicyListEntry
	for _, p := range list {
		if p.ID == created.ID {
			found = p
		}
	}
	require.NotNil(t, found)
	require.Equal(t, "updated", found.Description)
	assert.Condition(t, func() bool {
		for _, p := range list {
			if p.Name == "global-management" {
				return true
			}
		}
		return false
	}, "the builtin policy is listed")

	// Bad rules are a 500 from Consul 1.19, with the reason in the body.
	_, err = admin.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: aclTestName(t, "bad"), Rules: `key_prefix "x" { policy = "sideways" }`})
	require.Equal(t, 500, aclStatus(err), "%v", err)
	require.Contains(t, err.Error(), "sideways")

	require.NoError(t, admin.ACL.DeletePolicy(ctx, created.ID))
	gone, meta, err := admin.ACL.GetPolicy(ctx, created.ID)
	require.NoError(t, err)
	require.Nil(t, gone)
	require.NotNil(t, meta)
	gone, _, err = admin.ACL.GetPolicyByName(ctx, name)
	require.NoError(t, err)
	require.Nil(t, gone)
	require.ErrorIs(t, admin.ACL.DeletePolicy(ctx, created.ID), consul.ErrNotFound)

	// Without acl:read the caller is denied, which is not "missing".
	anon := newClient(t, testACLAgent(t))
	_, _, err = anon.ACL.GetPolicy(ctx, created.ID)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestACLTemplatedPolicies(t *testing.T) {
	_, admin := aclTestAdmin(t)
	ctx := testCtx(t)

	all, _, err := admin.ACL.ListTemplatedPolicies(ctx)
	require.NoError(t, err)
	require.Contains(t, all, "builtin/service")
	require.Contains(t, all, "builtin/node")
	require.Equal(t, "builtin/service", all["builtin/service"].TemplateName)

	svc, _, err := admin.ACL.GetTemplatedPolicy(ctx, "builtin/service")
	require.NoError(t, err)
	require.Contains(t, svc.Template, "{{.Name}}")
	require.Contains(t, svc.Schema, "name")

	missing, meta, err := admin.ACL.GetTemplatedPolicy(ctx, "builtin/nope")
	require.NoError(t, err)
	require.Nil(t, missing)
	require.NotNil(t, meta)

	preview, err := admin.ACL.PreviewTemplatedPolicy(ctx, "builtin/service", &consul.ACLTemplatedPolicyVariables{Name: "web"})
	require.NoError(t, err)
	require.Contains(t, preview.Rules, `service "web"`)
	require.Contains(t, preview.Rules, `service "web-sidecar-proxy"`)

	// The schema requires a name.
	_, err = admin.ACL.PreviewTemplatedPolicy(ctx, "builtin/service", nil)
	require.Equal(t, 400, aclStatus(err), "%v", err)

	// A token linked to a templated policy gets its rules.
	tok, err := admin.ACL.CreateToken(ctx, &consul.ACLToken{TemplatedPolicies: []consul.ACLTemplatedPolicy{{
		TemplateName: "builtin/service", TemplateVariables: &consul.ACLTemplatedPolicyVariables{Name: "web"},
	}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.ACL.DeleteToken(testCtx(t), tok.AccessorID) })
	require.Len(t, tok.TemplatedPolicies, 1)
	require.Equal(t, "web", tok.TemplatedPolicies[0].TemplateVariables.Name)
}
