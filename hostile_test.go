package consul_test

// Regression tests of the pipeline's promises against hostile servers and
// bad input: redirects, tokens, answer sizes, hangs, Retry-After, Meta
// headers and the 404 rule. Each fails on a client that breaks the promise.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --- redirects ---

// A redirect is never followed: not to another host (the token would go
// along, and a PUT body would be replayed there), not to the same host.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(`"stolen"`))
	}))
	defer other.Close()

	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, target := range []string{other.URL + "/v1/status/leader", "/v1/status/leader?again"} {
			name := fmt.Sprintf("%d to %s", code, target)
			var here atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				here.Add(1)
				w.Header().Set("Location", target)
				w.WriteHeader(code)
			}))
			clients := map[string]consul.Config{
				"default":    {Token: "secret-token"},
				"transport":  {Token: "secret-token", Transport: http.DefaultTransport},
				"httpclient": {Token: "secret-token", HTTPClient: &http.Client{}},
			}
			for kind, cfg := range clients {
				cfg.Address = srv.URL
				c, err := consul.NewClient(cfg)
				require.NoError(t, err)
				ctx := testCtx(t)
				_, _, err = c.Status.Leader(ctx)
				var se *consul.StatusError
				require.ErrorAs(t, err, &se, "%s, %s", name, kind)
				assert.Equal(t, code, se.StatusCode, name)
				assert.True(t, consul.IsPermanent(err), "a redirect is not retried: %s", name)

				err = c.KV.Put(ctx, "k", []byte("body"), consul.Token("other-token"))
				require.ErrorAs(t, err, &se, "%s, %s", name, kind)
				assert.Equal(t, code, se.StatusCode, name)
			}
			assert.Equal(t, int32(2*len(clients)), here.Load(), "one request per call, nothing replayed: %s", name)
			srv.Close()
		}
	}
	assert.Zero(t, elsewhere.Load(), "nothing, token or body, reaches the other host")
}

// --- tokens ---

var controlTokens = []string{
	"abc\r\nX-Injected: 1", "abc\ndef", "abc\rdef", "abc\x00def", "\x00", "a\tb",
	"abc\x1b[31m", "abc\x7f", "abc\x01", "line1\nline2\n", "\x1f",
}

// A token holding a control character is refused before anything is sent,
// wherever it comes from, and the error never shows it.
func TestControlCharacterTokensRefused(t *testing.T) {
	dir := t.TempDir()
	for i, tok := range controlTokens {
		_, err := consul.NewClient(consul.Config{Token: tok})
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, "Config.Token %q", tok)
		assert.Equal(t, "Config.Token", ae.Arg)
		assert.NotContains(t, err.Error(), tok)

		// The token file is trimmed of surrounding space, as the consul CLI
		// does; a control character inside is refused.
		f := filepath.Join(dir, strconv.Itoa(i))
		require.NoError(t, os.WriteFile(f, []byte("  x"+tok+"y\n"), 0o600))
		_, err = consul.NewClient(consul.Config{TokenFile: f})
		require.ErrorAs(t, err, &ae, "token file %q", tok)
		assert.Equal(t, "Config.TokenFile", ae.Arg)
		assert.NotContains(t, err.Error(), "x"+tok+"y")

		w, c := newWireConfig(t, consul.Config{Retries: 3}, reply{Body: `"10.0.0.1:8300"`})
		_, _, err = c.Status.Leader(testCtx(t), consul.Token(tok))
		require.ErrorAs(t, err, &ae, "Token option %q", tok)
		assert.True(t, consul.IsPermanent(err))
		assert.NotContains(t, err.Error(), tok)
		w.noRequest(t)
	}
	// A token file ending in a newline is normal.
	f := filepath.Join(dir, "ok")
	require.NoError(t, os.WriteFile(f, []byte("6b1f3c52-0000-4000-8000-000000000001\n"), 0o600))
	_, err := consul.NewClient(consul.Config{TokenFile: f})
	require.NoError(t, err)
}

