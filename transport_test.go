package consul

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is a TCP server on loopback that hands each connection to
// serve, for answers no well-behaved HTTP server would give. It counts the
// connections it accepted and closes them all when the test ends.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int64
	mu    sync.Mutex
	open  []net.Conn
}

func newRawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var wg sync.WaitGroup
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		// The accept loop ends before the connections are closed and
		// waited for: a connection it took just before may not call
		// wg.Add while Wait runs, nor be left out of open.
		<-accepting
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// readRequest reads one request, its body included.
func readRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

func newTestLocal(t *testing.T, maxConns int, headerTimeout time.Duration) *localTransport {
	t.Helper()
	next := &http.Transport{MaxConnsPerHost: maxConns, ResponseHeaderTimeout: headerTimeout, IdleConnTimeout: 90 * time.Second}
	lt := newLocalTransport(next, "")
	t.Cleanup(lt.CloseIdleConnections)
	return lt
}

func doLocal(t *testing.T, lt *localTransport, ctx context.Context, method, u string, body io.Reader) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := lt.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b, err
}

func TestLocalTransportIsLocal(t *testing.T) {
	lt := newTestLocal(t, 4, 0)
	for u, want := range map[string]bool{
		"http://127.0.0.1:8500/v1/kv/a":  true,
		"http://127.9.9.9:8500/":         true,
		"http://[::1]:8500/":             true,
		"http://localhost:8500/":         true,
		"http://localhost/":              true,
		"https://127.0.0.1:8501/":        false,
		"http://10.0.0.1:8500/":          false,
		"http://consul.example:8500/":    false,
		"http://localhost.example:8500/": false,
		"http://[::ffff:7f00:1]:8500/":   true, // 127.0.0.1, as IPv4-mapped
	} {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := lt.local(pu); got != want {
			t.Errorf("local(%s) = %v, want %v", u, got, want)
		}
	}
	sock := newLocalTransport(&http.Transport{}, "/tmp/consul.sock")
	if !sock.local(&url.URL{Scheme: "http", Host: "localhost"}) {
		t.Error("a unix socket's requests are local")
	}
}

// What goes on the wire: the request line, Host, no Accept-Encoding (a
// local agent's answers are not worth compressing), and the body framed
// by its length, by Content-Length: 0 for a write without one, or chunked
// when its length is unknown.
func TestLocalTransportWire(t *testing.T) {
	type seen struct {
		line, host, ae, cl, te, body string
	}
	got := make(chan seen, 8)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, body, err := readRequest(br)
			if err != nil {
				return
			}
			got <- seen{
				line: req.Method + " " + req.RequestURI + " " + req.Proto,
				host: req.Host, ae: req.Header.Get("Accept-Encoding"),
				cl: req.Header.Get("Content-Length"), te: strings.Join(req.TransferEncoding, ","),
				body: string(body),
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		}
	})
	lt := newTestLocal(t, 4, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		method, path string
		body         io.Reader
		want         seen
	}{
		{"GET", "/v1/kv/a%2Fb?recurse=&dc=x", nil, seen{line: "GET /v1/kv/a%2Fb?recurse=&dc=x HTTP/1.1"}},
		{"PUT", "/v1/kv/k", strings.NewReader("hello"), seen{line: "PUT /v1/kv/k HTTP/1.1", cl: "5", body: "hello"}},
		{"PUT", "/v1/session/destroy/x", nil, seen{line: "PUT /v1/session/destroy/x HTTP/1.1", cl: "0"}},
		{"PUT", "/v1/snapshot", io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")), seen{line: "PUT /v1/snapshot HTTP/1.1", te: "chunked", body: "abcd"}},
	} {
		resp, b, err := doLocal(t, lt, ctx, tc.method, srv.url()+tc.path, tc.body)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if resp.StatusCode != 200 || string(b) != "{}" {
			t.Fatalf("%s %s: %d %q", tc.method, tc.path, resp.StatusCode, b)
		}
		s := <-got
		tc.want.host = srv.ln.Addr().String()
		if s != tc.want {
			t.Errorf("%s %s: the agent saw %+v, want %+v", tc.method, tc.path, s, tc.want)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections for sequential requests, want 1", n)
	}
}

// A header that would split the request (a token with a CR or LF) never
// reaches the wire, and the error does not quote it.
func TestLocalTransportRefusesHeaderInjection(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		t.Error("a request with an invalid header was sent")
	})
	lt := newTestLocal(t, 4, 0)
	for _, bad := range []string{"secret\r\nX-Evil: 1", "secret\nX", "sec\x00ret", "sec\x7fret"} {
		req, _ := http.NewRequest("GET", srv.url()+"/v1/agent/self", nil)
		req.Header["X-Consul-Token"] = []string{bad}
		_, err := lt.RoundTrip(req)
		if err == nil {
			t.Fatalf("token %q: sent", bad)
		}
		if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
	for _, name := range []string{"X Bad", "X:Bad", "", "X\r\nY"} {
		req, _ := http.NewRequest("GET", srv.url()+"/", nil)
		req.Header[name] = []string{"v"}
		if _, err := lt.RoundTrip(req); err == nil {
			t.Errorf("header name %q: sent", name)
		}
	}
	req, _ := http.NewRequest("GET", srv.url()+"/", nil)
	req.Method = "GET /x HTTP/1.1\r\nX: y\r\n"
	if _, err := lt.RoundTrip(req); err == nil {
		t.Error("a method with spaces and CRLF was sent")
	}
}

