package consul_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watchTestPair is the JSON answer of GET /v1/kv/k for one value.
func watchTestPair(value string, modify int) string {
	b64 := map[string]string{"a": "YQ==", "b": "Yg==", "c": "Yw==", "d": "ZA==", "e": "ZQ=="}[value]
	return fmt.Sprintf(`[{"Key":"k","CreateIndex":1,"ModifyIndex":%d,"LockIndex":0,"Flags":0,"Value":%q}]`, modify, b64)
}

func watchTestReply(index int, value string) reply {
	return reply{Header: map[string]string{"X-Consul-Index": strconv.Itoa(index)}, Body: watchTestPair(value, index)}
}

// watchTestValues ranges over a watch, collecting values until n are seen
// (errors fail the test).
func watchTestValues(t *testing.T, seq func(func(consul.WatchUpdate[*consul.KVPair], error) bool), n int) []string {
	t.Helper()
	var got []string
	for u, err := range seq {
		require.NoError(t, err)
		if u.Value == nil {
			got = append(got, "<nil>")
		} else {
			got = append(got, string(u.Value.Value))
		}
		if len(got) == n {
			break
		}
	}
	return got
}

// watchTestFast is the options of wire tests: short waits, no pacing.
var watchTestFast = []consul.WatchOption{
	consul.WatchWait(time.Second), consul.WatchMinInterval(0), consul.WatchBackoff(time.Millisecond, 2*time.Millisecond),
}

func TestWatchWireIndexBackwardsResets(t *testing.T) {
	w, c := newWire(t,
		watchTestReply(10, "a"),
		watchTestReply(12, "b"),
		watchTestReply(5, "c"), // backwards: yielded, then a plain read
		watchTestReply(5, "c"), // the plain read: same index, not yielded
		watchTestReply(6, "d"),
	)
	got := watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), watchTestFast...), 4)
	require.Equal(t, []string{"a", "b", "c", "d"}, got)
	reqs := w.requests()
	require.Len(t, reqs, 5)
	reqs[0].expect(t, "GET", "/v1/kv/k", nil) // a plain read: no wait
	reqs[1].expect(t, "GET", "/v1/kv/k", q("wait", "1s", "index", "10"))
	reqs[2].expect(t, "GET", "/v1/kv/k", q("wait", "1s", "index", "12"))
	reqs[3].expect(t, "GET", "/v1/kv/k", nil) // reset to 0: a plain read
	reqs[4].expect(t, "GET", "/v1/kv/k", q("wait", "1s", "index", "5"))
}

// The same index with another value (an agent wiped and restarted between
// two reads replays its first writes) is yielded, with no failure seen in
// between; the same index with the same value (a wait that timed out) is
// not.
func TestWatchWireSameIndexComparedByValue(t *testing.T) {
	_, c := newWire(t,
		watchTestReply(10, "a"),
		watchTestReply(10, "a"), // the wait timed out
		watchTestReply(10, "b"), // another state at the same index
		watchTestReply(11, "c"),
	)
	got := watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), watchTestFast...), 3)
	require.Equal(t, []string{"a", "b", "c"}, got)
}

func TestWatchWireIndexZeroNeverSent(t *testing.T) {
	// An answer without an index (nor a content hash) cannot be blocked
	// on: the watch polls with plain reads, never sending an index of 0,
	// and yields an answer only when its value changed.
	w, c := newWire(t, watchTestReply(0, "a"), watchTestReply(0, "a"), watchTestReply(0, "a"), watchTestReply(0, "b"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	start := time.Now()
	for u, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchPollInterval(50*time.Millisecond), consul.WatchMinInterval(0)) {
		require.NoError(t, err)
		got = append(got, string(u.Value.Value))
		if len(got) == 2 {
			break
		}
	}
	require.Equal(t, []string{"a", "b"}, got, "unchanged values are not yielded")
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "three polls apart")
	for _, r := range w.requests() {
		require.Empty(t, r.Query.Get("index"), "no index is sent")
		require.Empty(t, r.Query.Get("wait"))
	}
	require.Len(t, w.requests(), 4)
}