// A Watch on a bad token ends after yielding the error once; a cache
// reports it and stops; nothing is sent.
func TestControlCharacterTokenEndsWatchAndCache(t *testing.T) {
	w, c := newWire(t, reply{Body: `"10.0.0.1:8300"`})
	ctx := testCtx(t)
	n := 0
	for _, err := range consul.Watch(ctx, c.Status.Leader, consul.WatchRequestOptions(consul.Token("bad\ntoken")), consul.WatchBackoff(time.Millisecond, time.Millisecond)) {
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae)
		n++
		require.Less(t, n, 5, "the watch must end, not retry")
	}
	assert.Equal(t, 1, n)

	cache := consul.NewCache(ctx, consul.Bind(c.KV.Get, "k", consul.Token("bad\x00token")))
	defer cache.Close()
	err := cache.WaitReady(ctx)
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	w.noRequest(t)
}

// A token the server echoes in an error body is redacted from the error:
// the option's token and the client's, wherever it appears in the body,
// even across the 4 KiB cut of the body.
func TestEchoedTokenRedactedFromErrors(t *testing.T) {
	const clientTok = "11111111-2222-4333-8444-555555555555"
	const optTok = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	echo := func(pad int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := r.Header.Get("X-Consul-Token")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "%sACL not found: token %s (client %s) %s", strings.Repeat("x", pad), tok, clientTok, tok)
		}
	}
	for _, pad := range []int{0, 4096 - 30, 4096 - 10, 4096 - 1, 4096} {
		srv := httptest.NewServer(echo(pad))
		c, err := consul.NewClient(consul.Config{Address: srv.URL, Token: clientTok})
		require.NoError(t, err)
		for _, opts := range [][]consul.Option{nil, {consul.Token(optTok)}} {
			_, _, err := c.KV.Get(testCtx(t), "k", opts...)
			var se *consul.StatusError
			require.ErrorAs(t, err, &se)
			for _, tok := range []string{clientTok, optTok} {
				for i := 8; i <= len(tok); i++ {
					// No piece of the token long enough to matter survives.
					if strings.Contains(se.Body, tok[:i]) || strings.Contains(err.Error(), tok[:i]) {
						t.Fatalf("pad %d: token prefix %q leaked: %q", pad, tok[:i], se.Body[max(0, len(se.Body)-200):])
					}
				}
			}
			if pad < 4000 {
				assert.Contains(t, se.Body, "<redacted>")
			}
			assert.LessOrEqual(t, len(se.Body), 4096)
		}
		srv.Close()
	}
}

// --- bounded answers ---

// chunked answers a body of n bytes without Content-Length.
func chunked(n int, prefix string, fill byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, prefix)
		buf := bytes.Repeat([]byte{fill}, 64<<10)
		for sent := len(prefix); sent < n; sent += len(buf) {
			if _, err := w.Write(buf[:min(len(buf), n-sent)]); err != nil {
				return
			}
		}
	}
}

// heapGrowth runs f and returns how much was allocated meanwhile.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// An answer over Config.MaxResponseSize fails with ErrResponseTooLarge once
// the limit is passed, on every kind of read, whatever its length: a
// listing, a string, a raw value.
func TestAnswerSizeIsBounded(t *testing.T) {
	const limit = 1 << 20
	const size = 64 << 20 // 64x the limit
	srv := httptest.NewServer(chunked(size, `"`, 'a'))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, MaxResponseSize: limit})
	require.NoError(t, err)
	ctx := testCtx(t)
	calls := map[string]func() error{
		"KV.List":       func() error { _, _, err := c.KV.List(ctx, "p"); return err },
		"Status.Leader": func() error { _, _, err := c.Status.Leader(ctx); return err },
		"KV.GetRaw":     func() error { _, _, err := c.KV.GetRaw(ctx, "k"); return err },
		"Catalog":       func() error { _, _, err := c.Catalog.ListServices(ctx); return err },
		"Health":        func() error { _, _, err := c.Health.ListServiceInstances(ctx, "web"); return err },
	}
	for name, call := range calls {
		var err error
		grew := heapGrowth(func() { err = call() })
		require.ErrorIs(t, err, consul.ErrResponseTooLarge, name)
		assert.True(t, consul.IsPermanent(err), name)
		assert.Less(t, grew, uint64(16*limit), "%s allocated %d bytes for a %d-byte limit", name, grew, limit)
	}

	// Under the limit, the same answer decodes.
	small := httptest.NewServer(chunked(limit/2, `"`, 'a'))
	defer small.Close()
	c, err = consul.NewClient(consul.Config{Address: small.URL, MaxResponseSize: limit})
	require.NoError(t, err)
	raw, _, err := c.KV.GetRaw(ctx, "k")
	require.NoError(t, err)
	assert.Len(t, raw, limit/2)
}

