package consul_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A real agent whose HTTP API listens on a unix socket only
// (addresses.http = "unix://..."), reached with a unix:// address.
func TestUnixSocketRealAgent(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{UnixSocket: true})
	require.Empty(t, srv.HTTPAddr, "no TCP listener for the HTTP API")
	require.Equal(t, "unix://"+srv.SocketPath, srv.Address)
	fi, err := os.Stat(srv.SocketPath)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, fi.Mode().Type())

	c, err := consul.NewClient(consul.Config{Address: srv.Address})
	require.NoError(t, err)
	ctx := testCtx(t)

	self, _, err := c.Agent.Self(ctx)
	require.NoError(t, err)
	require.Equal(t, srv.NodeName, self.Config.NodeName)

	// A write, a read, and a blocking read woken by a write, all over the
	// socket.
	key := uniq(t, "k")
	require.NoError(t, c.KV.Put(ctx, key, []byte("v1")))
	pair, meta, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "v1", string(pair.Value))
	put := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		put <- c.KV.Put(ctx, key, []byte("v2"))
	}()
	pair, meta2, err := c.KV.Get(ctx, key, consul.WaitIndex(meta.Index), consul.WaitTime(10*time.Second))
	require.NoError(t, err)
	require.NoError(t, <-put, "the write ends before the test does")
	require.Greater(t, meta2.Index, meta.Index)
	require.Equal(t, "v2", string(pair.Value))

	// ConfigFromEnv takes the unix:// address from CONSUL_HTTP_ADDR.
	t.Setenv("CONSUL_HTTP_ADDR", srv.Address)
	cfg, err := consul.ConfigFromEnv()
	require.NoError(t, err)
	c2, err := consul.NewClient(cfg)
	require.NoError(t, err)
	v, _, err := c2.Agent.Version(ctx)
	require.NoError(t, err)
	assert.Equal(t, srv.Version, v.HumanVersion)

	// A socket that is not there fails to connect; nothing is served.
	c3, err := consul.NewClient(consul.Config{Address: "unix://" + filepath.Join(t.TempDir(), "none.sock")})
	require.NoError(t, err)
	_, _, err = c3.Status.Leader(ctx)
	require.Error(t, err)
	var se *consul.StatusError
	require.NotErrorAs(t, err, &se)
}