// A read that cannot block (Status.Leader) is polled: its second request
// is a plain read, not one refused for WaitIndex.
func TestWatchPollsReadsThatCannotBlock(t *testing.T) {
	w, c := newWire(t, reply{Body: `"10.0.0.1:8300"`}, reply{Body: `"10.0.0.1:8300"`}, reply{Body: `"10.0.0.2:8300"`})
	var got []string
	for u, err := range consul.Watch(testCtx(t), c.Status.Leader, consul.WatchPollInterval(10*time.Millisecond)) {
		require.NoError(t, err)
		got = append(got, u.Value)
		if len(got) == 2 {
			break
		}
	}
	require.Equal(t, []string{"10.0.0.1:8300", "10.0.0.2:8300"}, got)
	require.Len(t, w.requests(), 3)
}

// The agent's service endpoint blocks on a content hash, but a service the
// agent does not have answers 404 without one: the watch polls until the
// service appears, then blocks on its hash.
func TestWatchAgentServiceAppears(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	id := uniq(t, "svc")
	t.Cleanup(func() { _ = c.Services.Deregister(context.Background(), id) })
	var got []string
	for u, err := range consul.Watch(ctx, consul.Bind(c.Services.Get, id), consul.WatchPollInterval(100*time.Millisecond), consul.WatchWait(5*time.Second)) {
		require.NoError(t, err)
		switch {
		case u.Value == nil:
			got = append(got, "absent")
			require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{ID: id, Name: id, Port: 80}))
		case u.Value.Port == 80:
			got = append(got, "80")
			require.NotEmpty(t, u.Meta.ContentHash)
			require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{ID: id, Name: id, Port: 81}))
		default:
			got = append(got, strconv.Itoa(u.Value.Port))
		}
		if len(got) == 3 {
			break
		}
	}
	require.Equal(t, []string{"absent", "80", "81"}, got)
}

func TestWatchWireBackoffOn500(t *testing.T) {
	replies := make([]reply, 0, 21)
	for i := 0; i < 20; i++ {
		replies = append(replies, reply{Status: 500, Header: map[string]string{"X-Consul-Index": "7"}, Body: "rpc error"})
	}
	replies = append(replies, watchTestReply(8, "a"))
	w, c := newWire(t, replies...)
	start := time.Now()
	errs := 0
	for u, err := range consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"),
		consul.WatchWait(time.Second), consul.WatchMinInterval(0), consul.WatchBackoff(10*time.Millisecond, 80*time.Millisecond)) {
		if err != nil {
			errs++
			var se *consul.StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, 500, se.StatusCode)
			require.NotNil(t, u.Meta, "the failed answer's Meta is passed on")
			require.Equal(t, uint64(7), u.Meta.Index)
			continue
		}
		require.Equal(t, "a", string(u.Value.Value))
		break
	}
	elapsed := time.Since(start)
	require.Equal(t, 20, errs, "every error is yielded and the loop goes on")
	// Exactly one request per failure: the backoff (10ms doubling to 80ms,
	// jittered to [d/2, d]) waits at least 5+10+20+17*40 = 715ms over the
	// 20 failures, and at most 10+20+40+17*80 = 1430ms, so the request rate
	// stays under one per 40ms once the backoff has grown.
	require.Len(t, w.requests(), 21)
	require.GreaterOrEqual(t, elapsed, 715*time.Millisecond)
	require.Less(t, elapsed, 5*time.Second)
}

func TestWatchWirePermanentErrorEnds(t *testing.T) {
	w, c := newWire(t, reply{Status: 403, Body: "Permission denied"})
	n := 0
	for _, err := range consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), watchTestFast...) {
		require.ErrorIs(t, err, consul.ErrPermissionDenied)
		n++
	}
	require.Equal(t, 1, n)
	require.Len(t, w.requests(), 1)
}