// A Content-Length over the limit is refused before reading the body; the
// default limit applies when the config sets none.
func TestAnswerSizeDeclaredTooLarge(t *testing.T) {
	var wrote atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(consul.DefaultMaxResponseSize+1))
		w.WriteHeader(200)
		buf := make([]byte, 64<<10)
		for i := 0; i < 16; i++ {
			n, err := w.Write(buf)
			wrote.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	_, _, err = c.KV.List(testCtx(t), "p")
	require.ErrorIs(t, err, consul.ErrResponseTooLarge)
	assert.Contains(t, err.Error(), strconv.Itoa(consul.DefaultMaxResponseSize))
}

// A gzip bomb is bounded after decompression: 200 MiB of JSON in about
// 200 KiB on the wire.
func TestGzipBombIsBounded(t *testing.T) {
	var bomb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	require.NoError(t, err)
	_, _ = io.WriteString(zw, `[{"Key":"`)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for i := 0; i < 200; i++ {
		_, _ = zw.Write(chunk)
	}
	_, _ = io.WriteString(zw, `"}]`)
	require.NoError(t, zw.Close())
	require.Less(t, bomb.Len(), 1<<20)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(bomb.Len()))
		_, _ = w.Write(bomb.Bytes())
	}))
	defer srv.Close()
	const limit = 4 << 20
	c, err := consul.NewClient(consul.Config{Address: srv.URL, MaxResponseSize: limit})
	require.NoError(t, err)
	for _, read := range []func() error{
		func() error { _, _, err := c.KV.List(testCtx(t), "p"); return err },
		func() error { _, _, err := c.KV.GetRaw(testCtx(t), "k"); return err },
	} {
		var err error
		grew := heapGrowth(func() { err = read() })
		require.ErrorIs(t, err, consul.ErrResponseTooLarge)
		assert.Less(t, grew, uint64(16*limit), "allocated %d bytes", grew)
	}
}

// Streams are not bounded by MaxResponseSize: a snapshot larger than the
// limit streams through whole.
func TestStreamsAreNotBoundedBySize(t *testing.T) {
	const limit = 1 << 20
	srv := httptest.NewServer(chunked(8*limit, "", 's'))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, MaxResponseSize: limit})
	require.NoError(t, err)
	body, _, err := c.Snapshot.Save(testCtx(t))
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Equal(t, int64(8*limit), n)
}

// --- hangs ---

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return l.Addr().String()
}

