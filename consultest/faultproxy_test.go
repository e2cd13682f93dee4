package consultest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get sends a GET through hc and returns the status, the Retry-After
// header, the body and the error of reading it.
func get(t *testing.T, hc *http.Client, url string) (int, string, string, error) {
	t.Helper()
	resp, err := hc.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b), err
}

func TestFaultProxyAgainstAgent(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	p := consultest.NewFaultProxy(t, srv.HTTPAddr)
	require.Equal(t, "http://"+p.Addr(), p.URL())
	hc := &http.Client{Timeout: 30 * time.Second}
	code, body := do(t, "PUT", p.URL()+"/v1/kv/fp/a", "", "hello")
	require.Equal(t, 200, code, body)
	require.Equal(t, "true", body)

	t.Run("pass through", func(t *testing.T) {
		code, _, body, err := get(t, hc, p.URL()+"/v1/kv/fp/a?raw")
		require.NoError(t, err)
		require.Equal(t, 200, code)
		require.Equal(t, "hello", body)
		// The agent's own errors come back as they are.
		code, body = do(t, "GET", p.URL()+"/v1/kv/fp/missing", "", "")
		require.Equal(t, 404, code, body)
	})

	t.Run("blocking read", func(t *testing.T) {
		resp, err := hc.Get(p.URL() + "/v1/kv/fp/a")
		require.NoError(t, err)
		idx := resp.Header.Get("X-Consul-Index")
		resp.Body.Close()
		require.NotEmpty(t, idx)
		go func() {
			time.Sleep(300 * time.Millisecond)
			do(t, "PUT", "http://"+srv.HTTPAddr+"/v1/kv/fp/a", "", "changed")
		}()
		start := time.Now()
		code, _, body, err := get(t, hc, p.URL()+"/v1/kv/fp/a?raw&wait=10s&index="+idx)
		require.NoError(t, err)
		require.Equal(t, 200, code)
		require.Equal(t, "changed", body)
		took := time.Since(start)
		require.GreaterOrEqual(t, took, 250*time.Millisecond, "the blocking read blocked")
		require.Less(t, took, 5*time.Second, "the write ended the blocking read")
	})

	t.Run("status and retry-after", func(t *testing.T) {
		r := p.On("GET", "/v1/kv/fp/").Status(503, 1500*time.Millisecond, "")
		defer r.Remove()
		code, ra, body, err := get(t, hc, p.URL()+"/v1/kv/fp/a?raw")
		require.NoError(t, err)
		require.Equal(t, 503, code)
		require.Equal(t, "2", ra, "rounded up to whole seconds")
		require.Equal(t, "Service Unavailable", body)
		// Other methods and paths pass.
		code, body = do(t, "PUT", p.URL()+"/v1/kv/fp/b", "", "x")
		require.Equal(t, 200, code, body)
		code, _, _, err = get(t, hc, p.URL()+"/v1/status/leader")
		require.NoError(t, err)
		require.Equal(t, 200, code)
		require.Equal(t, 1, r.Count())

		r.Status(429, 0, "slow down")
		code, ra, body, err = get(t, hc, p.URL()+"/v1/kv/fp/a?raw")
		require.NoError(t, err)
		require.Equal(t, 429, code)
		require.Empty(t, ra)
		require.Equal(t, "slow down", body)

		r.Pass()
		code, _, body, err = get(t, hc, p.URL()+"/v1/kv/fp/a?raw")
		require.NoError(t, err)
		require.Equal(t, 200, code, body)
		require.Equal(t, 3, r.Count())

		r.Status(500, 0, "")
		p.Clear()
		code, _, _, err = get(t, hc, p.URL()+"/v1/kv/fp/a?raw")
		require.NoError(t, err)
		require.Equal(t, 200, code, "Clear removes every rule")
		require.Equal(t, 3, r.Count())
	})

	t.Run("first rule wins and func rules", func(t *testing.T) {
		defer p.Clear()
		blocking := p.OnFunc(func(r *http.Request) bool { return r.URL.Query().Has("index") }).Status(500, 0, "blocking")
		all := p.On("", "/v1/kv/").Status(502, 0, "all")
		_, _, body, err := get(t, hc, p.URL()+"/v1/kv/fp/a?index=1&wait=1s")
		require.NoError(t, err)
		require.Equal(t, "blocking", body)
		_, _, body, err = get(t, hc, p.URL()+"/v1/kv/fp/a")
		require.NoError(t, err)
		require.Equal(t, "all", body)
		blocking.Remove()
		_, _, body, err = get(t, hc, p.URL()+"/v1/kv/fp/a?index=1&wait=1s")
		require.NoError(t, err)
		require.Equal(t, "all", body, "a removed rule no longer matches")
		require.Equal(t, 1, blocking.Count())
		require.Equal(t, 2, all.Count())
	})

	t.Run("delay", func(t *testing.T) {
		r := p.On("GET", "/v1/kv/fp/a").Delay(400 * time.Millisecond)
		defer r.Remove()
		start := time.Now()
		code, _, body, err := get(t, hc, p.URL()+"/v1/kv/fp/a?raw")
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
		require.Equal(t, 200, code)
		require.Equal(t, "changed", body, "passed on after the delay")

		// A client that gives up during the delay: the request never
		// reaches the agent.
		r.Remove()
		put := p.On("PUT", "/v1/kv/fp/delayed").Delay(time.Second)
		defer put.Remove()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "PUT", p.URL()+"/v1/kv/fp/delayed", strings.NewReader("x"))
		_, err = hc.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		time.Sleep(time.Second)
		code, _, _, err = get(t, hc, "http://"+srv.HTTPAddr+"/v1/kv/fp/delayed")
		require.NoError(t, err)
		require.Equal(t, 404, code, "the abandoned write was not passed on")
	})

	t.Run("delay answer", func(t *testing.T) {
		code, body := do(t, "PUT", "http://"+srv.HTTPAddr+"/v1/kv/fp/stale", "", "before")
		require.Equal(t, 200, code, body)
		r := p.On("GET", "/v1/kv/fp/stale").DelayAnswer(600 * time.Millisecond)
		defer r.Remove()
		type answer struct {
			body string
			err  error
			took time.Duration
		}
		got := make(chan answer, 1)
		start := time.Now()
		go func() {
			resp, err := hc.Get(p.URL() + "/v1/kv/fp/stale?raw")
			if err != nil {
				got <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			got <- answer{string(b), err, time.Since(start)}
		}()
		// The agent answered at once; change the key while the answer is
		// held back.
		require.Eventually(t, func() bool { return r.Count() == 1 }, 5*time.Second, 5*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		code, body = do(t, "PUT", "http://"+srv.HTTPAddr+"/v1/kv/fp/stale", "", "after")
		require.Equal(t, 200, code, body)
		a := <-got
		require.NoError(t, a.err)
		require.GreaterOrEqual(t, a.took, 600*time.Millisecond)
		require.Equal(t, "before", a.body, "the answer is the state the agent read, delivered late")

		// A client that gives up while the answer is held gets nothing.
		short := &http.Client{Timeout: 200 * time.Millisecond}
		_, err := short.Get(p.URL() + "/v1/kv/fp/stale?raw")
		require.Error(t, err)
	})

	t.Run("hang", func(t *testing.T) {
		r := p.On("GET", "/v1/kv/fp/a").Hang()
		defer r.Remove()
		short := &http.Client{Timeout: 300 * time.Millisecond}
		start := time.Now()
		_, err := short.Get(p.URL() + "/v1/kv/fp/a")
		require.Error(t, err)
		require.Less(t, time.Since(start), 3*time.Second)
		require.Equal(t, 1, r.Count())
		// Other requests are not held up.
		code, _, _, err := get(t, short, p.URL()+"/v1/kv/fp/b")
		require.NoError(t, err)
		require.Equal(t, 200, code)
	})

	t.Run("cut mid-body", func(t *testing.T) {
		long := strings.Repeat("0123456789", 100)
		code, body := do(t, "PUT", p.URL()+"/v1/kv/fp/long", "", long)
		require.Equal(t, 200, code, body)
		r := p.On("GET", "/v1/kv/fp/long").CutMidBody()
		defer r.Remove()
		resp, err := hc.Get(p.URL() + "/v1/kv/fp/long?raw")
		require.NoError(t, err, "the status and headers arrive")
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, int64(len(long)), resp.ContentLength)
		require.NotEmpty(t, resp.Header.Get("X-Consul-Index"), "the agent's headers")
		b, err := io.ReadAll(resp.Body)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, long[:len(long)/2], string(b))
	})
}

