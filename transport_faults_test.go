package consul

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type failingReader struct{ err error }

func (e failingReader) Read([]byte) (int, error) { return 0, e.err }

// A request body that fails while it is written on the writer goroutine
// (an unsized snapshot whose source breaks, or a sized one over 64 KiB
// that is shorter than its ContentLength) must end the call at once with
// that error, as net/http does (it returns "source failed" in about a
// millisecond), not wait for an answer the agent, still waiting for the
// rest of the body, never gives.
func TestLocalTransportBodyErrorEndsCall(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.ReadAll(req.Body) // an agent reads the whole body first
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrue")
	})
	srcErr := errors.New("snapshot source failed")
	for _, tc := range []struct {
		name string
		body func() (io.Reader, int64)
		want error
	}{
		{"unsized body fails", func() (io.Reader, int64) {
			return io.MultiReader(strings.NewReader("abc"), failingReader{srcErr}), 0
		}, srcErr},
		{"sized body over 64KiB fails", func() (io.Reader, int64) {
			return io.MultiReader(strings.NewReader(strings.Repeat("x", 70<<10)), failingReader{srcErr}), 100 << 10
		}, srcErr},
		{"sized body over 64KiB short", func() (io.Reader, int64) {
			return strings.NewReader(strings.Repeat("x", 70<<10)), 100 << 10
		}, errBodyLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt := newTestLocal(t, 4, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			body, n := tc.body()
			req, _ := http.NewRequestWithContext(ctx, "PUT", srv.url()+"/v1/snapshot", body)
			req.ContentLength = n
			start := time.Now()
			resp, err := lt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			d := time.Since(start)
			if !errors.Is(err, tc.want) || d > time.Second {
				t.Errorf("RoundTrip: %v after %s; want %q at once", err, d.Round(time.Millisecond), tc.want)
			}
		})
	}
}

// A malformed trailer is not quoted in the error, as a malformed header
// is not.
func TestLocalTransportTrailerErrorNotQuoted(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nsecret-token\r\n\r\n")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := doLocal(t, newTestLocal(t, 4, 0), ctx, "GET", srv.url()+"/", nil)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("the error quotes the answer: %v", err)
	}
}

// Pool accounting under fire: random cancels, early closes, closes by the
// server; at the end every slot is idle or free and nobody waits.
func TestLocalTransportPoolUnderFaults(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, _, err := readRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/slow":
				time.Sleep(time.Duration(rand.Intn(20)) * time.Millisecond)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case "/close":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
				return
			case "/drop":
				return
			case "/early":
				io.WriteString(c, "HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\n\r\nno")
				if rand.Intn(2) == 0 {
					return
				}
			case "/hold":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
				time.Sleep(50 * time.Millisecond)
				io.WriteString(c, "12345678")
			case "/chunked":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
			case "/cut":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
				return
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
	lt := newTestLocal(t, 3, 0)
	lt.idleTimeout = 3 * time.Millisecond
	paths := []string{"/", "/slow", "/close", "/drop", "/chunked", "/cut", "/early", "/hold"}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for i := 0; i < 60; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+r.Intn(30))*time.Millisecond)
				method := "GET"
				var body io.Reader
				switch r.Intn(4) {
				case 0:
					method = "PUT"
					body = strings.NewReader("x")
				case 1:
					method = "PUT"
					body = strings.NewReader(strings.Repeat("y", 100<<10))
				case 2:
					method = "PUT"
					body = io.MultiReader(strings.NewReader("abc"))
				}
				req, _ := http.NewRequestWithContext(ctx, method, srv.url()+paths[r.Intn(len(paths))], body)
				resp, err := lt.RoundTrip(req)
				if err == nil {
					if r.Intn(3) == 0 {
						resp.Body.Close()
					} else if r.Intn(2) == 0 {
						d := time.Duration(r.Intn(3)) * time.Millisecond
						go func() { time.Sleep(d); resp.Body.Close() }()
						io.ReadAll(resp.Body)
					} else {
						io.ReadAll(resp.Body)
						resp.Body.Close()
					}
				}
				cancel()
			}
		}(int64(g))
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("calls hang")
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for k, hc := range lt.hosts {
		if hc.open != len(hc.idle) || len(hc.waiters) != 0 {
			t.Errorf("%s: open %d, idle %d, waiters %d", k, hc.open, len(hc.idle), len(hc.waiters))
		}
	}
}

// Without MSG_PEEK (transport_peek_other.go: Windows and the rest) an agent
// restart leaves every idle connection dead: a GET is sent again while its
// connection was a reused one, as net/http does, and succeeds on a new
// connection.
func TestLocalTransportStaleRetryWithoutPeek(t *testing.T) {
	var mu sync.Mutex
	var gen int
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		mu.Lock()
		g := gen
		mu.Unlock()
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			mu.Lock()
			now := gen
			mu.Unlock()
			if now != g {
				return // the agent restarted: this connection is gone
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	lt := newTestLocal(t, 3, 0)
	// Three idle connections.
	var resps []*http.Response
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", srv.url()+"/", nil)
		resp, err := lt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	lt.mu.Lock()
	for _, hc := range lt.hosts {
		for _, pc := range hc.idle {
			pc.rc = nil // as on a platform without peekAlive
		}
	}
	lt.mu.Unlock()
	mu.Lock()
	gen++
	mu.Unlock()
	srv.mu.Lock()
	for _, c := range srv.open {
		c.Close() // the agent restarts: its connections close while idle
	}
	srv.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // the FINs arrive
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, b, err := doLocal(t, lt, ctx, "GET", srv.url()+"/", nil); err != nil || string(b) != "ok" {
		t.Errorf("a GET after the agent closed its idle connections: %q, %v", b, err)
	}
}
