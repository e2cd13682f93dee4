package connect_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawGet sends one HTTP/1.1 request on an established connection and
// returns the body: the connection stays open for the next.
func rawGet(conn net.Conn, br *bufio.Reader) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: db\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// The CA rotates mid-test (Consul's built-in provider given a new key
// size, which makes a new root cross-signed by the old one): calls on new
// connections keep succeeding across the rotation, each service ends up
// with a new leaf signed by the new root without a restart, the client
// sees the server present the new leaf (by serial, its issuer the new
// root's key) and the server sees the client's new leaf; a connection
// opened before the rotation still works after it.
func TestCARotation(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := consultest.NewServer(t, consultest.Config{})
	client := newClient(t, agent.HTTPAddr)
	db := newService(t, ctx, client, "db")
	startMeshServer(t, ctx, client, db)
	web := newService(t, ctx, client, "web")
	oldRoot := web.Roots().ActiveRootID
	oldDB, oldWeb := db.Leaf().SerialNumber, web.Leaf().SerialNumber

	// A connection from before the rotation.
	early, err := web.Dial(ctx, "db")
	require.NoError(t, err)
	defer early.Close()
	earlyR := bufio.NewReader(early)
	body, err := rawGet(early, earlyR)
	require.NoError(t, err)
	require.Equal(t, "db to web "+oldWeb, body)

	// The serial and issuer of the leaf the server presents, as the client
	// sees it.
	var (
		mu                     sync.Mutex
		seenSerial, seenIssuer string
	)
	seen := func() (string, string) {
		mu.Lock()
		defer mu.Unlock()
		return seenSerial, seenIssuer
	}
	hc := &http.Client{Transport: &http.Transport{DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		conn, err := web.Dial(ctx, "db")
		if err != nil {
			return nil, err
		}
		cs := conn.(*tls.Conn).ConnectionState()
		mu.Lock()
		seenSerial = colonHex(cs.PeerCertificates[0].SerialNumber.Bytes())
		seenIssuer = colonHex(cs.PeerCertificates[0].AuthorityKeyId)
		mu.Unlock()
		return conn, nil
	}}}
	defer hc.CloseIdleConnections()
	call := func() (string, error) { return get(ctx, hc, "db") }
	_, err = call()
	require.NoError(t, err)
	serial, _ := seen()
	require.Equal(t, oldDB, serial)

	require.NoError(t, client.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{
		Provider: "consul",
		Config:   map[string]any{"LeafCertTTL": "72h", "PrivateKeyType": "ec", "PrivateKeyBits": 384},
	}))
	rotated := time.Now()
	roots, _, err := client.Connect.CARoots(ctx)
	require.NoError(t, err)
	newRoot := roots.Active()
	require.NotNil(t, newRoot)
	require.NotEqual(t, oldRoot, newRoot.ID, "the CA rotated")

	// Calls on new connections every 100ms until both sides use leaves of
	// the new root (the agent renews each leaf within 30s of a rotation,
	// at a random time); none may fail.
	calls, failures := 0, 0
	var lastErr error
	deadline := rotated.Add(60 * time.Second)
	for {
		body, err := call()
		calls++
		if err != nil {
			failures++
			lastErr = err
		}
		serial, issuer := seen()
		done := err == nil &&
			db.Leaf().SerialNumber != oldDB && web.Leaf().SerialNumber != oldWeb &&
			serial == db.Leaf().SerialNumber && issuer == newRoot.SigningKeyID &&
			body == "db to web "+web.Leaf().SerialNumber
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("rotation: %d calls over %s, %d failed (last error: %v)", calls, time.Since(rotated).Round(time.Millisecond), failures, lastErr)
	require.Zero(t, failures, "calls failed during the rotation")
	require.NotEqual(t, oldDB, db.Leaf().SerialNumber, "db's leaf was renewed")
	require.NotEqual(t, oldWeb, web.Leaf().SerialNumber, "web's leaf was renewed")
	serial, issuer := seen()
	assert.Equal(t, db.Leaf().SerialNumber, serial, "the client sees db's new leaf")
	assert.Equal(t, newRoot.SigningKeyID, issuer, "db's new leaf is signed by the new root")
	for _, s := range []*connect.Service{db, web} {
		assert.Equal(t, newRoot.ID, s.Roots().ActiveRootID)
		ids := []string{}
		for _, r := range s.Roots().Roots {
			ids = append(ids, r.ID)
		}
		assert.True(t, slices.Contains(ids, oldRoot), "the old root is still trusted")
		leaf, err := x509.ParseCertificate(mustDER(t, s.Leaf().CertPEM))
		require.NoError(t, err)
		assert.Equal(t, newRoot.SigningKeyID, colonHex(leaf.AuthorityKeyId))
	}

	// The connection from before the rotation was not cut.
	body, err = rawGet(early, earlyR)
	require.NoError(t, err)
	assert.Equal(t, "db to web "+oldWeb, body, "the early connection keeps the certificates of its handshake")
}

// mustDER returns the DER of the first certificate of a PEM chain.
func mustDER(t testing.TB, certPEM string) []byte {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	require.NotNil(t, block, "PEM")
	return block.Bytes
}
