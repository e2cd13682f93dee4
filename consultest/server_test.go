package consultest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestServerReportsItsVersion(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	b, err := consultest.FindBinary("")
	require.NoError(t, err)
	require.Equal(t, b.Path, srv.Binary)
	require.Equal(t, b.Version, srv.Version)
	require.Equal(t, srv.HTTPAddr, srv.Address)
	code, body := do(t, "GET", "http://"+srv.HTTPAddr+"/v1/agent/version", "", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"HumanVersion":"`+srv.Version+`"`, "the agent runs the version the binary reports")
}

func TestServerTLSOnly(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{TLS: true})
	require.NotNil(t, srv.TLS)
	require.Empty(t, srv.HTTPAddr)
	f := srv.TLS
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(f.CAPEM))
	ca, err := os.ReadFile(f.CAFile)
	require.NoError(t, err)
	require.Equal(t, f.CAPEM, ca)
	entries, err := os.ReadDir(f.CADir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "CADir holds the CA only")
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	require.NoError(t, err)
	get := func(tc *tls.Config) (*http.Response, error) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second}
		defer hc.CloseIdleConnections()
		return hc.Get("https://" + srv.HTTPSAddr + "/v1/status/leader")
	}
	resp, err := get(&tls.Config{RootCAs: pool, ServerName: f.ServerName, Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	// verify_incoming: no certificate, no answer.
	resp, err = get(&tls.Config{RootCAs: pool, ServerName: f.ServerName})
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err)
}

func TestServerUnixSocket(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{UnixSocket: true})
	require.Empty(t, srv.HTTPAddr)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", srv.SocketPath)
	}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://agent/v1/status/leader")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, srv.Restart(), "the socket is served again after a restart")
	resp, err = hc.Get("http://agent/v1/status/leader")
	require.NoError(t, err)
	resp.Body.Close()
}

func TestServerRequestsAndOnClose(t *testing.T) {
	var mu sync.Mutex
	seen := map[*consultest.Server][]consultest.Request{}
	consultest.OnClose(func(s *consultest.Server) {
		mu.Lock()
		defer mu.Unlock()
		seen[s] = s.Requests()
	})
	srv, err := consultest.Start(consultest.Config{})
	require.NoError(t, err)
	code, _ := do(t, "PUT", "http://"+srv.HTTPAddr+"/v1/kv/recorded?flags=3&cas=0", "", "x")
	require.Equal(t, 200, code)
	want := consultest.Request{Method: "PUT", URL: "/v1/kv/recorded?flags=3&cas=0"}
	require.Contains(t, srv.Requests(), want)
	for _, r := range srv.Requests() {
		require.NotContains(t, r.URL, "consultest=probe", "consultest's own probes are left out")
	}
	require.NoError(t, srv.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, seen[srv], want, "OnClose saw the requests before the log was removed")
	require.Empty(t, srv.Requests(), "the log is gone after Close")
}

// A SharedServer starts once, on first use, for every caller, and Close
// stops it (and is a no-op when it never started).
func TestSharedServer(t *testing.T) {
	idle := consultest.NewSharedServer(consultest.Config{})
	require.NoError(t, idle.Close(false), "never started: nothing to close")

	shared := consultest.NewSharedServer(consultest.Config{})
	var wg sync.WaitGroup
	got := make([]*consultest.Server, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = shared.Server(t)
		}()
	}
	wg.Wait()
	for _, s := range got {
		require.Same(t, got[0], s, "one agent for every caller")
	}
	require.True(t, got[0].Running())

	// More connections than Consul's default per-client limit (200), all
	// open at once from one address: none is refused with a 429.
	const conns = 250
	open := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	for range conns {
		c, err := net.DialTimeout("tcp", got[0].HTTPAddr, 5*time.Second)
		require.NoError(t, err)
		open = append(open, c)
	}
	for i, c := range open {
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		_, err := io.WriteString(c, "GET /v1/status/leader HTTP/1.1\r\nHost: consul\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "connection %d", i)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "connection %d of %d", i+1, conns)
	}
	require.NoError(t, shared.Close(false))
	require.False(t, got[0].Running())
}