func TestWatchWireRetryAfter(t *testing.T) {
	w, c := newWire(t,
		reply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: "rate limit exceeded"},
		watchTestReply(3, "a"))
	var errAt, valAt time.Time
	opts := []consul.WatchOption{consul.WatchMinInterval(0), consul.WatchBackoff(time.Millisecond, 3*time.Second)}
	for u, err := range consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), opts...) {
		if err != nil {
			require.ErrorIs(t, err, consul.ErrRateLimited)
			errAt = time.Now()
			continue
		}
		valAt = time.Now()
		require.Equal(t, "a", string(u.Value.Value))
		break
	}
	require.False(t, errAt.IsZero())
	require.GreaterOrEqual(t, valAt.Sub(errAt), time.Second, "Retry-After: 1 is honoured over a 1ms backoff")
	require.Len(t, w.requests(), 2)
}

// A Retry-After longer than the backoff's maximum is waited only up to the
// maximum: one 503 asking for an hour must not silence a watch (or a cache)
// configured to come back within 200ms.
func TestWatchWireRetryAfterCappedByMaxBackoff(t *testing.T) {
	for _, ra := range []string{"3600", "86400", "18446744073709551615", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		t.Run(ra, func(t *testing.T) {
			w, c := newWire(t,
				reply{Status: 503, Header: map[string]string{"Retry-After": ra}, Body: "busy"},
				watchTestReply(3, "a"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			var got string
			for u, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchMinInterval(0), consul.WatchBackoff(100*time.Millisecond, 200*time.Millisecond)) {
				if err != nil {
					var se *consul.StatusError
					require.ErrorAs(t, err, &se)
					require.Equal(t, 503, se.StatusCode)
					continue
				}
				got = string(u.Value.Value)
				break
			}
			require.Equal(t, "a", got, "the watch came back before its context ended")
			require.Less(t, time.Since(start), 2*time.Second, "Retry-After waited at most the 200ms maximum backoff")
			require.Len(t, w.requests(), 2)
		})
	}
}

// The cache shares the watch loop: the same cap holds for it.
func TestCacheWireRetryAfterCappedByMaxBackoff(t *testing.T) {
	_, c := newWire(t,
		reply{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: "rate limit exceeded"},
		watchTestReply(3, "a"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cache := consul.NewCache(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchMinInterval(0), consul.WatchBackoff(50*time.Millisecond, 200*time.Millisecond))
	defer cache.Close()
	start := time.Now()
	require.NoError(t, cache.WaitReady(ctx))
	require.Less(t, time.Since(start), 2*time.Second)
	v, _, ok := cache.Snapshot()
	require.True(t, ok)
	require.Equal(t, "a", string(v.Value))
}

func TestWatchWireMinInterval(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		rw.Header().Set("X-Consul-Index", strconv.FormatInt(i, 10)) // always new
		_, _ = rw.Write([]byte(watchTestPair("a", int(i))))
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	start := time.Now()
	got := watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), consul.WatchMinInterval(50*time.Millisecond)), 6)
	require.Len(t, got, 6)
	require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "6 requests at least 50ms apart")
}

func TestWatchWireHashBlocking(t *testing.T) {
	h := func(hash, v string) reply {
		return reply{Header: map[string]string{"X-Consul-ContentHash": hash}, Body: `{"ID":"web","Service":"` + v + `"}`}
	}
	w, c := newWire(t, h("aa11", "a"), h("aa11", "a"), h("bb22", "b"))
	var got []string
	for u, err := range consul.Watch(testCtx(t), consul.Bind(c.Services.Get, "web"), watchTestFast...) {
		require.NoError(t, err)
		got = append(got, u.Value.Service)
		if len(got) == 2 {
			break
		}
	}
	require.Equal(t, []string{"a", "b"}, got)
	reqs := w.requests()
	require.Len(t, reqs, 3)
	reqs[0].expect(t, "GET", "/v1/agent/service/web", nil) // a plain read: no wait
	reqs[1].expect(t, "GET", "/v1/agent/service/web", q("wait", "1s", "hash", "aa11"))
	reqs[2].expect(t, "GET", "/v1/agent/service/web", q("wait", "1s", "hash", "aa11"))
}

