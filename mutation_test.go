package consul_test

// Tests written to fail when a planted bug breaks an important behaviour
// that no other test watched (issue 17). Each says which bug it catches;
// CONTRIBUTING.md says how they were checked.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A blocking read with WaitIndex but no WaitTime waits as long as Consul
// does (its default wait, 5 minutes), not just the margin: the planted bug
// of dropping the default wait gives up after the margin alone.
func TestBlockingReadWithoutWaitUsesConsulsDefaultWait(t *testing.T) {
	defer consul.SetBlockingMarginForTest(100 * time.Millisecond)()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "7", r.URL.Query().Get("index"))
		assert.False(t, r.URL.Query().Has("wait"), "no wait is sent: Consul applies its own default")
		select {
		case <-time.After(600 * time.Millisecond): // longer than the margin
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Consul-Index", "8")
		_, _ = w.Write([]byte(`[{"Key":"k","Value":"dg=="}]`))
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	pair, meta, err := c.KV.Get(context.Background(), "k", consul.WaitIndex(7))
	require.NoError(t, err, "the read must wait Consul's default wait plus the margin")
	assert.Equal(t, "v", string(pair.Value))
	assert.Equal(t, uint64(8), meta.Index)
}

// The backoff never exceeds its maximum, with the watch's defaults (500ms
// doubling to 1m, where an uncapped doubling overshoots to 64s) and with
// other bounds, at any number of failures in a row; jitter keeps it in
// the upper half of the capped delay.
func TestBackoffNeverExceedsItsMax(t *testing.T) {
	for _, b := range []consul.Backoff{
		{Min: consul.DefaultWatchBackoffMin, Max: consul.DefaultWatchBackoffMax},
		consul.DefaultRetryBackoff,
		{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond},
		{Min: 3 * time.Millisecond, Max: 100 * time.Millisecond},
		{Min: time.Second, Max: time.Second},
	} {
		for n := 1; n <= 40; n++ {
			for range 20 {
				d := b.Delay(n, nil)
				require.LessOrEqual(t, d, b.Max, "%+v after %d failures", b, n)
				want := min(b.Min<<min(n-1, 40), b.Max)
				require.GreaterOrEqual(t, d, want/2, "%+v after %d failures", b, n)
			}
		}
		// A longer Retry-After is waited, up to the maximum.
		err := &consul.StatusError{StatusCode: 429, RetryAfter: 24 * time.Hour}
		require.Equal(t, b.Max, b.Delay(1, err))
	}
}

// The watch loop waits by its configured backoff (the one Backoff.Delay,
// whose cap TestBackoffNeverExceedsItsMax checks): with a 10ms minimum and
// a 30ms maximum, 12 failures in a row take at most 11 x 30ms plus the
// requests, where the defaults (500ms to 1m) would take over a minute.
func TestWatchBackoffCappedWithDefaultsShape(t *testing.T) {
	w, c := newWire(t, reply{Status: 500, Body: "boom"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	n := 0
	for _, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchMinInterval(0), consul.WatchBackoff(10*time.Millisecond, 30*time.Millisecond)) {
		require.Error(t, err)
		if n++; n == 12 {
			break
		}
	}
	took := time.Since(start)
	require.Len(t, w.requests(), 12)
	assert.Less(t, took, 2*time.Second, "the watch waited longer than its 30ms maximum backoff")
	assert.GreaterOrEqual(t, took, 11*15*time.Millisecond)
}

// WatchDistinct yields the first answer even when it is the zero value (a
// key that does not exist yet), then the key's value once it is written:
// the comparator never suppresses the first answer, and copes with nil.
func TestWatchDistinctYieldsZeroFirstAnswer(t *testing.T) {
	for name, opt := range map[string]consul.WatchOption{
		"distinct": consul.WatchDistinct(),
		"equal": consul.WatchEqual(func(a, b *consul.KVPair) bool {
			if a == nil || b == nil {
				return a == b
			}
			return string(a.Value) == string(b.Value)
		}),
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, testAgent(t))
			ctx := testCtx(t)
			key := uniq(t, "missing")
			var got []string
			first := true
			for u, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, key), opt, consul.WatchWait(5*time.Second)) {
				require.NoError(t, err)
				got = append(got, watchTestValueOf(u.Value))
				if first {
					first = false
					require.Nil(t, u.Value, "the first answer is the missing key")
					require.NotZero(t, u.Meta.Index)
					require.NoError(t, c.KV.Put(ctx, key, []byte("now")))
					continue
				}
				break
			}
			require.Equal(t, []string{"<nil>", "now"}, got)
		})
	}
}
