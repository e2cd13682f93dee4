package consul_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewClientAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		"":                    "http://127.0.0.1:8500",
		"10.0.0.1:8500":       "http://10.0.0.1:8500",
		"http://host:1234":    "http://host:1234",
		"https://host:8501/":  "https://host:8501",
		"unix:///tmp/c.sock":  "http://localhost",
		"[::1]:8500":          "http://[::1]:8500",
		"consul.service:8500": "http://consul.service:8500",
	} {
		c, err := consul.NewClient(consul.Config{Address: addr})
		require.NoError(t, err, addr)
		assert.Equal(t, want, c.Address(), addr)
	}
	c, err := consul.NewClient(consul.Config{Address: "host:8501", Scheme: "https"})
	require.NoError(t, err)
	assert.Equal(t, "https://host:8501", c.Address())

	for _, bad := range []consul.Config{
		{Address: "unix://"},
		{Address: "http://host:1/path"},
		{Address: "host", Scheme: "ftp"},
		{Consistency: consul.Consistency(9)},
		{TokenFile: "/does/not/exist"},
		{Address: "https://h:1", HTTPClient: http.DefaultClient, TLS: consul.TLSConfig{CAFile: "x"}},
	} {
		_, err := consul.NewClient(bad)
		assert.Error(t, err, "%+v", bad)
	}
}

func TestConfigFromEnvReadsAllVariables(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("file-token\n"), 0o600))
	env := map[string]string{
		"CONSUL_HTTP_ADDR":       "consul.example:8501",
		"CONSUL_HTTP_TOKEN":      "env-token",
		"CONSUL_HTTP_TOKEN_FILE": tokenFile,
		"CONSUL_HTTP_AUTH":       "user:pa:ss",
		"CONSUL_HTTP_SSL":        "true",
		"CONSUL_HTTP_SSL_VERIFY": "false",
		"CONSUL_CACERT":          "/ca.pem",
		"CONSUL_CAPATH":          "/cas",
		"CONSUL_CLIENT_CERT":     "/client.pem",
		"CONSUL_CLIENT_KEY":      "/client.key",
		"CONSUL_TLS_SERVER_NAME": "server.dc1.consul",
		"CONSUL_NAMESPACE":       "team",
		"CONSUL_PARTITION":       "part",
	}
	require.Len(t, env, 13)
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := consul.ConfigFromEnv()
	require.NoError(t, err)
	assert.Equal(t, consul.Config{
		Address:   "consul.example:8501",
		Scheme:    "https",
		TokenFile: tokenFile, // the file wins over CONSUL_HTTP_TOKEN, as in the consul CLI
		HTTPAuth:  &consul.BasicAuth{Username: "user", Password: "pa:ss"},
		Namespace: "team",
		Partition: "part",
		TLS: consul.TLSConfig{
			ServerName:         "server.dc1.consul",
			CAFile:             "/ca.pem",
			CAPath:             "/cas",
			CertFile:           "/client.pem",
			KeyFile:            "/client.key",
			InsecureSkipVerify: true,
		},
	}, cfg)

	t.Setenv("CONSUL_HTTP_SSL", "maybe")
	_, err = consul.ConfigFromEnv()
	assert.ErrorContains(t, err, "CONSUL_HTTP_SSL")
}

func TestConfigDefaultsAndHeadersWire(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("  from-file \n"), 0o600))
	w, c := newWireConfig(t, consul.Config{
		Datacenter:  "dc9",
		TokenFile:   tokenFile,
		Consistency: consul.ConsistencyStale,
		Namespace:   "ns1",
		Partition:   "p1",
		HTTPAuth:    &consul.BasicAuth{Username: "u", Password: "p"},
	}, reply{Body: "[]"}, reply{Body: "true"}, reply{Body: "[]"})
	ctx := testCtx(t)

	_, _, err := c.KV.Get(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, c.KV.Put(ctx, "k", []byte("v")))
	_, _, err = c.KV.Get(ctx, "k", consul.Consistent(), consul.Datacenter("dc2"), consul.Token("call-token"))
	require.NoError(t, err)

	reqs := w.requests()
	require.Len(t, reqs, 3)
	reqs[0].expect(t, "GET", "/v1/kv/k", q("dc", "dc9", "stale", "", "ns", "ns1", "partition", "p1"))
	reqs[1].expect(t, "PUT", "/v1/kv/k", q("dc", "dc9", "ns", "ns1", "partition", "p1"))
	reqs[2].expect(t, "GET", "/v1/kv/k", q("dc", "dc2", "consistent", "", "ns", "ns1", "partition", "p1"))
	assert.Equal(t, "from-file", reqs[0].Header.Get("X-Consul-Token"), "token file is trimmed")
	assert.Equal(t, "call-token", reqs[2].Header.Get("X-Consul-Token"), "a call's Token wins")
	user, pass, ok := (&http.Request{Header: reqs[0].Header}).BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "u", user)
	assert.Equal(t, "p", pass)
}

