package consul_test

import (
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

func TestACLTokenCRUD(t *testing.T) {
	srv, admin := aclTestAdmin(t)
	ctx := testCtx(t)

	policy, err := admin.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: aclTestName(t, "p"), Rules: `node_prefix "" { policy = "read" }`})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.ACL.DeletePolicy(testCtx(t), policy.ID) })
	svc := aclTestName(t, "svc")

	// A token imported with chosen IDs and an expiry.
	accessor, secret := consultest.NewUUID(), consultest.NewUUID()
	created, err := admin.ACL.CreateToken(ctx, &consul.ACLToken{
		AccessorID: accessor, SecretID: secret, Description: "crud",
		Policies:          []consul.ACLLink{{ID: policy.ID}},
		ServiceIdentities: []consul.ACLServiceIdentity{{ServiceName: svc}},
		ExpirationTTL:     time.Hour,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.ACL.DeleteToken(testCtx(t), accessor) })
	require.Equal(t, accessor, created.AccessorID)
	require.Equal(t, secret, created.SecretID)
	require.Equal(t, policy.Name, created.Policies[0].Name, "Consul fills in the link's name")
	require.NotNil(t, created.ExpirationTime)
	require.InDelta(t, float64(time.Hour), float64(created.ExpirationTime.Sub(created.CreateTime)), float64(time.Second))

	read, meta, err := admin.ACL.GetToken(ctx, accessor)
	require.NoError(t, err)
	require.Equal(t, "crud", read.Description)
	require.Equal(t, secret, read.SecretID, "a management token sees the secret")
	require.Equal(t, svc, read.ServiceIdentities[0].ServiceName)
	require.NotZero(t, meta.Index)

	// ReadSelf needs no acl permission: the token reads itself.
	self := newClient(t, srv, consul.Config{Token: secret})
	me, _, err := self.ACL.GetSelfToken(ctx)
	require.NoError(t, err)
	require.Equal(t, accessor, me.AccessorID)
	_, _, err = self.ACL.GetToken(ctx, accessor)
	require.ErrorIs(t, err, consul.ErrPermissionDenied, "reading by accessor needs acl:read")

	// Update replaces the links; the secret is kept.
	read.Description = "crud updated"
	read.ServiceIdentities = nil
	read.ExpirationTTL = 0
	updated, err := admin.ACL.UpdateToken(ctx, read)
	require.NoError(t, err)
	require.Equal(t, "crud updated", updated.Description)
	require.Empty(t, updated.ServiceIdentities)
	require.Equal(t, secret, updated.SecretID)

	// List, with each filter.
	all, _, err := admin.ACL.ListTokens(ctx, nil)
	require.NoError(t, err)
	require.True(t, aclTestHasToken(all, accessor))
	byPolicy, _, err := admin.ACL.ListTokens(ctx, &consul.ACLTokenFilter{Policy: policy.ID})
	require.NoError(t, err)
	require.Len(t, byPolicy, 1)
	require.Equal(t, accessor, byPolicy[0].AccessorID)
	require.Equal(t, "crud updated", byPolicy[0].Description)
	byService, _, err := admin.ACL.ListTokens(ctx, &consul.ACLTokenFilter{ServiceName: svc})
	require.NoError(t, err)
	require.Empty(t, byService, "the service identity was removed by the update")

	require.NoError(t, admin.ACL.DeleteToken(ctx, accessor))
	_, _, err = self.ACL.GetSelfToken(ctx)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.NotContains(t, err.Error(), secret)
}

func aclTestHasToken(list []*consul.ACLTokenListEntry, accessor string) bool {
	for _, e := range list {
		if e.AccessorID == accessor {
			return true
		}
	}
	return false
}