func TestWatchWireDistinct(t *testing.T) {
	replies := []reply{watchTestReply(1, "a"), watchTestReply(2, "a"), watchTestReply(3, "b")}
	// Without suppression, each new index is yielded (the pairs differ in
	// ModifyIndex here, so compare only the values with WatchEqual).
	_, c := newWire(t, replies...)
	got := watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), watchTestFast...), 3)
	require.Equal(t, []string{"a", "a", "b"}, got)

	_, c = newWire(t, replies...)
	same := func(x, y *consul.KVPair) bool { return string(x.Value) == string(y.Value) }
	opts := append([]consul.WatchOption{consul.WatchEqual(same)}, watchTestFast...)
	got = watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), opts...), 2)
	require.Equal(t, []string{"a", "b"}, got)

	// WatchDistinct compares whole values: equal pairs at a new index.
	same2 := `[{"Key":"k","CreateIndex":1,"ModifyIndex":1,"Value":"YQ=="}]`
	_, c = newWire(t,
		reply{Header: map[string]string{"X-Consul-Index": "1"}, Body: same2},
		reply{Header: map[string]string{"X-Consul-Index": "2"}, Body: same2},
		watchTestReply(3, "b"))
	opts = append([]consul.WatchOption{consul.WatchDistinct()}, watchTestFast...)
	got = watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), opts...), 2)
	require.Equal(t, []string{"a", "b"}, got)
}

func TestWatchWireReadOptions(t *testing.T) {
	w, c := newWire(t, watchTestReply(4, "a"))
	got := watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k", consul.Datacenter("dc2")),
		append([]consul.WatchOption{consul.WatchRequestOptions(consul.Stale())}, watchTestFast...)...), 1)
	require.Equal(t, []string{"a"}, got)
	w.only(t).expect(t, "GET", "/v1/kv/k", q("dc", "dc2", "stale", ""))
}

// watchTestValueOf renders a KV value for comparisons.
func watchTestValueOf(p *consul.KVPair) string {
	if p == nil {
		return "<nil>"
	}
	return string(p.Value)
}

func TestWatchKeySeesEveryWrite(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "k")
	require.NoError(t, c.KV.Put(ctx, key, []byte("v0")))

	// The writer waits until the watcher saw each value: then none may be
	// lost, and with WatchDistinct none may repeat.
	seen := make(chan string)
	wctx, stop := context.WithCancel(ctx)
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range consul.Watch(wctx, consul.Bind(c.KV.Get, key), consul.WatchDistinct(), consul.WatchWait(10*time.Second)) {
			if !assert.NoError(t, err) {
				return
			}
			v := watchTestValueOf(u.Value)
			got = append(got, v)
			select {
			case seen <- v:
			case <-wctx.Done():
				return
			}
		}
	}()
	require.Equal(t, "v0", <-seen)
	for i := 1; i <= 10; i++ {
		want := "v" + strconv.Itoa(i)
		require.NoError(t, c.KV.Put(ctx, key, []byte(want)))
		require.Equal(t, want, <-seen)
	}
	// An idempotent write moves the index, not the value: not yielded.
	require.NoError(t, c.KV.Put(ctx, key, []byte("v10")))
	require.NoError(t, c.KV.Put(ctx, key, []byte("v11")))
	require.Equal(t, "v11", <-seen)
	stop()
	<-done
	require.Equal(t, []string{"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11"}, got)
}

func TestWatchKeyFastWritesCoalesce(t *testing.T) {
	// Without waiting for the watcher, writes that land between two
	// requests are seen as their last value: "none lost" means the values
	// seen are in write order, none seen twice, and the last one is seen.
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "k")
	require.NoError(t, c.KV.Put(ctx, key, []byte("0")))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	first := make(chan struct{})
	var got []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range consul.Watch(wctx, consul.Bind(c.KV.Get, key), consul.WatchMinInterval(0)) {
			if !assert.NoError(t, err) {
				return
			}
			n, _ := strconv.Atoi(watchTestValueOf(u.Value))
			got = append(got, n)
			if n == 0 {
				close(first)
			}
			if n == 20 {
				return
			}
		}
	}()
	<-first
	for i := 1; i <= 20; i++ {
		require.NoError(t, c.KV.Put(ctx, key, []byte(strconv.Itoa(i))))
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the last write was not seen")
	}
	require.Equal(t, 20, got[len(got)-1])
	for i := 1; i < len(got); i++ {
		require.Greater(t, got[i], got[i-1], "in order, none twice: %v", got)
	}
	t.Logf("20 fast writes seen as %d states: %v", len(got), got)
}