// Every framing an HTTP/1.x answer may have is read to its exact end, and
// the connection is reused only when the framing says where the answer
// ends and the agent keeps it open.
func TestLocalTransportFramings(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want string
		reuse              bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", "hello", true},
		{"chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello", true},
		{"chunked wins over a length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello", true},
		{"informational first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", "hello", false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", "", true},
		{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "hello", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, tc.answer)
				}
			})
			lt := newTestLocal(t, 4, 0)
			for i := 0; i < 3; i++ {
				_, b, err := doLocal(t, lt, context.Background(), "GET", srv.url()+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tc.want {
					t.Fatalf("body %q, want %q", b, tc.want)
				}
			}
			want := int64(3)
			if tc.reuse {
				want = 1
			}
			if n := srv.conns.Load(); n != want {
				t.Errorf("%d connections for 3 requests, want %d", n, want)
			}
		})
	}
	// Until the connection closes: the body ends with it.
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nuntil the end")
		}
	})
	_, b, err := doLocal(t, newTestLocal(t, 4, 0), context.Background(), "GET", srv.url()+"/", nil)
	if err != nil || string(b) != "until the end" {
		t.Errorf("close-delimited body %q, %v", b, err)
	}
}

// Answers no agent sends fail, without quoting what the server said (it
// may have filled the answer with the token it was sent).
func TestLocalTransportHostileAnswers(t *testing.T) {
	huge := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 2000) + "\r\n"
	for _, tc := range []struct {
		name, answer string
	}{
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"},
		{"gzip transfer encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"malformed status secret-token", "HTTP/1.1 2x0 secret-token\r\n\r\n"},
		{"not http secret-token", "SSH-2.0 secret-token\r\n\r\n"},
		{"malformed header secret-token", "HTTP/1.1 200 OK\r\nsecret-token\r\n\r\n"},
		{"headers too large", huge},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
		{"endless informational", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 20)},
		{"cut in the headers", "HTTP/1.1 200 OK\r\nContent-Le"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"},
		{"cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello"},
		{"cut in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n50\r\nhello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, _, err := readRequest(br); err == nil {
					io.WriteString(c, tc.answer)
				}
			})
			_, _, err := doLocal(t, newTestLocal(t, 4, 0), context.Background(), "GET", srv.url()+"/", nil)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Errorf("the error quotes the answer: %v", err)
			}
		})
	}
}

// The pool opens at most maxConns connections to an agent; a call beyond
// waits for a free one, or for its context.
func TestLocalTransportMaxConns(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			inFlight.Add(-1)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	lt := newTestLocal(t, 3, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b, err := doLocal(t, lt, context.Background(), "GET", srv.url()+"/", nil)
			if err == nil && string(b) != "ok" {
				err = fmt.Errorf("body %q", b)
			}
			errs <- err
		}()
	}
	// A call that gives up while waiting leaves the queue.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, _, err := doLocal(t, lt, ctx, "GET", srv.url()+"/", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call waiting for a connection: %v, want its context's error", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak %d requests in flight, want 3", p)
	}
	if n := srv.conns.Load(); n != 3 {
		t.Errorf("%d connections opened, want 3", n)
	}
}

