package consul_test

import (
	"fmt"
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/require"
)

// TestACLRoleBundlesPolicies checks that a token linked to a role bundling
// two policies gets both, and nothing more; then the role's CRUD.
func TestACLRoleBundlesPolicies(t *testing.T) {
	srv, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	prefix := aclTestName(t, "kv")
	for _, k := range []string{"a/1", "b/1", "c/1"} {
		require.NoError(t, admin.KV.Put(ctx, prefix+"/"+k, []byte(k)))
	}
	var policies []*consul.ACLPolicy
	for _, sub := range []string{"a", "b"} {
		p, err := admin.ACL.CreatePolicy(ctx, &consul.ACLPolicy{
			Name:  aclTestName(t, sub),
			Rules: fmt.Sprintf(`key_prefix %q { policy = "read" }`, prefix+"/"+sub+"/"),
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = admin.ACL.DeletePolicy(testCtx(t), p.ID) })
		policies = append(policies, p)
	}

	role, err := admin.ACL.CreateRole(ctx, &consul.ACLRole{
		Name:        aclTestName(t, "role"),
		Description: "reads a and b",
		Policies:    []consul.ACLLink{{ID: policies[0].ID}, {Name: policies[1].Name}},
	})
	require.NoError(t, err)
	require.NotEmpty(t, role.ID)
	require.Equal(t, []consul.ACLLink{{ID: policies[0].ID, Name: policies[0].Name}, {ID: policies[1].ID, Name: policies[1].Name}}, role.Policies)

	tok, err := admin.ACL.CreateToken(ctx, &consul.ACLToken{Roles: []consul.ACLLink{{Name: role.Name}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.ACL.DeleteToken(testCtx(t), tok.AccessorID) })
	require.Equal(t, role.ID, tok.Roles[0].ID)

	c := newClient(t, srv, consul.Config{Token: tok.SecretID})
	for _, k := range []string{"a/1", "b/1"} {
		pair, _, err := c.KV.Get(ctx, prefix+"/"+k)
		require.NoError(t, err, k)
		require.Equal(t, k, string(pair.Value))
	}
	_, _, err = c.KV.Get(ctx, prefix+"/c/1")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)

	// Read by ID and name, list with and without the policy filter.
	byID, meta, err := admin.ACL.GetRole(ctx, role.ID)
	require.NoError(t, err)
	require.Equal(t, role.Name, byID.Name)
	require.NotZero(t, meta.Index)
	byName, _, err := admin.ACL.GetRoleByName(ctx, role.Name)
	require.NoError(t, err)
	require.Equal(t, role.ID, byName.ID)
	all, _, err := admin.ACL.ListRoles(ctx, nil)
	require.NoError(t, err)
	require.True(t, aclTestHasRole(all, role.ID))
	byPolicy, _, err := admin.ACL.ListRoles(ctx, &consul.ACLRoleFilter{Policy: policies[1].ID})
	require.NoError(t, err)
	require.Len(t, byPolicy, 1)
	require.Equal(t, role.ID, byPolicy[0].ID)
	byToken, _, err := admin.ACL.ListTokens(ctx, &consul.ACLTokenFilter{Role: role.ID})
	require.NoError(t, err)
	require.Len(t, byToken, 1)
	require.Equal(t, tok.AccessorID, byToken[0].AccessorID)

	// Dropping policy b from the role takes it from the token.
	byID.Policies = byID.Policies[:1]
	updated, err := admin.ACL.UpdateRole(ctx, byID)
	require.NoError(t, err)
	require.Len(t, updated.Policies, 1)
	require.Eventually(t, func() bool {
		_, _, err := c.KV.Get(ctx, prefix+"/b/1")
		return err != nil
	}, 10e9, 100e6)
	_, _, err = c.KV.Get(ctx, prefix+"/a/1")
	require.NoError(t, err)
	byPolicy, _, err = admin.ACL.ListRoles(ctx, &consul.ACLRoleFilter{Policy: policies[1].ID})
	require.NoError(t, err)
	require.Empty(t, byPolicy)

	require.NoError(t, admin.ACL.DeleteRole(ctx, role.ID))
	gone, _, err := admin.ACL.GetRole(ctx, role.ID)
	require.NoError(t, err)
	require.Nil(t, gone)
	gone, _, err = admin.ACL.GetRoleByName(ctx, role.Name)
	require.NoError(t, err)
	require.Nil(t, gone)
}

func aclTestHasRole(list []*consul.ACLRole, id string) bool {
	for _, r := range list {
		if r.ID == id {
			return true
		}
	}
	return false
}
