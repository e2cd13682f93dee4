package connect

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAuthorizer answers POST /v1/agent/connect/authorize with its
// current decision, or with its status when set, and counts the requests.
type fakeAuthorizer struct {
	allow  atomic.Bool
	status atomic.Int64
	calls  atomic.Int64
	body   sync.Map // ClientCertURI -> the last request
}

func (f *fakeAuthorizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	var req consul.AgentAuthorizeRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.body.Store(req.ClientCertURI, req)
	if s := f.status.Load(); s != 0 {
		http.Error(w, http.StatusText(int(s)), int(s))
		return
	}
	fmt.Fprintf(w, `{"Authorized":%v,"Reason":"fake decision"}`, f.allow.Load())
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestAuthz(t *testing.T, ttl, maxStale time.Duration) (*authzCache, *fakeAuthorizer, *fakeClock) {
	f := &fakeAuthorizer{}
	f.allow.Store(true)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client, err := consul.NewClient(consul.Config{Address: srv.Listener.Addr().String()})
	require.NoError(t, err)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	return &authzCache{client: client, target: "db", ttl: ttl, maxStale: maxStale, now: clock.Now, m: map[string]*authzEntry{}}, f, clock
}

func testPeer(name string, serial int64) (ServiceID, *x509.Certificate) {
	id := ServiceID{TrustDomain: "td.consul", Partition: "default", Namespace: "default", Datacenter: "dc1", Service: name}
	u, _ := url.Parse(id.String())
	return id, &x509.Certificate{URIs: []*url.URL{u}, SerialNumber: big.NewInt(serial)}
}

// The cache's rules, on a fake clock: a decision serves for the TTL; the
// request carries the target, the client's URI and its serial as Consul
// writes it; while the agent fails (5xx), the last decision stands until
// maxStale after Consul gave it, then the client is refused with the
// agent's error; a client never seen is refused; a 403 refuses at once;
// a deny is an error matching ErrNotAuthorized with Consul's reason.
func TestAuthzCacheRules(t *testing.T) {
	ctx := context.Background()
	c, f, clock := newTestAuthz(t, 5*time.Second, time.Minute)
	id, cert := testPeer("web", 0x1fa0)
	require.NoError(t, c.authorize(ctx, id, cert))
	v, ok := f.body.Load(id.String())
	require.True(t, ok)
	assert.Equal(t, consul.AgentAuthorizeRequest{Target: "db", ClientCertURI: id.String(), ClientCertSerial: "1f:a0"}, v)

	clock.Add(4 * time.Second)
	require.NoError(t, c.authorize(ctx, id, cert))
	assert.Equal(t, int64(1), f.calls.Load(), "within the TTL")

	f.allow.Store(false)
	clock.Add(2 * time.Second)
	err := c.authorize(ctx, id, cert)
	require.ErrorIs(t, err, ErrNotAuthorized)
	assert.Contains(t, err.Error(), "fake decision")
	assert.Equal(t, int64(2), f.calls.Load())

	// Allowed again; then the agent fails: the allow stands until
	// maxStale after Consul gave it.
	f.allow.Store(true)
	clock.Add(6 * time.Second)
	require.NoError(t, c.authorize(ctx, id, cert))
	f.status.Store(http.StatusInternalServerError)
	clock.Add(30 * time.Second)
	require.NoError(t, c.authorize(ctx, id, cert), "the last decision stands while the agent fails")
	clock.Add(29 * time.Second)
	require.NoError(t, c.authorize(ctx, id, cert))
	clock.Add(2 * time.Second)
	err = c.authorize(ctx, id, cert)
	require.Error(t, err, "older than maxStale")
	require.NotErrorIs(t, err, ErrNotAuthorized)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)

	other, ocert := testPeer("other", 7)
	require.Error(t, c.authorize(ctx, other, ocert), "never seen: refused while the agent fails")

	// A 403 refuses at once, whatever was decided before.
	f.status.Store(0)
	clock.Add(time.Minute)
	require.NoError(t, c.authorize(ctx, id, cert))
	f.status.Store(http.StatusForbidden)
	clock.Add(6 * time.Second)
	require.ErrorIs(t, c.authorize(ctx, id, cert), consul.ErrPermissionDenied)

	// maxStale 0: the agent failing refuses once the TTL passed.
	c0, f0, clock0 := newTestAuthz(t, 5*time.Second, 0)
	require.NoError(t, c0.authorize(ctx, id, cert))
	f0.status.Store(http.StatusServiceUnavailable)
	clock0.Add(6 * time.Second)
	require.Error(t, c0.authorize(ctx, id, cert))
}