// A call that does not block is bounded by Config.Timeout even when its
// context has no deadline: against a server that never answers, and one
// that sends its answer a byte at a time (slowloris).
func TestNonBlockingCallsAreBoundedInTime(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		for i := 0; i < 600; i++ {
			if _, err := io.WriteString(w, " "); err != nil {
				return
			}
			f.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	defer slow.Close()
	for name, addr := range map[string]string{"silent": silentListener(t), "slowloris": slow.URL} {
		c, err := consul.NewClient(consul.Config{Address: addr, Timeout: 300 * time.Millisecond})
		require.NoError(t, err)
		for call, f := range map[string]func() error{
			"read":  func() error { _, _, err := c.Status.Leader(context.Background()); return err },
			"write": func() error { return c.KV.Put(context.Background(), "k", []byte("v")) },
		} {
			start := time.Now()
			err := f()
			took := time.Since(start)
			require.Error(t, err, "%s %s", name, call)
			assert.ErrorIs(t, err, context.DeadlineExceeded, "%s %s: %v", name, call, err)
			assert.Contains(t, err.Error(), "no answer within 300ms")
			assert.Less(t, took, 3*time.Second, "%s %s", name, call)
			assert.GreaterOrEqual(t, took, 250*time.Millisecond, "%s %s", name, call)
		}
	}

	// A caller's earlier deadline wins, and reports as the caller's.
	c, err := consul.NewClient(consul.Config{Address: silentListener(t), Timeout: time.Minute})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = c.Status.Leader(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "no answer within")
}

// Blocking reads are not cut by Config.Timeout: they are bounded by their
// wait instead.
func TestBlockingReadsOutliveTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(600 * time.Millisecond)
		w.Header().Set("X-Consul-Index", "8")
		_, _ = io.WriteString(w, `[{"Key":"k","Value":"dg=="}]`)
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	_, meta, err := c.KV.Get(testCtx(t), "k", consul.WaitIndex(7), consul.WaitTime(time.Second))
	require.NoError(t, err)
	assert.Equal(t, uint64(8), meta.Index)
	_, _, err = c.KV.Get(testCtx(t), "k")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the same read without an index is bounded")

	// The same without a context of the caller's (context.Background
	// shares a deadline among calls of the same bound): the blocking read
	// keeps its own bound, the plain read gets Config.Timeout.
	_, meta, err = c.KV.Get(context.Background(), "k", consul.WaitIndex(7), consul.WaitTime(time.Second))
	require.NoError(t, err)
	assert.Equal(t, uint64(8), meta.Index)
	start := time.Now()
	_, _, err = c.KV.Get(context.Background(), "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "no answer within 200ms")
	assert.Less(t, time.Since(start), 550*time.Millisecond)
	_, meta, err = c.KV.Get(context.TODO(), "k", consul.WaitIndex(7), consul.WaitTime(time.Second))
	require.NoError(t, err, "a blocking read right after a plain one keeps its bound")
	assert.Equal(t, uint64(8), meta.Index)
}

// --- retries ---

// The pipeline's retries honour a Retry-After only up to RetryBackoff.Max.
func TestRetriesCapRetryAfter(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Retries: 2, RetryBackoff: consul.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}},
		reply{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: "rate limit exceeded"},
		reply{Status: 503, Header: map[string]string{"Retry-After": "18446744073709551615"}},
		reply{Body: `"10.0.0.1:8300"`})
	start := time.Now()
	leader, _, err := c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1:8300", leader)
	assert.Len(t, w.requests(), 3)
	assert.Less(t, time.Since(start), 2*time.Second)

	_, err = consul.NewClient(consul.Config{RetryBackoff: consul.Backoff{Min: time.Second, Max: time.Millisecond}})
	require.Error(t, err)
}

// Cancelling while a retry waits returns the context's error, not the last
// answer's.
func TestCancelDuringRetryBackoffReturnsCtxErr(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Retries: 3, RetryBackoff: consul.Backoff{Min: 10 * time.Second, Max: 10 * time.Second}},
		reply{Status: 500, Body: "boom"})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := c.Status.Leader(ctx)
	require.ErrorIs(t, err, context.Canceled)
	var se *consul.StatusError
	assert.False(t, errors.As(err, &se), "the last answer is not the error: %v", err)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Len(t, w.requests(), 1)

	ctx, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, _, err = c.Status.Leader(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// --- Meta headers ---

// A Meta header that overflows is an error on a read, never a wrapped-around
// value.
func TestOverflowingMetaHeadersAreErrors(t *testing.T) {
	for _, h := range []struct{ name, value string }{
		{"X-Consul-LastContact", "18446744073709551615"},
		{"X-Consul-LastContact", "9223372036854775807"},
		{"X-Consul-LastContact", "9223372036855"},
		{"Age", "18446744073709551615"},
		{"Age", "9223372036854775807"},
		{"Age", "9223372037"},
		{"X-Consul-Index", "18446744073709551616"},
		{"X-Consul-LastContact", "-1"},
		{"Age", "-5"},
	} {
		_, c := newWire(t, reply{Header: map[string]string{h.name: h.value}, Body: `"10.0.0.1:8300"`})
		_, meta, err := c.Status.Leader(testCtx(t))
		require.Error(t, err, "%s: %s", h.name, h.value)
		assert.Nil(t, meta)
	}
	// The largest values that fit are read as they are.
	_, c := newWire(t, reply{Header: map[string]string{"X-Consul-LastContact": "9223372036854", "Age": "9223372036", "X-Consul-Index": "18446744073709551615"}, Body: `"x"`})
	_, meta, err := c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 9223372036854*time.Millisecond, meta.LastContact)
	assert.Equal(t, 9223372036*time.Second, meta.CacheAge)
	assert.Equal(t, uint64(18446744073709551615), meta.Index)
}