// TestEveryOptionWire checks what each option sends, through Client.Do, to
// which every option applies (the methods' own sets are checked by
// TestOptionsPerMethod).
func TestEveryOptionWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "[]"})
	kvList := &consul.Request{Route: "/v1/kv/{key...}", Args: []string{"p"}, Params: url.Values{"recurse": nil}}
	_, err := c.Do(testCtx(t), kvList, nil,
		consul.Datacenter("dc3"),
		consul.WithConsistency(consul.ConsistencyLeader),
		consul.WaitIndex(42), consul.WaitTime(90*time.Second),
		consul.Filter(`Key matches "a b"`),
		consul.Near("_agent"),
		consul.NodeMeta("env", "prod"), consul.NodeMeta("rack", "r1"),
		consul.MaxAge(30*time.Second), consul.StaleIfError(time.Minute),
		consul.MaxStale(2*time.Second),
		consul.Namespace("ns"), consul.Partition("pt"), consul.Peer("other"),
		consul.Tag("a"), consul.Tag("b"), consul.Passing(),
		consul.Separator("/"), consul.Param("custom", "x y"), consul.Param("bare", ""),
	)
	require.NoError(t, err)
	s := w.only(t)
	s.expect(t, "GET", "/v1/kv/p", url.Values{
		"recurse": {""}, "dc": {"dc3"}, "leader": {""}, "index": {"42"}, "wait": {"1m30s"},
		"filter": {`Key matches "a b"`}, "near": {"_agent"}, "node-meta": {"env:prod", "rack:r1"},
		"cached": {""}, "max_stale": {"2s"}, "ns": {"ns"}, "partition": {"pt"}, "peer": {"other"},
		"tag": {"a", "b"}, "passing": {""}, "separator": {"/"}, "custom": {"x y"}, "bare": {""},
	})
	assert.Equal(t, "max-age=30, stale-if-error=60", s.Header.Get("Cache-Control"))

	// Blocking on a content hash, and no wait parameter without an index.
	w2, c2 := newWire(t, reply{Body: "[]"})
	_, err = c2.Do(testCtx(t), kvList, nil, consul.WaitHash("abc"), consul.Cached())
	require.NoError(t, err)
	_, err = c2.Do(testCtx(t), kvList, nil, consul.WaitTime(time.Second))
	require.NoError(t, err)
	reqs := w2.requests()
	reqs[0].expect(t, "GET", "/v1/kv/p", q("recurse", "", "hash", "abc", "cached", ""))
	assert.Empty(t, reqs[0].Header.Get("Cache-Control"))
	reqs[1].expect(t, "GET", "/v1/kv/p", q("recurse", ""))
}

func TestMetaHeadersParsed(t *testing.T) {
	_, c := newWire(t, reply{
		Header: map[string]string{
			"X-Consul-Index":                    "1234",
			"X-Consul-KnownLeader":              "false",
			"X-Consul-LastContact":              "250",
			"X-Consul-ContentHash":              "abcdef",
			"X-Consul-Effective-Consistency":    "stale",
			"X-Cache":                           "HIT",
			"Age":                               "17",
			"X-Consul-Default-ACL-Policy":       "deny",
			"X-Consul-Results-Filtered-By-ACLs": "true",
			"X-Consul-Query-Backend":            "streaming",
		},
		Body: "[]",
	})
	_, meta, err := c.KV.List(testCtx(t), "p")
	require.NoError(t, err)
	assert.Equal(t, uint64(1234), meta.Index)
	assert.False(t, meta.KnownLeader)
	assert.Equal(t, 250*time.Millisecond, meta.LastContact)
	assert.Equal(t, "abcdef", meta.ContentHash)
	assert.Equal(t, "stale", meta.EffectiveConsistency)
	assert.True(t, meta.CacheHit)
	assert.Equal(t, 17*time.Second, meta.CacheAge)
	assert.Equal(t, "deny", meta.DefaultACLPolicy)
	assert.True(t, meta.ResultsFilteredByACLs)
	assert.Equal(t, "streaming", meta.QueryBackend)
	assert.Positive(t, meta.RequestTime)
}