// Concurrent handshakes of one client share one request, and the cache
// holds at most authzMaxEntries clients, however many connect.
func TestAuthzCacheSharedAndBounded(t *testing.T) {
	ctx := context.Background()
	c, f, clock := newTestAuthz(t, 5*time.Second, time.Minute)
	id, cert := testPeer("web", 1)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, c.authorize(ctx, id, cert))
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(1), f.calls.Load(), "20 concurrent handshakes, one request")

	for i := range authzMaxEntries + 500 {
		id, cert := testPeer(fmt.Sprintf("client-%d", i), int64(i))
		require.NoError(t, c.authorize(ctx, id, cert))
		if i%1000 == 0 {
			clock.Add(time.Second)
		}
	}
	c.mu.Lock()
	n := len(c.m)
	c.mu.Unlock()
	assert.LessOrEqual(t, n, authzMaxEntries)
}

// TestAuthorizeAfterCloseNotAdmittedByStaleDecision: once the Service is
// closed (its context ended), a decision past its TTL is not extended as
// if the agent could not answer: the handshake is refused.
func TestAuthorizeAfterCloseNotAdmittedByStaleDecision(t *testing.T) {
	c, f, clock := newTestAuthz(t, 5*time.Second, time.Minute)
	id, cert := testPeer("web", 7)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, c.authorize(ctx, id, cert))
	clock.Add(6 * time.Second) // past the TTL, within maxStale
	cancel()                   // the Service is closed
	err := c.authorize(ctx, id, cert)
	require.ErrorIs(t, err, context.Canceled, "admitted after the Service closed (agent calls: %d)", f.calls.Load())
}

// TestAuthzCacheBoundedWhileRequestsInFlight: while the agent is slow,
// clients beyond the bound are refused, not added.
func TestAuthzCacheBoundedWhileRequestsInFlight(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprint(w, `{"Authorized":true,"Reason":"ok"}`)
	}))
	defer srv.Close()
	client, err := consul.NewClient(consul.Config{Address: srv.Listener.Addr().String()})
	require.NoError(t, err)
	c := &authzCache{client: client, target: "db", ttl: 5 * time.Second, maxStale: time.Minute, now: time.Now, m: map[string]*authzEntry{}}
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := 0; i < authzMaxEntries+500; i++ {
		id, cert := testPeer(fmt.Sprintf("web%d", i), int64(i+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errors.Is(c.authorize(context.Background(), id, cert), errTooManyPending) {
				refused.Add(1)
			}
		}()
	}
	// Every client beyond the bound must be refused while the first ones
	// wait on the agent. The wait is for the goroutines to have run (a
	// loaded machine schedules them late); once the agent answers, a late
	// client may rightly take the place of an answered one.
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.m) == authzMaxEntries && refused.Load() == 500
	}, 30*time.Second, 10*time.Millisecond, "the clients beyond the bound were not all refused")
	time.Sleep(100 * time.Millisecond)
	c.mu.Lock()
	size := len(c.m)
	c.mu.Unlock()
	got := refused.Load()
	close(release)
	wg.Wait()
	require.LessOrEqual(t, size, authzMaxEntries, "entries while requests are in flight")
	require.Equal(t, int32(500), got, "the clients beyond the bound")
	require.Equal(t, int32(500), refused.Load(), "refused after the agent answered")
}