func TestFaultProxyStreamsAndCloses(t *testing.T) {
	// A streaming answer a real agent makes only slowly (like
	// /v1/agent/monitor): each part must arrive as it is written.
	release := make(chan struct{})
	defer close(release)
	next := make(chan struct{}, 2) // the test lets each next part be written
	var hung atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			hung.Add(1)
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		for i := 0; i < 3; i++ {
			if i > 0 {
				select {
				case <-release:
					return
				case <-next:
				}
			}
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
		}
	}))
	defer backend.Close()
	p, err := consultest.StartFaultProxy(backend.URL)
	require.NoError(t, err)
	defer p.Close()

	resp, err := http.Get(p.URL() + "/stream")
	require.NoError(t, err)
	// The next part is written only once the first one is read: a proxy
	// that held parts back would never pass it on (the read is cut after
	// 10s), however slow or loaded the machine.
	cut := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	require.True(t, cut.Stop(), "the first part was held back")
	require.NoError(t, err)
	require.Equal(t, "part 0\n", string(buf[:n]))
	next <- struct{}{}
	next <- struct{}{}
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "part 1\npart 2\n", string(rest))
	resp.Body.Close()

	// Close ends requests in flight: hung by a rule, and waiting on the
	// target.
	p.On("", "/rule-hang").Hang()
	errs := make(chan error, 2)
	for _, path := range []string{"/rule-hang", "/hang"} {
		go func() {
			resp, err := http.Get(p.URL() + path)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return hung.Load() == 1 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	closed := time.Now()
	require.NoError(t, p.Close())
	for i := 0; i < 2; i++ {
		select {
		case err := <-errs:
			assert.Error(t, err, "a hung request ends with an error when the proxy closes")
		case <-time.After(5 * time.Second):
			t.Fatal("a hung request outlived the proxy")
		}
	}
	require.Less(t, time.Since(closed), 3*time.Second)
	require.NoError(t, p.Close(), "closing twice")
	_, err = http.Get(p.URL() + "/stream")
	require.Error(t, err, "closed")
}

func TestFaultProxyRefusesNonLoopbackTargets(t *testing.T) {
	for _, target := range []string{"10.1.2.3:8500", "http://example.com:8500", "https://127.0.0.1:8501", "127.0.0.1", "http://127.0.0.1:8500/sub"} {
		_, err := consultest.StartFaultProxy(target)
		require.Error(t, err, target)
	}
	p, err := consultest.StartFaultProxy("[::1]:8500")
	require.NoError(t, err)
	require.NoError(t, p.Close())
}
