package consul_test

import (
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigEntriesProxyDefaultsIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries

	// proxy-defaults, typed, with its opaque Config.
	prev, _, err := s.Get(ctx, consul.ConfigKindProxyDefaults, consul.ProxyConfigGlobal)
	require.NoError(t, err)
	if prev == nil {
		t.Cleanup(func() { _ = s.Delete(ctx, consul.ConfigKindProxyDefaults, consul.ProxyConfigGlobal) })
		require.NoError(t, s.Put(ctx, &consul.ProxyConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: consul.ProxyConfigGlobal}, Config: map[string]any{"local_connect_timeout_ms": 1000}, AccessLogs: consul.ConfigAccessLogs{Enabled: true}}))
		entry, _, err := s.Get(ctx, consul.ConfigKindProxyDefaults, consul.ProxyConfigGlobal)
		require.NoError(t, err)
		pd := entry.(*consul.ProxyConfigEntry)
		assert.EqualValues(t, 1000, pd.Config["local_connect_timeout_ms"])
		assert.True(t, pd.AccessLogs.Enabled)
	}
}
