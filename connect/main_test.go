package connect_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/require"
)

// The shared agent, started on first use; tests that stop an agent or
// change its CA start their own.
var sharedAgent = consultest.NewSharedServer(consultest.Config{})

func TestMain(m *testing.M) {
	os.Exit(sharedAgent.Run(m))
}

func testAgent(t testing.TB) *consultest.Server {
	t.Helper()
	return sharedAgent.Server(t)
}

func newClient(t testing.TB, addr string, cfg ...consul.Config) *consul.Client {
	t.Helper()
	var c consul.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Address = addr
	client, err := consul.NewClient(c)
	require.NoError(t, err)
	return client
}

// testCtx ends with the test, and after two minutes at most.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var nameSeq atomic.Int64

// uniqueName returns a service name of its own: tests on the shared agent
// do not see each other's services or intentions.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, nameSeq.Add(1))
}

// waitFor polls cond every 10ms until it holds, failing the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func newService(t testing.TB, ctx context.Context, client *consul.Client, name string, opts ...connect.Option) *connect.Service {
	t.Helper()
	svc, err := connect.NewService(ctx, client, name, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(ctx))
	return svc
}

// logBuffer collects an http.Server's error log (the handshakes refused).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// meshServer is a Connect-native HTTP server of a service: it answers
// "<service> to <caller service> <caller cert serial>" and is registered
// with the agent as a Connect-native instance with a passing TTL check.
type meshServer struct {
	svc    *connect.Service
	addr   string
	errLog *logBuffer
}

func startMeshServer(t testing.TB, ctx context.Context, client *consul.Client, svc *connect.Service) *meshServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ms := &meshServer{svc: svc, addr: l.Addr().String(), errLog: &logBuffer{}}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := connect.PeerServiceID(r.TLS)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%s to %s %s", svc.Name(), id.Service, colonHex(r.TLS.PeerCertificates[0].SerialNumber.Bytes()))
		}),
		TLSConfig:         svc.ServerTLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(ms.errLog, "", 0),
	}
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })

	reg, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{
		Name: svc.Name(), ID: svc.Name() + "-" + fmt.Sprint(l.Addr().(*net.TCPAddr).Port),
		Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
		Connect: &consul.AgentServiceConnect{Native: true},
	}, discovery.WithTTL(10*time.Second), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })
	waitFor(t, 10*time.Second, "the instance passing in /v1/health/connect", func() bool {
		entries, _, err := client.Health.ListConnectInstances(ctx, svc.Name(), consul.Passing())
		return err == nil && len(entries) > 0
	})
	return ms
}

// get sends a GET to https://<service>.service.consul/ on a new
// connection and returns the body.
func get(ctx context.Context, hc *http.Client, service string) (string, error) {
	hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+service+".service.consul/", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}

// testCA is a CA whose key the test holds: given to Consul's built-in
// provider as its PrivateKey and RootCert, it lets the test mint leaves
// that the mesh trusts (expired ones, malformed ones...).
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string
	keyPEM  string
}

func newTestCA(t testing.TB, trustDomain string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "goconsul test CA " + trustDomain},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: trustDomain}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return &testCA{
		cert: cert, key: key,
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
	}
}

// leafSpec describes a leaf to mint.
type leafSpec struct {
	uris      []string
	notBefore time.Time
	notAfter  time.Time
}

// mint returns a leaf signed by the CA (for client and server auth) as
// DER and PEM, with its key.
func (ca *testCA) mint(t testing.TB, spec leafSpec) (der []byte, key *ecdsa.PrivateKey, certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	if spec.notBefore.IsZero() {
		spec.notBefore = time.Now().Add(-time.Minute)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = time.Now().Add(time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    spec.notBefore,
		NotAfter:     spec.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	for _, u := range spec.uris {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	if len(spec.uris) == 0 {
		tmpl.Subject = pkix.Name{CommonName: "no-spiffe-id"}
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return der, key,
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func svcURI(td, dc, name string) string {
	return fmt.Sprintf("spiffe://%s/ns/default/dc/%s/svc/%s", td, dc, name)
}