// watchTestCountingRT counts the requests sent and the most in flight at
// once.
type watchTestCountingRT struct {
	base     http.RoundTripper
	total    atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
}

func (rt *watchTestCountingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.total.Add(1)
	n := rt.inFlight.Add(1)
	for {
		m := rt.maxIn.Load()
		if n <= m || rt.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	resp, err := rt.base.RoundTrip(r)
	rt.inFlight.Add(-1)
	return resp, err
}

// watchTestSettle waits until the goroutine count is at most want.
func watchTestSettle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWatchShared100WatchersOneRequest(t *testing.T) {
	srv := testAgent(t)
	tr := &http.Transport{}
	rt := &watchTestCountingRT{base: tr}
	c := newClient(t, srv, consul.Config{Transport: rt})
	ctx := testCtx(t)
	key := uniq(t, "k")
	require.NoError(t, c.KV.Put(ctx, key, []byte("v0")))
	before := runtime.NumGoroutine()

	g := consul.NewWatchGroup(func(key string) consul.BlockingRead[*consul.KVPair] { return consul.Bind(c.KV.Get, key) })
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	const n = 100
	var wg sync.WaitGroup
	var sawV0, sawV1 sync.WaitGroup
	sawV0.Add(n)
	sawV1.Add(n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v0, v1 := false, false
			for u, err := range g.Watch(wctx, key) {
				if err != nil {
					continue
				}
				switch watchTestValueOf(u.Value) {
				case "v0":
					if !v0 {
						v0 = true
						sawV0.Done()
					}
				case "v1":
					if !v1 {
						v1 = true
						sawV1.Done()
					}
				}
			}
		}()
	}
	sawV0.Wait()
	require.Equal(t, 1, g.Len())
	require.NoError(t, c.KV.Put(ctx, key, []byte("v1")))
	sawV1.Wait()
	// One loop for all: the first read, the blocking read that saw v1 and
	// the next blocking read, plus the Put calls of the test.
	require.LessOrEqual(t, rt.total.Load(), int64(2+3), "requests: %d", rt.total.Load())
	require.Equal(t, int64(1), rt.maxIn.Load()-0, "at most one request in flight at once")

	// A late watcher gets the current value at once.
	lctx, lstop := context.WithTimeout(ctx, 2*time.Second)
	for u, err := range g.Watch(lctx, key) {
		require.NoError(t, err)
		require.Equal(t, "v1", watchTestValueOf(u.Value))
		break
	}
	lstop()

	// The last watcher leaving stops the loop and its goroutine.
	stop()
	wg.Wait()
	require.Equal(t, 0, g.Len())
	tr.CloseIdleConnections()
	watchTestSettle(t, before)
}

// A WatchEqual of another type than the watch's is refused explicitly, in
// Watch, in a WatchGroup and in a Cache, before anything is sent.
func TestWatchEqualTypeMismatchIsAnError(t *testing.T) {
	w, c := newWire(t, watchTestReply(2, "a"))
	ctx := testCtx(t)
	wrong := consul.WatchEqual(func(a, b []string) bool { return len(a) == len(b) })
	n := 0
	for _, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), wrong) {
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae)
		require.Contains(t, err.Error(), "[]string")
		n++
	}
	require.Equal(t, 1, n, "one error, then the watch ends")

	g := consul.NewWatchGroup(func(k string) consul.BlockingRead[*consul.KVPair] { return consul.Bind(c.KV.Get, k) }, wrong)
	n = 0
	for _, err := range g.Watch(ctx, "k") {
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae)
		n++
	}
	require.Equal(t, 1, n)

	cache := consul.NewCache(ctx, consul.Bind(c.KV.Get, "k"), wrong)
	defer cache.Close()
	var ae *consul.ArgumentError
	require.ErrorAs(t, cache.WaitReady(ctx), &ae)
	w.noRequest(t)

	// The right type compiles and suppresses.
	right := consul.WatchEqual(func(a, b *consul.KVPair) bool { return a != nil && b != nil && string(a.Value) == string(b.Value) })
	for u, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), right) {
		require.NoError(t, err)
		require.Equal(t, "a", string(u.Value.Value))
		break
	}
}

