package consul_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logBuffer is a concurrency-safe text log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// Failovers, retries and watch errors reach Config.Logger at their levels,
// and no token ever does, even one the server echoes.
func TestLoggerReceivesBackgroundActivity(t *testing.T) {
	const token = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	logger, buf := newTestLogger()
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		if n <= 2 {
			w.WriteHeader(500)
			_, _ = w.Write([]byte("boom for token " + r.Header.Get("X-Consul-Token")))
			return
		}
		if r.URL.Query().Get("index") != "" || strings.Contains(r.URL.Path, "denied") {
			w.WriteHeader(403)
			_, _ = w.Write([]byte("Permission denied for " + r.Header.Get("X-Consul-Token")))
			return
		}
		w.Header().Set("X-Consul-Index", "5")
		if strings.HasPrefix(r.URL.Path, "/v1/kv/") {
			_, _ = w.Write([]byte(`[{"Key":"k","Value":"dg=="}]`))
			return
		}
		_, _ = w.Write([]byte(`"10.0.0.1:8300"`))
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())

	c, err := consul.NewClient(consul.Config{Address: dead, Fallbacks: []string{srv.URL}, Token: token,
		Retries: 2, RetryBackoff: consul.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}, Logger: logger})
	require.NoError(t, err)
	require.Same(t, logger, c.Logger())
	ctx := testCtx(t)
	_, _, err = c.Status.Leader(ctx)
	require.NoError(t, err)

	// A watch: the first read answers, the blocking one is denied (a
	// permanent error that ends it).
	for _, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "k"), consul.WatchLogger(c.Logger()), consul.WatchBackoff(time.Millisecond, time.Millisecond)) {
		if err != nil {
			break
		}
	}
	out := buf.String()
	assert.Contains(t, out, "level=WARN msg=\"consul: agent unreachable, failing over\"")
	assert.Contains(t, out, "to="+srv.URL)
	assert.Equal(t, 2, strings.Count(out, "level=INFO msg=\"consul: retrying\""), out)
	assert.Contains(t, out, "level=ERROR msg=\"consul: watch ended by a permanent error\"")
	assert.NotContains(t, out, token, "a token reached the log")
	assert.Contains(t, out, "<redacted>", "the echoed token was logged redacted")

	// A watch error that is not permanent is a warning with its backoff.
	w, c2 := newWireConfig(t, consul.Config{Logger: logger}, reply{Status: 503}, reply{Body: `"x"`})
	for _, err := range consul.Watch(ctx, c2.Status.Leader, consul.WatchLogger(logger), consul.WatchBackoff(time.Millisecond, time.Millisecond)) {
		if err == nil {
			break
		}
	}
	require.Len(t, w.requests(), 2)
	assert.Contains(t, buf.String(), "level=WARN msg=\"consul: watch request failed, backing off\"")
}

// A client without a logger is silent, and so are its caches and watches.
func TestNilLoggerIsSilent(t *testing.T) {
	_, c := newWireConfig(t, consul.Config{Retries: 1, RetryBackoff: consul.Backoff{Min: time.Millisecond, Max: time.Millisecond}}, reply{Status: 500})
	require.Nil(t, c.Logger())
	_, _, err := c.Status.Leader(context.Background())
	require.Error(t, err)
}

// The caches built from a client log with the client's logger.
func TestCacheUsesClientLogger(t *testing.T) {
	logger, buf := newTestLogger()
	_, c := newWireConfig(t, consul.Config{Logger: logger}, reply{Status: 503}, reply{Body: `[]`})
	ctx := testCtx(t)
	cache, err := consul.NewKVCache(ctx, c, "app/", consul.WatchBackoff(time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	defer cache.Close()
	require.NoError(t, cache.WaitReady(ctx))
	assert.Contains(t, buf.String(), "consul: watch request failed, backing off")
}
