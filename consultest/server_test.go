package consultest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestServerStopStartKeepsPortsAndData(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	base := "http://" + srv.HTTPAddr
	code, body := do(t, "PUT", base+"/v1/kv/persist", "", "kept")
	require.Equal(t, 200, code, body)

	require.NoError(t, srv.Stop())
	require.False(t, srv.Running())
	_, err := http.Get(base + "/v1/status/leader")
	require.Error(t, err, "the agent must be down after Stop")

	require.NoError(t, srv.Start())
	require.True(t, srv.Running())
	code, body = do(t, "GET", base+"/v1/kv/persist?raw", "", "")
	require.Equal(t, 200, code)
	require.Equal(t, "kept", body, "the data dir must survive a restart")
}

func TestServerWithACLsDeniesAnonymous(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{ACL: true})
	require.NotEmpty(t, srv.ManagementToken)
	base := "http://" + srv.HTTPAddr
	code, _ := do(t, "PUT", base+"/v1/kv/secret", "", "x")
	require.Equal(t, 403, code, "default deny must refuse the anonymous token")
	code, body := do(t, "PUT", base+"/v1/kv/secret", srv.ManagementToken, "x")
	require.Equal(t, 200, code, body)
}

func TestStartRefusesNonLoopback(t *testing.T) {
	_, err := consultest.Start(consultest.Config{Bind: "10.1.2.3"})
	require.ErrorContains(t, err, "loopback")
}

func TestNewUUID(t *testing.T) {
	u := consultest.NewUUID()
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, u)
	require.NotEqual(t, u, consultest.NewUUID())
}