func TestMalformedMetaHeaderIsAnError(t *testing.T) {
	for h, v := range map[string]string{
		"X-Consul-Index":                    "12x",
		"X-Consul-KnownLeader":              "yes",
		"X-Consul-LastContact":              "-1",
		"X-Cache":                           "MAYBE",
		"Age":                               "old",
		"X-Consul-Results-Filtered-By-ACLs": "sure",
	} {
		_, c := newWire(t, reply{Header: map[string]string{h: v}, Body: "[]"})
		_, _, err := c.KV.List(testCtx(t), "p")
		require.Error(t, err, h)
		assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(h), h)
	}
}

func TestStatusErrors(t *testing.T) {
	ctx := testCtx(t)
	for status, sentinel := range map[int]error{
		403: consul.ErrPermissionDenied,
		404: consul.ErrNotFound,
		409: consul.ErrConflict,
		429: consul.ErrRateLimited,
	} {
		_, c := newWire(t, reply{Status: status, Header: map[string]string{"Retry-After": "3"}, Body: "nope\n"})
		err := c.KV.Put(ctx, "k", nil)
		require.ErrorIs(t, err, sentinel, status)
		var se *consul.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, status, se.StatusCode)
		assert.Equal(t, "PUT", se.Method)
		assert.Equal(t, "/v1/kv/k", se.Path)
		assert.Equal(t, "nope", se.Body)
		assert.Equal(t, 3*time.Second, se.RetryAfter)
		for other := range map[error]bool{consul.ErrPermissionDenied: true, consul.ErrNotFound: true, consul.ErrConflict: true, consul.ErrRateLimited: true} {
			if other != sentinel {
				assert.NotErrorIs(t, err, other)
			}
		}
		assert.Equal(t, status != 429, consul.IsPermanent(err), status)
	}

	long := strings.Repeat("x", 10000)
	_, c := newWire(t, reply{Status: 500, Body: long})
	err := c.KV.Put(ctx, "k", nil)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Len(t, se.Body, 4096, "error bodies are cut at 4 KiB")
	assert.False(t, consul.IsPermanent(err))
	assert.True(t, se.Temporary())
	assert.Equal(t, "consul: PUT /v1/kv/k: 500 Internal Server Error: "+long[:4096], err.Error())
}

func TestCancelledContextReturnsCtxErr(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err = c.KV.Get(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	var se *consul.StatusError
	assert.False(t, errors.As(err, &se))

	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, _, err = c.KV.Get(done, "k")
	require.ErrorIs(t, err, context.Canceled)
}

func TestBlockingReadTimesOutOnDeadServer(t *testing.T) {
	defer consul.SetBlockingMarginForTest(100 * time.Millisecond)()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)

	start := time.Now()
	_, _, err = c.KV.Get(context.Background(), "k", consul.WaitIndex(5), consul.WaitTime(160*time.Millisecond))
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// wait + wait/16 + margin = 160 + 10 + 100 ms.
	assert.GreaterOrEqual(t, took, 270*time.Millisecond)
	assert.Less(t, took, 3*time.Second)
}

func TestTransportErrorIsNotAStatusError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	c, err := consul.NewClient(consul.Config{Address: addr})
	require.NoError(t, err)
	_, _, err = c.KV.Get(testCtx(t), "k")
	require.Error(t, err)
	var se *consul.StatusError
	assert.False(t, errors.As(err, &se))
	var ue *url.Error
	assert.True(t, errors.As(err, &ue), "the transport's error is kept: %v", err)
	assert.False(t, consul.IsPermanent(err))
}

func TestConnectionsAreReused(t *testing.T) {
	var conns atomic.Int32
	body := `[{"Key":"k","Value":"` + strings.Repeat("QUFB", 5000) + `"}]` + "\n\n"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			_, _ = w.Write([]byte("true"))
			return
		}
		switch r.URL.Query().Get("case") {
		case "404":
			w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
			w.WriteHeader(404)
		case "500":
			w.WriteHeader(500)
			_, _ = w.Write([]byte(strings.Repeat("e", 20000)))
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	ctx := testCtx(t)
	for i := 0; i < 30; i++ {
		_, _, err := c.KV.Get(ctx, "k")
		require.NoError(t, err)
		_, _, err = c.KV.Get(ctx, "k", consul.Param("case", "404"))
		require.NoError(t, err)
		_, _, err = c.KV.Get(ctx, "k", consul.Param("case", "500"))
		require.Error(t, err)
		require.NoError(t, c.KV.Put(ctx, "k", []byte("x")))
	}
	assert.Equal(t, int32(1), conns.Load(), "every body must be drained and closed")
}