// Each key of a group has its own loop, made by the group's read function.
func TestWatchGroupKeysAreSeparate(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	a, b := uniq(t, "a"), uniq(t, "b")
	require.NoError(t, c.KV.Put(ctx, a, []byte("va")))
	require.NoError(t, c.KV.Put(ctx, b, []byte("vb")))
	g := consul.NewWatchGroup(func(key string) consul.BlockingRead[*consul.KVPair] { return consul.Bind(c.KV.Get, key) })
	got := map[string]string{}
	for _, k := range []string{a, b} {
		for u, err := range g.Watch(ctx, k) {
			require.NoError(t, err)
			got[k] = string(u.Value.Value)
			break
		}
	}
	require.Equal(t, map[string]string{a: "va", b: "vb"}, got)
}

func TestWatchAgentRestart(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	tr := &http.Transport{}
	c := newClient(t, srv, consul.Config{Transport: tr})
	ctx := testCtx(t)
	key := uniq(t, "k")
	require.NoError(t, c.KV.Put(ctx, key, []byte("before")))
	tr.CloseIdleConnections()
	before := runtime.NumGoroutine()

	type ev struct {
		v   string
		err error
		at  time.Time
	}
	evs := make(chan ev, 100)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range consul.Watch(wctx, consul.Bind(c.KV.Get, key),
			consul.WatchWait(5*time.Second), consul.WatchBackoff(100*time.Millisecond, 400*time.Millisecond)) {
			e := ev{err: err, at: time.Now()}
			if err == nil {
				e.v = watchTestValueOf(u.Value)
			}
			evs <- e
		}
	}()
	e := <-evs
	require.NoError(t, e.err)
	require.Equal(t, "before", e.v)

	require.NoError(t, srv.Stop())
	var errs []ev
	for len(errs) < 3 {
		e := <-evs
		require.Error(t, e.err, "only errors while the agent is down")
		errs = append(errs, e)
	}
	// Backoff: the failures are spaced, not a hot loop.
	require.GreaterOrEqual(t, errs[2].at.Sub(errs[0].at), 100*time.Millisecond)
	require.NoError(t, srv.Start())
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.KV.Put(ctx, key, []byte("after"))
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "put after restart: %v", err)
		time.Sleep(100 * time.Millisecond)
	}
	for {
		e := <-evs
		if e.err != nil {
			continue // errors from the restart window
		}
		require.Equal(t, "after", e.v)
		break
	}
	stop()
	<-done
	tr.CloseIdleConnections()
	watchTestSettle(t, before)
}

func TestWatchCancelMidRequest(t *testing.T) {
	// A blocking request in flight ends when ctx ends, without an error.
	blocked := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("index") != "" {
			close(blocked)
			<-r.Context().Done()
			return
		}
		rw.Header().Set("X-Consul-Index", "5")
		_, _ = rw.Write([]byte(watchTestPair("a", 5)))
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-blocked; cancel() }()
	n := 0
	for _, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k")) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 1, n)
	require.True(t, errors.Is(ctx.Err(), context.Canceled))
}

// watchTestRegister registers an external node with one service instance
// and its check in status (a re-registration changes the status), and
// removes the node when the test ends.
func watchTestRegister(t *testing.T, c *consul.Client, node, service string, tags []string, status consul.HealthStatus) {
	t.Helper()
	require.NoError(t, c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{
		Node:    node,
		Address: "127.0.0.1",
		Service: &consul.NodeService{ID: service + "-1", Service: service, Tags: tags, Port: 8080},
		Check: &consul.HealthCheck{CheckID: service + "-ttl", Name: "ttl of " + service,
			Status: status, ServiceID: service + "-1"},
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node})
	})
}