// A write Consul applied is not reported as failed because of a header it
// does not need.
func TestAppliedWriteWithMalformedHeaderSucceeds(t *testing.T) {
	bad := map[string]string{"X-Consul-Index": "garbage", "X-Consul-LastContact": "18446744073709551615", "X-Consul-KnownLeader": "maybe", "X-Cache": "SOMETIMES", "Age": "-1"}
	w, c := newWire(t, reply{Header: bad, Body: "true"})
	require.NoError(t, c.KV.Put(testCtx(t), "k", []byte("v")))
	ok, err := c.KV.PutCAS(testCtx(t), "k", []byte("v"), 3)
	require.NoError(t, err)
	assert.True(t, ok)
	w.reset(reply{Header: bad, Body: `{"ID":"2d6e1a9c-0000-4000-8000-000000000000"}`})
	id, err := c.Session.Create(testCtx(t), nil)
	require.NoError(t, err)
	assert.Equal(t, "2d6e1a9c-0000-4000-8000-000000000000", id)
	// A read with the same headers is an error: its Meta is its answer.
	w.reset(reply{Header: bad, Body: `"x"`})
	_, _, err = c.Status.Leader(testCtx(t))
	require.Error(t, err)
}

// --- the 404 rule ---

// A 404 that is not Consul's (a proxy's HTML page, no Consul headers) is an
// error, not "absent", on every read the 404 rule covers.
func TestForeign404IsNotAbsent(t *testing.T) {
	page := reply{Status: 404, Header: map[string]string{"X-Consul-Default-ACL-Policy": "", "Content-Type": "text/html"}, Body: "<html><body>404 Not Found</body></html>"}
	w, c := newWire(t, page)
	ctx := testCtx(t)
	reads := map[string]func() (bool, error){
		"KV.Get":             func() (bool, error) { v, _, err := c.KV.Get(ctx, "k"); return v == nil, err },
		"KV.GetRaw":          func() (bool, error) { v, _, err := c.KV.GetRaw(ctx, "k"); return v == nil, err },
		"Session.Get":        func() (bool, error) { v, _, err := c.Session.Get(ctx, "s"); return v == nil, err },
		"Catalog.GetNode":    func() (bool, error) { v, _, err := c.Catalog.GetNode(ctx, "n"); return v == nil, err },
		"ACL.GetToken":       func() (bool, error) { v, _, err := c.ACL.GetToken(ctx, "t"); return v == nil, err },
		"ACL.GetPolicy":      func() (bool, error) { v, _, err := c.ACL.GetPolicy(ctx, "p"); return v == nil, err },
		"Query.Get":          func() (bool, error) { v, _, err := c.Query.Get(ctx, "q"); return v == nil, err },
		"Peering.Get":        func() (bool, error) { v, _, err := c.Peering.Get(ctx, "p"); return v == nil, err },
		"Services.Get":       func() (bool, error) { v, _, err := c.Services.Get(ctx, "s"); return v == nil, err },
		"Coordinate.GetNode": func() (bool, error) { v, _, err := c.Coordinate.GetNode(ctx, "n"); return v == nil, err },
		"ConfigEntries.Get": func() (bool, error) {
			v, _, err := c.ConfigEntries.Get(ctx, "service-defaults", "web")
			return v == nil, err
		},
		"TemplatedPolicy": func() (bool, error) {
			v, _, err := c.ACL.GetTemplatedPolicy(ctx, "builtin/service")
			return v == nil, err
		},
	}
	for name, read := range reads {
		_, err := read()
		require.ErrorIs(t, err, consul.ErrNotFound, "%s: a proxy's 404 is an error", name)
	}
	// Consul's own 404 stays "absent".
	w.reset(reply{Status: 404, Header: map[string]string{"X-Consul-Index": "5"}})
	for name, read := range reads {
		absent, err := read()
		require.NoError(t, err, name)
		assert.True(t, absent, name)
	}
}