// TestACLNotFound checks the 404 rule on every read of one ACL object, and
// the errors of writes to missing ones, against the agent.
func TestACLNotFound(t *testing.T) {
	_, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	missing := consultest.NewUUID()
	a := admin.ACL

	tok, meta, err := a.GetToken(ctx, missing)
	require.NoError(t, err)
	require.Nil(t, tok)
	require.NotNil(t, meta)
	pol, _, err := a.GetPolicy(ctx, missing)
	require.NoError(t, err)
	require.Nil(t, pol)
	pol, _, err = a.GetPolicyByName(ctx, "no-such-policy")
	require.NoError(t, err)
	require.Nil(t, pol)
	role, _, err := a.GetRole(ctx, missing)
	require.NoError(t, err)
	require.Nil(t, role)
	role, _, err = a.GetRoleByName(ctx, "no-such-role")
	require.NoError(t, err)
	require.Nil(t, role)
	method, _, err := a.GetAuthMethod(ctx, "no-such-method")
	require.NoError(t, err)
	require.Nil(t, method)
	rule, _, err := a.GetBindingRule(ctx, missing)
	require.NoError(t, err)
	require.Nil(t, rule)

	require.ErrorIs(t, a.DeleteToken(ctx, missing), consul.ErrNotFound)
	require.ErrorIs(t, a.DeletePolicy(ctx, missing), consul.ErrNotFound)
	require.ErrorIs(t, a.DeleteRole(ctx, missing), consul.ErrNotFound)
	require.ErrorIs(t, a.DeleteAuthMethod(ctx, "no-such-method"), consul.ErrNotFound)
	require.ErrorIs(t, a.DeleteBindingRule(ctx, missing), consul.ErrNotFound)
	_, err = a.CloneToken(ctx, missing, "")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)

	// A caller with an unknown token is denied, not told "missing".
	stranger := newClient(t, testACLAgent(t), consul.Config{Token: consultest.NewUUID()})
	_, _, err = stranger.ACL.GetToken(ctx, missing)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestACLReplication(t *testing.T) {
	srv := testACLAgent(t)
	ctx := testCtx(t)
	// It needs no token; in the primary datacenter replication is off.
	st, _, err := newClient(t, srv).ACL.Replication(ctx)
	require.NoError(t, err)
	require.False(t, st.Enabled)
	require.False(t, st.Running)

	// On an agent without ACLs every ACL call is Consul's 401.
	_, _, err = newClient(t, testAgent(t)).ACL.Replication(ctx)
	require.Equal(t, 401, aclStatus(err), "%v", err)
}

// TestACLBootstrap bootstraps a fresh ACL system. The agent is private and
// started without an initial management token: consultest's Config.ACL
// sets one, so the acl block comes from Extra, with the default policy
// allow so that consultest's readiness check (anonymous) sees the node;
// ACL operations still need a management token under allow.
func TestACLBootstrap(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{Extra: map[string]any{
		"acl": map[string]any{"enabled": true, "default_policy": "allow"},
	}})
	ctx := testCtx(t)
	anon := newClient(t, srv)

	_, _, err := anon.ACL.ListTokens(ctx, nil)
	require.ErrorIs(t, err, consul.ErrPermissionDenied, "no management token yet")

	var boot *consul.ACLToken
	for i := 0; i < 50; i++ { // the ACL system may need a moment after the election
		boot, err = anon.ACL.Bootstrap(ctx, "")
		if err == nil || aclStatus(err) == 403 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	require.NotEmpty(t, boot.SecretID)
	require.NotEmpty(t, boot.AccessorID)
	require.Equal(t, "global-management", boot.Policies[0].Name)

	mgmt := newClient(t, srv, consul.Config{Token: boot.SecretID})
	self, _, err := mgmt.ACL.GetSelfToken(ctx)
	require.NoError(t, err)
	require.Equal(t, boot.AccessorID, self.AccessorID)
	list, _, err := mgmt.ACL.ListTokens(ctx, nil)
	require.NoError(t, err)
	require.True(t, aclTestHasToken(list, boot.AccessorID))
	_, err = mgmt.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: "after-bootstrap", Rules: `node_prefix "" { policy = "read" }`})
	require.NoError(t, err)

	_, err = anon.ACL.Bootstrap(ctx, "")
	require.ErrorIs(t, err, consul.ErrPermissionDenied, "a second bootstrap fails")
	require.Contains(t, err.Error(), "no longer allowed")
	require.NotContains(t, err.Error(), boot.SecretID)
}

// TestACLBootstrapSecret bootstraps with a chosen secret.
func TestACLBootstrapSecret(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{Extra: map[string]any{
		"acl": map[string]any{"enabled": true, "default_policy": "allow"},
	}})
	ctx := testCtx(t)
	secret := consultest.NewUUID()
	var boot *consul.ACLToken
	var err error
	for i := 0; i < 50; i++ {
		boot, err = newClient(t, srv).ACL.Bootstrap(ctx, secret)
		if err == nil || aclStatus(err) == 403 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	require.Equal(t, secret, boot.SecretID)
	self, _, err := newClient(t, srv, consul.Config{Token: secret}).ACL.GetSelfToken(ctx)
	require.NoError(t, err)
	require.Equal(t, boot.AccessorID, self.AccessorID)
}
