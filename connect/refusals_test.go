package connect_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peerCase is a certificate a peer presents, and what the refusal says.
type peerCase struct {
	name   string
	cert   []tls.Certificate
	reason string // in the *PeerCertError's message
	check  func(t *testing.T, err error)
}

// Malformed and expired peer certificates are refused with a clear error,
// on both sides of the handshake. The agent's CA is Consul's built-in
// provider given a root whose key the test holds, so that the bad
// certificates are signed by a root the mesh trusts, and a good one
// minted the same way is accepted (the control).
func TestRefusals(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := consultest.NewServer(t, consultest.Config{})
	client := newClient(t, agent.HTTPAddr)
	roots, _, err := client.Connect.CARoots(ctx)
	require.NoError(t, err)
	td := roots.TrustDomain
	ca := newTestCA(t, td)
	require.NoError(t, client.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{
		Provider: "consul",
		Config:   map[string]any{"LeafCertTTL": "72h", "PrivateKey": ca.keyPEM, "RootCert": ca.certPEM},
	}))
	db := newService(t, ctx, client, "db")
	web := newService(t, ctx, client, "web")
	for _, s := range []*connect.Service{db, web} {
		leaf, err := x509.ParseCertificate(mustDER(t, s.Leaf().CertPEM))
		require.NoError(t, err)
		require.NoError(t, leaf.CheckSignatureFrom(ca.cert), "the services' leaves come from the test's CA")
	}

	leaf := func(spec leafSpec) []tls.Certificate {
		der, key, _, _ := ca.mint(t, spec)
		return []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}
	}
	isExpired := func(t *testing.T, err error) {
		var ie x509.CertificateInvalidError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, x509.Expired, ie.Reason)
	}
	notServiceID := func(t *testing.T, err error) { assert.ErrorIs(t, err, connect.ErrNotServiceID) }
	unknownCA := func(t *testing.T, err error) {
		var ue x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &ue)
	}
	other := newTestCA(t, td)
	otherDER, otherKey, _, _ := other.mint(t, leafSpec{uris: []string{svcURI(td, "dc1", "web")}})
	badCases := func(self string) []peerCase {
		return []peerCase{
			{name: "expired", cert: leaf(leafSpec{uris: []string{svcURI(td, "dc1", self)},
				notBefore: time.Now().Add(-2 * time.Hour), notAfter: time.Now().Add(-time.Hour)}),
				reason: "expired or not yet valid", check: isExpired},
			{name: "not yet valid", cert: leaf(leafSpec{uris: []string{svcURI(td, "dc1", self)},
				notBefore: time.Now().Add(time.Hour), notAfter: time.Now().Add(2 * time.Hour)}),
				reason: "expired or not yet valid", check: isExpired},
			{name: "no URI SAN", cert: leaf(leafSpec{}), reason: "no service SPIFFE ID", check: notServiceID},
			{name: "two URI SANs", cert: leaf(leafSpec{uris: []string{svcURI(td, "dc1", self), svcURI(td, "dc1", "other")}}),
				reason: "no service SPIFFE ID", check: notServiceID},
			{name: "an agent's SPIFFE ID", cert: leaf(leafSpec{uris: []string{"spiffe://" + td + "/agent/client/dc/dc1/id/node1"}}),
				reason: "no service SPIFFE ID", check: notServiceID},
			{name: "not spiffe", cert: leaf(leafSpec{uris: []string{"https://" + td + "/ns/default/dc/dc1/svc/" + self}}),
				reason: "no service SPIFFE ID", check: notServiceID},
			{name: "another trust domain", cert: leaf(leafSpec{uris: []string{svcURI("11111111-2222-3333-4444-555555555555.consul", "dc1", self)}}),
				reason: "trust domain"},
			{name: "another CA", cert: []tls.Certificate{{Certificate: [][]byte{otherDER}, PrivateKey: otherKey}},
				reason: "not signed by the Consul CA", check: unknownCA},
		}
	}

	t.Run("server side", func(t *testing.T) {
		good := leaf(leafSpec{uris: []string{svcURI(td, "dc1", "web")}})
		require.NoError(t, serverHandshake(t, db.ServerTLSConfig(), &tls.Config{InsecureSkipVerify: true, Certificates: good}),
			"the control: a leaf minted by the test's CA is accepted")
		for _, c := range badCases("web") {
			t.Run(c.name, func(t *testing.T) {
				err := serverHandshake(t, db.ServerTLSConfig(), &tls.Config{InsecureSkipVerify: true, Certificates: c.cert})
				requireRefusal(t, err, c)
			})
		}
	})

	t.Run("client side", func(t *testing.T) {
		good := leaf(leafSpec{uris: []string{svcURI(td, "dc1", "db")}})
		require.NoError(t, clientHandshake(t, &tls.Config{Certificates: good}, web.ClientTLSConfig("db")),
			"the control: a leaf minted by the test's CA is accepted")
		cases := append(badCases("db"), peerCase{name: "another service", cert: good, reason: "not service other"})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				target := "db"
				if c.name == "another service" {
					target = "other"
				}
				err := clientHandshake(t, &tls.Config{Certificates: c.cert}, web.ClientTLSConfig(target))
				requireRefusal(t, err, c)
			})
		}
	})
}

func requireRefusal(t *testing.T, err error, c peerCase) {
	t.Helper()
	require.Error(t, err)
	var pe *connect.PeerCertError
	require.ErrorAs(t, err, &pe, "%v", err)
	assert.Contains(t, err.Error(), c.reason)
	t.Logf("%s: %v", c.name, err)
	if c.check != nil {
		c.check(t, err)
	}
}

// serverHandshake runs a handshake between a server with server's config
// and a client with client's, over loopback TCP, and returns the
// server's error.
func serverHandshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	srvErr, _ := handshakePair(t, server, client)
	return srvErr
}

// clientHandshake returns the client's error of such a handshake.
func clientHandshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	_, cliErr := handshakePair(t, server, client)
	return cliErr
}

func handshakePair(t *testing.T, server, client *tls.Config) (srvErr, cliErr error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		sc := tls.Server(c, server)
		err = sc.HandshakeContext(ctx)
		if err == nil {
			_, err = sc.Write([]byte("k"))
		}
		done <- err
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer raw.Close()
	conn := tls.Client(raw, client)
	cliErr = conn.HandshakeContext(ctx)
	if cliErr == nil {
		// With TLS 1.3 the client's side ends first: a refusal by the
		// server arrives at the first read, instead of the server's byte.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, cliErr = conn.Read(make([]byte, 1))
	}
	return <-done, cliErr
}
