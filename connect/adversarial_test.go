package connect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"testing"
	"time"
	"unicode"

	"github.com/goconsul/consul/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileCert returns a certificate signed by ca whose subject and URI
// SANs are chosen by a hostile peer.
func hostileCert(t *testing.T, ca *testCA, cn string, uris ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"org\r\nX-Injected: 1"}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	for _, u := range uris {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// requireNoControl fails when s holds a character that is not printable
// (a newline, an escape, a C1 control, a line separator...).
func requireNoControl(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		require.True(t, unicode.IsPrint(r), "a non-printable %U in %q", r, s)
	}
}

// Text that a hostile peer writes in its certificate (its subject, its
// SPIFFE ID) cannot put newlines or other control characters into the
// errors of a handshake, on either side: an error is one line in a log.
func TestAdversarialPeerTextIsEscaped(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := newFakeAgent(t)
	agent.setLeaf("db", time.Now().Add(time.Hour))
	db := newService(t, ctx, agent.client(t), "db")
	other := newTestCA(t, agent.td)
	evil := "evil\nlevel=ERROR msg=forged\x1b[2J\u0085\u2028"

	cases := map[string]tls.Certificate{
		"another CA, no URI":    hostileCert(t, other, evil),
		"another CA, with URI":  hostileCert(t, other, evil, svcURI(agent.td, "dc1", "web")),
		"the CA, no URI":        hostileCert(t, agent.ca, evil),
		"the CA, escaped path":  hostileCert(t, agent.ca, evil, svcURI(agent.td, "dc1", "we%0Ab%1B%5B2J")),
		"the CA, escaped ns":    hostileCert(t, agent.ca, evil, "spiffe://"+agent.td+"/ns/a%0Ab/dc/dc1/svc/web"),
		"the CA, two URIs":      hostileCert(t, agent.ca, evil, svcURI(agent.td, "dc1", "a%0Ab"), svcURI(agent.td, "dc1", "web")),
		"the CA, non-spiffe ID": hostileCert(t, agent.ca, evil, "urn:x%0Ay"),
	}
	for name, cert := range cases {
		t.Run(name, func(t *testing.T) {
			srvErr, _ := handshakePair(t, db.ServerTLSConfig(), &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
			require.Error(t, srvErr)
			requireNoControl(t, srvErr.Error())
			var pe *connect.PeerCertError
			if errors.As(srvErr, &pe) {
				requireNoControl(t, pe.Peer)
				requireNoControl(t, pe.Reason)
			}

			_, cliErr := handshakePair(t, &tls.Config{Certificates: []tls.Certificate{cert}}, db.ClientTLSConfig("web"))
			require.Error(t, cliErr)
			requireNoControl(t, cliErr.Error())
		})
	}
}

// A service SPIFFE ID whose segments or trust domain decode to control
// characters (or to bytes that are not UTF-8) is not a service's ID:
// PeerServiceID never hands such a name to a handler that logs it.
func TestAdversarialServiceIDControlCharacters(t *testing.T) {
	for _, uri := range []string{
		"spiffe://td.consul/ns/default/dc/dc1/svc/we%0Ab",
		"spiffe://td.consul/ns/default/dc/dc1/svc/web%0D",
		"spiffe://td.consul/ns/de%1Bfault/dc/dc1/svc/web",
		"spiffe://td.consul/ns/default/dc/d%00c/svc/web",
		"spiffe://td.consul/ap/p%0A/ns/default/dc/dc1/svc/web",
		"spiffe://td.consul/ns/default/dc/dc1/svc/a%C2%85b",
		"spiffe://td.consul/ns/default/dc/dc1/svc/a%E2%80%A8b",
		"spiffe://td.consul/ns/default/dc/dc1/svc/a%FFb",
		"spiffe://td%C2%85.consul/ns/default/dc/dc1/svc/web",
	} {
		_, err := connect.ParseServiceID(uri)
		require.ErrorIs(t, err, connect.ErrNotServiceID, "%q", uri)
		requireNoControl(t, err.Error())

		u, perr := url.Parse(uri)
		require.NoError(t, perr)
		_, err = connect.PeerServiceID(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{{URIs: []*url.URL{u}}}})
		require.ErrorIs(t, err, connect.ErrNotServiceID, "%q", uri)
	}
	// A non-ASCII name that prints is a name.
	id, err := connect.ParseServiceID("spiffe://td.consul/ns/default/dc/dc1/svc/caf%C3%A9")
	require.NoError(t, err)
	assert.Equal(t, "café", id.Service)
}

// A connection state whose peer certificate is nil is an error, not a
// panic.
func TestAdversarialPeerServiceIDNilCertificate(t *testing.T) {
	_, err := connect.PeerServiceID(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{nil}})
	require.ErrorIs(t, err, connect.ErrNotServiceID)
}

// A zero Service (not made by NewService) and a nil *Service panic
// nowhere: they are never ready, their handshakes and dials fail with an
// error matching ErrNotReady, WaitReady returns that error at once, and
// Close returns nil.
func TestAdversarialZeroService(t *testing.T) {
	for name, s := range map[string]*connect.Service{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			assert.False(t, s.Ready())
			assert.Nil(t, s.Leaf())
			assert.Nil(t, s.Roots())
			assert.Equal(t, connect.ServiceID{}, s.ID())
			assert.Equal(t, "", s.Name())
			assert.NoError(t, s.Err())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.ErrorIs(t, s.WaitReady(ctx), connect.ErrNotReady)
			require.NoError(t, ctx.Err(), "WaitReady waited for what never comes")
			_, err := s.Dial(ctx, "db")
			require.ErrorIs(t, err, connect.ErrNotReady)
			require.NoError(t, ctx.Err())

			good := selfSigned(t, svcURI("td.consul", "dc1", "web"))
			srvErr, _ := handshakePair(t, s.ServerTLSConfig(), &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{good}})
			require.ErrorIs(t, srvErr, connect.ErrNotReady)
			_, cliErr := handshakePair(t, &tls.Config{Certificates: []tls.Certificate{good}}, s.ClientTLSConfig("web"))
			require.ErrorIs(t, cliErr, connect.ErrNotReady)

			resp, err := s.HTTPClient().Get("https://db.service.consul/")
			if err == nil {
				resp.Body.Close()
			}
			require.ErrorIs(t, err, connect.ErrNotReady)
			require.NoError(t, s.Close())
			require.NoError(t, s.Close())
		})
	}
}