func TestInjectedTransportAndHTTPClient(t *testing.T) {
	srv := testAgent(t)
	var rtCalls atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rtCalls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	c, err := consul.NewClient(consul.Config{Address: srv.HTTPAddr, Transport: rt})
	require.NoError(t, err)
	_, _, err = c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, int32(1), rtCalls.Load())

	c, err = consul.NewClient(consul.Config{Address: srv.HTTPAddr, HTTPClient: &http.Client{Transport: rt}})
	require.NoError(t, err)
	_, _, err = c.Status.Peers(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, int32(2), rtCalls.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUnixSocketAddress(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "consul.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/status/leader", r.URL.Path)
		_, _ = w.Write([]byte(`"10.0.0.1:8300"`))
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	c, err := consul.NewClient(consul.Config{Address: "unix://" + sock})
	require.NoError(t, err)
	leader, _, err := c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1:8300", leader)
}

// --- TLS ---

type clientTestPKI struct {
	caPEM, serverCert, serverKey, clientCert, clientKey []byte
	dir                                                 string
}

func clientTestNewPKI(t *testing.T) *clientTestPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := &clientTestPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), dir: t.TempDir()}
	p.serverCert, p.serverKey = leaf(2, "server.dc1.consul", x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	for name, b := range map[string][]byte{"ca.pem": p.caPEM, "client.pem": p.clientCert, "client.key": p.clientKey} {
		require.NoError(t, os.WriteFile(filepath.Join(p.dir, name), b, 0o600))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(p.dir, "cas"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "cas", "ca.pem"), p.caPEM, 0o600))
	return p
}

func TestTLSWithClientCertificate(t *testing.T) {
	pki := clientTestNewPKI(t)
	serverPair, err := tls.X509KeyPair(pki.serverCert, pki.serverKey)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pki.caPEM))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(401)
			return
		}
		_, _ = w.Write([]byte(`"` + r.TLS.PeerCertificates[0].Subject.CommonName + `"`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	ctx := testCtx(t)

	good := []consul.TLSConfig{
		{ServerName: "server.dc1.consul", CAFile: filepath.Join(pki.dir, "ca.pem"),
			CertFile: filepath.Join(pki.dir, "client.pem"), KeyFile: filepath.Join(pki.dir, "client.key")},
		{ServerName: "server.dc1.consul", CAPath: filepath.Join(pki.dir, "cas"), CertPEM: pki.clientCert, KeyPEM: pki.clientKey},
		{ServerName: "server.dc1.consul", CAPem: pki.caPEM, CertPEM: pki.clientCert, KeyPEM: pki.clientKey},
		{InsecureSkipVerify: true, CertPEM: pki.clientCert, KeyPEM: pki.clientKey},
	}
	for i, tc := range good {
		c, err := consul.NewClient(consul.Config{Address: srv.URL, TLS: tc})
		require.NoError(t, err, i)
		who, _, err := c.Status.Leader(ctx)
		require.NoError(t, err, i)
		assert.Equal(t, "client", who, i)
	}

	bad := []consul.TLSConfig{
		{ServerName: "server.dc1.consul", CertPEM: pki.clientCert, KeyPEM: pki.clientKey}, // system roots
		{ServerName: "wrong.name", CAPem: pki.caPEM, CertPEM: pki.clientCert, KeyPEM: pki.clientKey},
	}
	for i, tc := range bad {
		c, err := consul.NewClient(consul.Config{Address: srv.URL, TLS: tc})
		require.NoError(t, err, i)
		_, _, err = c.Status.Leader(ctx)
		require.Error(t, err, i)
	}
	// Without a client certificate the server refuses the handshake.
	c, err := consul.NewClient(consul.Config{Address: srv.URL, TLS: consul.TLSConfig{ServerName: "server.dc1.consul", CAPem: pki.caPEM}})
	require.NoError(t, err)
	_, _, err = c.Status.Leader(ctx)
	require.Error(t, err)

	_, err = consul.NewClient(consul.Config{Address: srv.URL, TLS: consul.TLSConfig{CAPem: []byte("not pem")}})
	assert.Error(t, err)
	_, err = consul.NewClient(consul.Config{Address: srv.URL, TLS: consul.TLSConfig{CertFile: "/nope.pem", KeyFile: "/nope.key"}})
	assert.Error(t, err)
}
