package consul_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goconsul/consul"
)

// casCalls are the check-and-set calls of the library, each writing with
// index 5 through c.
func casCalls() map[string]func(ctx context.Context, c *consul.Client) (bool, error) {
	return map[string]func(ctx context.Context, c *consul.Client) (bool, error){
		"KV.PutCAS": func(ctx context.Context, c *consul.Client) (bool, error) {
			return c.KV.PutCAS(ctx, "k", []byte("v"), 5)
		},
		"KV.DeleteCAS": func(ctx context.Context, c *consul.Client) (bool, error) {
			return c.KV.DeleteCAS(ctx, "k", 5)
		},
		"ConfigEntries.PutCAS": func(ctx context.Context, c *consul.Client) (bool, error) {
			return c.ConfigEntries.PutCAS(ctx, &consul.ServiceDefaultsConfigEntry{
				ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"}}, 5)
		},
		"ConfigEntries.DeleteCAS": func(ctx context.Context, c *consul.Client) (bool, error) {
			return c.ConfigEntries.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, "web", 5)
		},
		"Operator.SetAutopilotConfigurationCAS": func(ctx context.Context, c *consul.Client) (bool, error) {
			return c.Operator.SetAutopilotConfigurationCAS(ctx, &consul.AutopilotConfiguration{}, 5)
		},
	}
}

// TestCASNotAppliedWire: every check-and-set sends ?cas= and reads Consul's
// answer the same way: false is (false, nil), true is (true, nil).
func TestCASNotAppliedWire(t *testing.T) {
	for name, call := range casCalls() {
		t.Run(name, func(t *testing.T) {
			for _, answer := range []bool{false, true} {
				body := "false"
				if answer {
					body = "true"
				}
				w, c := newWire(t, reply{Body: body})
				ok, err := call(testCtx(t), c)
				require.NoError(t, err, "a CAS that was not applied is not an error")
				assert.Equal(t, answer, ok)
				assert.Equal(t, "5", w.only(t).Query.Get("cas"))
			}
		})
	}
}

// TestCASNotAppliedIntegration: against a real agent, a stale index is
// (false, nil) and the current one (true, nil), on the KV store and on
// configuration entries. (Operator.SetAutopilotConfigurationCAS is checked
// the same way in TestOperatorAutopilotConfiguration, on an agent of its
// own: it changes the cluster's autopilot settings.)
func TestCASNotAppliedIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)

	key := uniq(t, "cas")
	require.NoError(t, c.KV.Put(ctx, key, []byte("a")))
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.NotNil(t, pair)
	stale := pair.ModifyIndex - 1

	ok, err := c.KV.PutCAS(ctx, key, []byte("b"), stale)
	require.NoError(t, err)
	assert.False(t, ok, "KV.PutCAS with a stale index")
	ok, err = c.KV.DeleteCAS(ctx, key, stale)
	require.NoError(t, err)
	assert.False(t, ok, "KV.DeleteCAS with a stale index")
	ok, err = c.KV.PutCAS(ctx, key, []byte("b"), pair.ModifyIndex)
	require.NoError(t, err)
	assert.True(t, ok, "KV.PutCAS with the current index")
	pair, _, err = c.KV.Get(ctx, key)
	require.NoError(t, err)
	ok, err = c.KV.DeleteCAS(ctx, key, pair.ModifyIndex)
	require.NoError(t, err)
	assert.True(t, ok, "KV.DeleteCAS with the current index")

	name := uniq(t, "web")
	entry := &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "http"}
	ok, err = c.ConfigEntries.PutCAS(ctx, entry, 0)
	require.NoError(t, err)
	require.True(t, ok, "index 0 creates")
	t.Cleanup(func() { _ = c.ConfigEntries.Delete(context.Background(), consul.ConfigKindServiceDefaults, name) })
	got, _, err := c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	require.NotNil(t, got)
	current := got.Header().ModifyIndex

	entry.Protocol = "grpc"
	ok, err = c.ConfigEntries.PutCAS(ctx, entry, 0)
	require.NoError(t, err)
	assert.False(t, ok, "ConfigEntries.PutCAS with index 0 on an existing entry")
	ok, err = c.ConfigEntries.PutCAS(ctx, entry, current-1)
	require.NoError(t, err)
	assert.False(t, ok, "ConfigEntries.PutCAS with a stale index")
	ok, err = c.ConfigEntries.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, name, current-1)
	require.NoError(t, err)
	assert.False(t, ok, "ConfigEntries.DeleteCAS with a stale index")
	ok, err = c.ConfigEntries.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, name, current)
	require.NoError(t, err)
	assert.True(t, ok, "ConfigEntries.DeleteCAS with the current index")
}
