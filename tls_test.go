package consul_test

import (
	"context"
	"errors"
	"testing"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TLS against a real agent that serves HTTPS only, with verify_incoming: a
// client needs the agent's CA (or skip-verify), the server name in the
// agent's certificate (it names no IP address) and a client certificate of
// the CA.

// tlsRoundTrip writes and reads a key through c and checks that the agent
// that answered is srv; it returns the first error.
func tlsRoundTrip(ctx context.Context, t *testing.T, srv *consultest.Server, c *consul.Client) error {
	t.Helper()
	key := uniq(t, "k")
	if err := c.KV.Put(ctx, key, []byte("over tls")); err != nil {
		return err
	}
	pair, _, err := c.KV.Get(ctx, key)
	if err != nil {
		return err
	}
	require.NotNil(t, pair)
	require.Equal(t, "over tls", string(pair.Value))
	self, _, err := c.Agent.Self(ctx)
	if err != nil {
		return err
	}
	require.Equal(t, srv.NodeName, self.Config.NodeName)
	return nil
}

// requireTLSRefused checks that err is a refusal at the TLS layer: no
// status came back from Consul.
func requireTLSRefused(t *testing.T, err error, contains string) {
	t.Helper()
	require.Error(t, err)
	var se *consul.StatusError
	require.False(t, errors.As(err, &se), "refused before any answer, got %v", err)
	if contains != "" {
		require.ErrorContains(t, err, contains)
	}
}

func TestTLSRealAgent(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{TLS: true})
	require.NotNil(t, srv.TLS)
	require.Empty(t, srv.HTTPAddr, "the plain HTTP port is off")
	require.Equal(t, "https://"+srv.HTTPSAddr, srv.Address)
	f := srv.TLS
	ctx := testCtx(t)
	connect := func(t *testing.T, cfg consul.Config) *consul.Client {
		t.Helper()
		if cfg.Address == "" {
			cfg.Address = srv.Address
		}
		c, err := consul.NewClient(cfg)
		require.NoError(t, err)
		return c
	}

	accepted := map[string]consul.TLSConfig{
		"CA file and client certificate files": {CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile, ServerName: f.ServerName},
		"CA dir and client certificate PEM":    {CAPath: f.CADir, CertPEM: f.CertPEM, KeyPEM: f.KeyPEM, ServerName: f.ServerName},
		"CA PEM and client certificate files":  {CAPem: f.CAPEM, CertFile: f.CertFile, KeyFile: f.KeyFile, ServerName: f.ServerName},
		"skip-verify and client certificate":   {InsecureSkipVerify: true, CertPEM: f.CertPEM, KeyPEM: f.KeyPEM},
	}
	for name, tc := range accepted {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, tlsRoundTrip(ctx, t, srv, connect(t, consul.Config{TLS: tc})))
		})
	}

	t.Run("https scheme from Config.Scheme", func(t *testing.T) {
		c := connect(t, consul.Config{Address: srv.HTTPSAddr, Scheme: "https",
			TLS: consul.TLSConfig{CAPem: f.CAPEM, CertPEM: f.CertPEM, KeyPEM: f.KeyPEM, ServerName: f.ServerName}})
		require.NoError(t, tlsRoundTrip(ctx, t, srv, c))
	})

	t.Run("no client certificate is refused", func(t *testing.T) {
		c := connect(t, consul.Config{TLS: consul.TLSConfig{CAFile: f.CAFile, ServerName: f.ServerName}})
		before := len(srv.Requests())
		_, _, err := c.Status.Leader(ctx)
		// With TLS 1.3 the agent refuses the missing certificate after the
		// handshake: the client sees "certificate required" or a broken
		// pipe, depending on timing. Either way nothing was served.
		requireTLSRefused(t, err, "")
		assert.Len(t, srv.Requests(), before, "the agent served nothing")
	})
	t.Run("a wrong server name is refused", func(t *testing.T) {
		c := connect(t, consul.Config{TLS: consul.TLSConfig{CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile, ServerName: "server.dc9.consul"}})
		_, _, err := c.Status.Leader(ctx)
		requireTLSRefused(t, err, "server.dc9.consul")
	})
	t.Run("no server name: the certificate names no IP address", func(t *testing.T) {
		c := connect(t, consul.Config{TLS: consul.TLSConfig{CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile}})
		_, _, err := c.Status.Leader(ctx)
		requireTLSRefused(t, err, "IP SANs")
	})
	t.Run("an unknown CA is refused", func(t *testing.T) {
		c := connect(t, consul.Config{TLS: consul.TLSConfig{CertFile: f.CertFile, KeyFile: f.KeyFile, ServerName: f.ServerName}})
		_, _, err := c.Status.Leader(ctx)
		requireTLSRefused(t, err, "unknown authority")
	})
	t.Run("plain HTTP gets no API", func(t *testing.T) {
		c := connect(t, consul.Config{Address: "http://" + srv.HTTPSAddr})
		_, _, err := c.Status.Leader(ctx)
		require.Error(t, err, "an HTTP request to the HTTPS port is not served")
	})
}