func TestWatchServiceHealthGoesCritical(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	node, svc := uniq(t, "node"), uniq(t, "web")
	watchTestRegister(t, c, node, svc, nil, consul.HealthPassing)

	var statuses []consul.HealthStatus
	for u, err := range consul.Watch(ctx, consul.Bind(c.Health.ListServiceInstances, svc), consul.WatchDistinct()) {
		require.NoError(t, err)
		require.Len(t, u.Value, 1)
		st := u.Value[0].AggregatedStatus()
		statuses = append(statuses, st)
		if st == consul.HealthPassing {
			// The check fails (as a TTL check does when not refreshed).
			watchTestRegister(t, c, node, svc, nil, consul.HealthCritical)
			continue
		}
		break
	}
	require.Equal(t, []consul.HealthStatus{consul.HealthPassing, consul.HealthCritical}, statuses)
}

func TestWatchEventsIndexGoesBothWays(t *testing.T) {
	// Event.List's index is derived from the last event's UUID: it goes up
	// or down with each event, so only the reset-on-backwards rule lets a
	// watch see every event.
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	name := uniq(t, "deploy")
	seen := make(chan int, 10)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range consul.Watch(wctx, consul.Bind(c.Event.List, name), consul.WatchWait(5*time.Second)) {
			if assert.NoError(t, err) {
				seen <- len(u.Value)
			}
		}
	}()
	require.Equal(t, 0, <-seen)
	for i := 1; i <= 5; i++ {
		_, err := c.Event.Fire(ctx, name, []byte(strconv.Itoa(i)))
		require.NoError(t, err)
		select {
		case n := <-seen:
			require.Equal(t, i, n, "event %d seen", i)
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not seen", i)
		}
	}
	stop()
	<-done
}

func TestWatchWireDeadConnectionTimesOut(t *testing.T) {
	// A server that accepts the blocking request and never answers (a
	// connection that died silently): the request is abandoned after
	// wait + wait/16 + 5s, the timeout is yielded as an error and the watch
	// goes on.
	var n atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		rw.Header().Set("X-Consul-Index", strconv.FormatInt(10+n.Load(), 10))
		_, _ = rw.Write([]byte(watchTestPair("a", 10)))
	}))
	defer srv.Close()
	defer close(release)
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	var events []string
	start := time.Now()
	var timedOut time.Duration
	for _, err := range consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), consul.WatchWait(100*time.Millisecond), consul.WatchBackoff(time.Millisecond, time.Millisecond)) {
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			timedOut = time.Since(start)
			events = append(events, "timeout")
			continue
		}
		events = append(events, "value")
		if len(events) == 3 {
			break
		}
	}
	require.Equal(t, []string{"value", "timeout", "value"}, events)
	require.GreaterOrEqual(t, timedOut, 5*time.Second)
	require.Less(t, timedOut, 7*time.Second)
}

// watchTestURLs records the URL of each request sent.
type watchTestURLs struct {
	base http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (rt *watchTestURLs) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.Method+" "+r.URL.RequestURI())
	rt.mu.Unlock()
	return rt.base.RoundTrip(r)
}

func TestWatchServiceTTLCheckGoesCritical(t *testing.T) {
	// A real TTL check on the agent: passing while refreshed, critical
	// once its TTL runs out; the watch on the service's health sees both.
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	svc := uniq(t, "ttl")
	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{
		Name: svc, Port: 9000,
		Check: &consul.AgentCheckRegistration{ID: svc + "-ttl", TTL: 2 * time.Second},
	}))
	t.Cleanup(func() { _ = c.Services.Deregister(context.Background(), svc) })
	require.NoError(t, c.Checks.Pass(ctx, svc+"-ttl", "alive"))

	var statuses []consul.HealthStatus
	var passedAt time.Time
	for u, err := range consul.Watch(ctx, consul.Bind(c.Health.ListServiceInstances, svc), consul.WatchDistinct()) {
		require.NoError(t, err)
		require.Len(t, u.Value, 1)
		st := u.Value[0].AggregatedStatus()
		if len(statuses) > 0 && statuses[len(statuses)-1] == st {
			continue // output or index changes within one status
		}
		statuses = append(statuses, st)
		if st == consul.HealthPassing {
			passedAt = time.Now() // from now on, nobody refreshes the TTL
			continue
		}
		break
	}
	require.Equal(t, []consul.HealthStatus{consul.HealthPassing, consul.HealthCritical}, statuses)
	require.Less(t, time.Since(passedAt), 10*time.Second)
}