// An idle connection the agent closed is not reused; a replayable request
// on a reused connection that fails before any byte of the answer is sent
// again on a new one, and a write is not.
func TestLocalTransportStaleConnections(t *testing.T) {
	t.Run("closed while idle", func(t *testing.T) {
		srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
			if _, _, err := readRequest(br); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
			// then close, as an agent's idle timeout does
		})
		lt := newTestLocal(t, 4, 0)
		for i := 0; i < 3; i++ {
			if _, _, err := doLocal(t, lt, context.Background(), "PUT", srv.url()+"/", strings.NewReader("x")); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			time.Sleep(20 * time.Millisecond) // the close arrives
		}
	})
	t.Run("closed with the request", func(t *testing.T) {
		var n atomic.Int64
		srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
			for first := true; ; first = false {
				if _, _, err := readRequest(br); err != nil {
					return
				}
				if !first {
					return // closed without an answer
				}
				n.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		})
		lt := newTestLocal(t, 4, 0)
		for i := 0; i < 3; i++ {
			if _, b, err := doLocal(t, lt, context.Background(), "GET", srv.url()+"/", nil); err != nil || string(b) != "ok" {
				t.Fatalf("read %d: %q, %v", i, b, err)
			}
		}
		if _, _, err := doLocal(t, lt, context.Background(), "PUT", srv.url()+"/", strings.NewReader("x")); err == nil {
			t.Error("a write whose connection closed got no error")
		}
		// Three connections: the first read's, then one for each read
		// whose reused connection closed; none for the write, not sent again.
		if got, conns := n.Load(), srv.conns.Load(); got != 3 || conns != 3 {
			t.Errorf("%d answers on %d connections, want 3 on 3", got, conns)
		}
	})
}

// A call's context ends it wherever it is: waiting for the answer's
// headers, or reading its body; closing the body ends a blocked read too.
func TestLocalTransportCancel(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, _, err := readRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/body" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
		}
		io.Copy(io.Discard, br) // hold the connection open
	})
	lt := newTestLocal(t, 4, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := doLocal(t, lt, ctx, "GET", srv.url()+"/headers", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for headers: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, _, err := doLocal(t, lt, ctx2, "GET", srv.url()+"/body", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reading the body: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the calls ended after %s", d)
	}

	req, _ := http.NewRequest("GET", srv.url()+"/body", nil)
	resp, err := lt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	resp.Body.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a read of a closed body ended without error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the body did not end its blocked read")
	}
}

// The pool of blocking reads bounds the wait for headers.
func TestLocalTransportHeaderTimeout(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		io.Copy(io.Discard, br)
	})
	lt := newTestLocal(t, 4, 150*time.Millisecond)
	start := time.Now()
	_, _, err := doLocal(t, lt, context.Background(), "GET", srv.url()+"/", nil)
	if err == nil || !isTimeout(err) {
		t.Errorf("no headers: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ended after %s", d)
	}
}

// A body read to its end gives its connection back at once; a body
// closed early closes it.
func TestLocalTransportBodyEnd(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world")
		}
	})
	lt := newTestLocal(t, 4, 0)
	req, _ := http.NewRequest("GET", srv.url()+"/", nil)
	resp, err := lt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(buf); err == nil {
		t.Error("a read after Close succeeded")
	}
	_, b, err := doLocal(t, lt, context.Background(), "GET", srv.url()+"/", nil)
	if err != nil || !bytes.Equal(b, []byte("hello world")) {
		t.Fatalf("%q, %v", b, err)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the body closed early closed the first)", n)
	}
}

// An agent may answer a large body before it read it all (413), then
// close: the answer is what the call returns, and the connection is not
// reused. A body of unknown length goes chunked the same way.
func TestLocalTransportAnswerBeforeBody(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.CopyN(io.Discard, req.Body, 1024) // a little of it
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\n\r\ntoo big!")
		time.Sleep(100 * time.Millisecond)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as for unread data
		}
	})
	lt := newTestLocal(t, 4, 0)
	big := bytes.Repeat([]byte("x"), 16<<20)
	for _, body := range []io.Reader{bytes.NewReader(big), io.MultiReader(bytes.NewReader(big))} {
		resp, b, err := doLocal(t, lt, context.Background(), "PUT", srv.url()+"/v1/kv/big", body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge || string(b) != "too big!" {
			t.Errorf("%d %q", resp.StatusCode, b)
		}
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (none reused after an unread body)", n)
	}
}

// Through the client: a loopback agent is spoken to by the local
// transport (no gzip asked for); with a Transport of the caller's, that
// transport sends every request, as before.
func TestClientUsesLocalTransportForLoopback(t *testing.T) {
	ae := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ae <- r.Header.Get("Accept-Encoding")
		w.Header().Set("X-Consul-Default-Acl-Policy", "allow")
		w.Header().Set("X-Consul-Index", "1")
		_, _ = io.WriteString(w, `{"svc":["a"]}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"default", Config{Address: srv.URL}, ""},
		{"caller's transport", Config{Address: srv.URL, Transport: http.DefaultTransport.(*http.Transport).Clone()}, "gzip"},
	} {
		c, err := NewClient(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := c.Catalog.ListServices(context.Background())
		if err != nil || len(m["svc"]) != 1 {
			t.Fatalf("%s: %v %v", tc.name, m, err)
		}
		if got := <-ae; got != tc.want {
			t.Errorf("%s: Accept-Encoding %q, want %q", tc.name, got, tc.want)
		}
	}
}