func TestTLSConfigFromEnvRealAgent(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{TLS: true})
	f := srv.TLS
	ctx := testCtx(t)
	fromEnv := func(t *testing.T, env map[string]string) error {
		t.Helper()
		for _, k := range []string{"CONSUL_HTTP_ADDR", "CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY", "CONSUL_CACERT",
			"CONSUL_CAPATH", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY", "CONSUL_TLS_SERVER_NAME", "CONSUL_HTTP_TOKEN"} {
			t.Setenv(k, env[k])
		}
		cfg, err := consul.ConfigFromEnv()
		require.NoError(t, err)
		c, err := consul.NewClient(cfg)
		require.NoError(t, err)
		return tlsRoundTrip(ctx, t, srv, c)
	}
	// The address without a scheme: CONSUL_HTTP_SSL makes it HTTPS.
	base := map[string]string{
		"CONSUL_HTTP_ADDR":       srv.HTTPSAddr,
		"CONSUL_HTTP_SSL":        "true",
		"CONSUL_CACERT":          f.CAFile,
		"CONSUL_CLIENT_CERT":     f.CertFile,
		"CONSUL_CLIENT_KEY":      f.KeyFile,
		"CONSUL_TLS_SERVER_NAME": f.ServerName,
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for bk, bv := range base {
			m[bk] = bv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	t.Run("CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME", func(t *testing.T) {
		require.NoError(t, fromEnv(t, base))
	})
	t.Run("CONSUL_CAPATH", func(t *testing.T) {
		m := with("CONSUL_CACERT", "")
		m["CONSUL_CAPATH"] = f.CADir
		require.NoError(t, fromEnv(t, m))
	})
	t.Run("CONSUL_HTTP_SSL_VERIFY=false", func(t *testing.T) {
		m := with("CONSUL_CACERT", "")
		delete(m, "CONSUL_TLS_SERVER_NAME")
		m["CONSUL_HTTP_SSL_VERIFY"] = "false"
		require.NoError(t, fromEnv(t, m))
	})
	t.Run("without CONSUL_HTTP_SSL the address is plain HTTP", func(t *testing.T) {
		err := fromEnv(t, with("CONSUL_HTTP_SSL", ""))
		require.Error(t, err)
	})
	t.Run("without CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY: refused", func(t *testing.T) {
		m := with("CONSUL_CLIENT_CERT", "")
		delete(m, "CONSUL_CLIENT_KEY")
		requireTLSRefused(t, fromEnv(t, m), "")
	})
	t.Run("a wrong CONSUL_TLS_SERVER_NAME: refused", func(t *testing.T) {
		requireTLSRefused(t, fromEnv(t, with("CONSUL_TLS_SERVER_NAME", "localhost.example")), "localhost.example")
	})
	t.Run("without CONSUL_TLS_SERVER_NAME: refused", func(t *testing.T) {
		requireTLSRefused(t, fromEnv(t, with("CONSUL_TLS_SERVER_NAME", "")), "IP SANs")
	})
}

func TestTLSAgentVersionMatchesBinary(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{TLS: true})
	c, err := consul.NewClient(consul.Config{Address: srv.Address, TLS: consul.TLSConfig{
		CAPem: srv.TLS.CAPEM, CertPEM: srv.TLS.CertPEM, KeyPEM: srv.TLS.KeyPEM, ServerName: srv.TLS.ServerName}})
	require.NoError(t, err)
	v, _, err := c.Agent.Version(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, srv.Version, v.HumanVersion)
}