func TestWatchAgentServiceHashBlocking(t *testing.T) {
	// /v1/agent/service/:id blocks on a content hash, not an index: the
	// watch follows X-Consul-ContentHash with ?hash=.
	rt := &watchTestURLs{base: http.DefaultTransport}
	c := newClient(t, testAgent(t), consul.Config{Transport: rt})
	ctx := testCtx(t)
	svc := uniq(t, "hash")
	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{Name: svc, Port: 1}))
	t.Cleanup(func() { _ = c.Services.Deregister(context.Background(), svc) })

	var ports []int
	var hashes []string
	for u, err := range consul.Watch(ctx, consul.Bind(c.Services.Get, svc), consul.WatchWait(10*time.Second)) {
		require.NoError(t, err)
		require.NotNil(t, u.Value)
		require.NotEmpty(t, u.Meta.ContentHash)
		require.Zero(t, u.Meta.Index)
		ports = append(ports, u.Value.Port)
		hashes = append(hashes, u.Meta.ContentHash)
		if len(ports) == 3 {
			break
		}
		go func() {
			time.Sleep(200 * time.Millisecond)
			_ = c.Services.Register(ctx, &consul.AgentServiceRegistration{Name: svc, Port: len(ports) + 1})
		}()
	}
	require.Equal(t, []int{1, 2, 3}, ports)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var gets []string
	for _, u := range rt.urls {
		if strings.HasPrefix(u, "GET /v1/agent/service/") {
			gets = append(gets, u)
		}
	}
	require.Len(t, gets, 3, "each change seen by one blocking request: %v", gets)
	require.Equal(t, "GET /v1/agent/service/"+svc, gets[0])
	for i, g := range gets[1:] {
		require.Contains(t, g, "hash="+hashes[i])
		require.NotContains(t, g, "index=")
	}
}

// After a failure, the next request is a plain read, and a cache's Err
// clears as soon as a request succeeds, even when the data did not change
// (a blocking read on the old index could hold the error for minutes).
func TestCacheErrClearsOnRecoveryWithoutChange(t *testing.T) {
	w, c := newWire(t, watchTestReply(5, "a"), reply{Status: 500, Body: "boom"}, watchTestReply(5, "a"))
	ctx := testCtx(t)
	cache := consul.NewCache(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchMinInterval(20*time.Millisecond), consul.WatchBackoff(time.Millisecond, time.Millisecond))
	defer cache.Close()
	require.NoError(t, cache.WaitReady(ctx))
	deadline := time.Now().Add(5 * time.Second)
	for len(w.requests()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return cache.Err() == nil }, 10*time.Second, 5*time.Millisecond)
	reqs := w.requests()
	require.GreaterOrEqual(t, len(reqs), 3)
	reqs[1].expect(t, "GET", "/v1/kv/k", q("index", "5", "wait", "5m0s"))
	reqs[2].expect(t, "GET", "/v1/kv/k", nil) // after the failure: a plain read
	v, _, ok := cache.Snapshot()
	require.True(t, ok)
	require.Equal(t, "a", string(v.Value))
}

// A server that answers every blocking read at once with the index it was
// sent (a proxy, a hostile server, or Consul waking spuriously) does not
// make a watch spin, even with no minimum interval: it backs off as after
// a failure. Nothing is yielded but the first value.
func TestWatchWireEarlySameIndexBacksOff(t *testing.T) {
	w, c := newWire(t, watchTestReply(10, "a"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n := 0
	for u, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchWait(time.Minute), consul.WatchMinInterval(0)) {
		require.NoError(t, err)
		require.Equal(t, "a", string(u.Value.Value))
		n++
	}
	require.Equal(t, 1, n, "an unchanged answer was yielded")
	reqs := w.requests()
	require.GreaterOrEqual(t, len(reqs), 2, "the watch never blocked")
	require.LessOrEqual(t, len(reqs), 8, "the watch spun on early answers")
	require.Equal(t, "10", reqs[1].Query.Get("index"))
}
