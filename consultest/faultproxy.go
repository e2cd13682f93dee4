package consultest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// FaultProxy is an HTTP proxy in front of one agent that injects faults
// on command, for fault tests of Consul clients (this library's and its
// users'). Point a client at Addr (or URL) instead of the agent: every
// request goes through to the agent, unchanged and streamed (blocking reads
// and streaming answers work), except those that match a rule, which get
// the rule's fault:
//
//	p := consultest.NewFaultProxy(t, srv.HTTPAddr)
//	client, _ := consul.NewClient(consul.Config{Address: p.Addr()})
//	renew := p.On("PUT", "/v1/session/renew/")
//	renew.Status(500, 0, "no leader")         // every renewal fails...
//	blocking := p.OnFunc(func(r *http.Request) bool { return r.URL.Query().Has("index") })
//	blocking.Status(503, 30*time.Second, "") // ...and blocking reads get a 503 with Retry-After: 30
//	...
//	renew.Pass() // back to normal
//	t.Log(renew.Count(), "renewals")
//
// The faults: Status answers without asking the agent; Delay waits, then
// passes the request on; DelayAnswer passes the request on and holds the
// agent's whole answer back for a while (the client gets a stale answer);
// Hang never answers, until the client gives up or the proxy is closed;
// CutMidBody passes the request on and sends the agent's status, headers
// and half of its body, then closes the connection. A rule's fault can be changed at any time, by any goroutine;
// the first rule (in the order they were added) that matches a request
// decides, and counts it.
//
// The proxy listens on 127.0.0.1 and forwards only to the loopback
// target it was started with, over plain HTTP.
type FaultProxy struct {
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	tr     *http.Transport

	closing chan struct{} // closed by Close

	mu      sync.Mutex
	rules   []*FaultRule
	closed  bool
	running sync.WaitGroup // handlers in flight
}

// NewFaultProxy starts a fault proxy in front of the agent at target
// ("ip:port" or "http://ip:port", on a loopback address, such as
// Server.HTTPAddr) and closes it when the test ends. It fails the test if
// the proxy does not start.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p, err := StartFaultProxy(target)
	if err != nil {
		t.Fatalf("consultest: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// StartFaultProxy starts a fault proxy in front of the agent at target
// ("ip:port" or "http://ip:port", on a loopback address). Call Close when
// done.
func StartFaultProxy(target string) (*FaultProxy, error) {
	raw := target
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("consultest: fault proxy target %q: %w", target, err)
	}
	if u.Scheme != "http" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("consultest: fault proxy target %q: want ip:port or http://ip:port", target)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("consultest: fault proxy target %q is not a loopback address", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("consultest: fault proxy: %w", err)
	}
	p := &FaultProxy{
		target: &url.URL{Scheme: "http", Host: u.Host},
		ln:     ln,
		tr: &http.Transport{
			Proxy:               nil, // never an environment's proxy: loopback only
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true, // pass the client's Accept-Encoding and the answer as they are
		},
		closing: make(chan struct{}),
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Addr is the proxy's "127.0.0.1:port": pass it as consul.Config.Address.
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's "http://127.0.0.1:port".
func (p *FaultProxy) URL() string { return "http://" + p.Addr() }

// On adds a rule matching the requests of method (any method when empty)
// whose path (decoded, without the query) starts with pathPrefix, e.g.
// On("PUT", "/v1/session/renew/"). The rule passes requests through until
// it is given a fault.
func (p *FaultProxy) On(method, pathPrefix string) *FaultRule {
	return p.OnFunc(func(r *http.Request) bool {
		return (method == "" || r.Method == method) && strings.HasPrefix(r.URL.Path, pathPrefix)
	})
}

// OnFunc adds a rule matching the requests for which match returns true.
// match must not read the request's body; it may be called concurrently.
func (p *FaultProxy) OnFunc(match func(*http.Request) bool) *FaultRule {
	r := &FaultRule{p: p, match: match}
	p.mu.Lock()
	p.rules = append(p.rules, r)
	p.mu.Unlock()
	return r
}

// Clear removes every rule: all requests pass through again.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	p.rules = nil
	p.mu.Unlock()
}

// Close stops the proxy: it stops listening, closes every connection
// (those of hung requests too) and waits for the requests in flight to
// end. Closing a closed proxy does nothing.
func (p *FaultProxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.closing)
	err := p.srv.Close()
	p.running.Wait()
	p.tr.CloseIdleConnections()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// FaultRule is a rule of a FaultProxy: which requests it matches, and the
// fault they get. Its methods are safe for concurrent use and return the
// rule, so that a fault can be set as the rule is added.
type FaultRule struct {
	p     *FaultProxy
	match func(*http.Request) bool
	count atomic.Int64

	mu    sync.Mutex
	fault fault
}

type faultKind int

const (
	faultPass faultKind = iota
	faultStatus
	faultDelay
	faultHang
	faultCut
	faultDelayAnswer
)

type fault struct {
	kind       faultKind
	code       int
	retryAfter time.Duration
	body       string
	delay      time.Duration
}

func (r *FaultRule) set(f fault) *FaultRule {
	r.mu.Lock()
	r.fault = f
	r.mu.Unlock()
	return r
}

func (r *FaultRule) get() fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fault
}

// Pass lets the matching requests through to the agent, unchanged.
func (r *FaultRule) Pass() *FaultRule { return r.set(fault{kind: faultPass}) }

// Status answers the matching requests with code and body, without asking
// the agent; a positive retryAfter is sent as a Retry-After header (whole
// seconds, rounded up). An empty body is the status text. A code outside
// 100-999 panics.
func (r *FaultRule) Status(code int, retryAfter time.Duration, body string) *FaultRule {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("consultest: FaultRule.Status: invalid status code %d", code))
	}
	return r.set(fault{kind: faultStatus, code: code, retryAfter: retryAfter, body: body})
}

// Delay holds the matching requests for d, then passes them to the agent
// (a request whose client gives up meanwhile never reaches it).
func (r *FaultRule) Delay(d time.Duration) *FaultRule {
	return r.set(fault{kind: faultDelay, delay: d})
}

// DelayAnswer passes the matching requests to the agent at once, waits for
// its whole answer (a blocking read answers after its wait), and sends it
// d later: by then it may describe a state that has changed since. The
// client giving up meanwhile closes the connection instead, as does an
// answer larger than 4 MiB.
func (r *FaultRule) DelayAnswer(d time.Duration) *FaultRule {
	return r.set(fault{kind: faultDelayAnswer, delay: d})
}

// Hang never answers the matching requests (nor passes them on): they wait
// until their client gives up or the proxy is closed.
func (r *FaultRule) Hang() *FaultRule { return r.set(fault{kind: faultHang}) }

// CutMidBody passes the matching requests to the agent, waits for its whole
// answer (a blocking read answers after its wait), then sends the status,
// the headers with the answer's full Content-Length, and the first half of
// the body, and closes the connection. An empty answer is announced as one
// byte long and none is sent.
func (r *FaultRule) CutMidBody() *FaultRule { return r.set(fault{kind: faultCut}) }

// Count is the number of requests the rule has matched so far.
func (r *FaultRule) Count() int { return int(r.count.Load()) }

// Remove removes the rule: the requests it matched go on to the next rules.
func (r *FaultRule) Remove() {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.rules {
		if x == r {
			p.rules = append(p.rules[:i:i], p.rules[i+1:]...)
			return
		}
	}
}

// cutMaxBody bounds the answer CutMidBody reads before cutting it.
const cutMaxBody = 4 << 20

func (p *FaultProxy) serve(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		http.Error(w, "fault proxy closed", http.StatusServiceUnavailable)
		return
	}
	p.running.Add(1)
	var rule *FaultRule
	for _, r := range p.rules {
		if r.match(req) {
			rule = r
			break
		}
	}
	p.mu.Unlock()
	defer p.running.Done()

	// Requests end when their client gives up or the proxy closes.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	go func() {
		select {
		case <-p.closing:
			cancel()
		case <-ctx.Done():
		}
	}()

	var f fault
	if rule != nil {
		rule.count.Add(1)
		f = rule.get()
	}
	switch f.kind {
	case faultStatus:
		if f.retryAfter > 0 {
			secs := (f.retryAfter + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		}
		body := f.body
		if body == "" {
			body = http.StatusText(f.code)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(f.code)
		_, _ = io.WriteString(w, body)
		return
	case faultHang, faultDelay:
		// Read the request's body first: only then does the server notice
		// a client that gives up (and cancel ctx).
		if req.Body != nil && req.Body != http.NoBody {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				p.abort(w)
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	switch f.kind {
	case faultHang:
		<-ctx.Done()
		p.abort(w)
		return
	case faultDelay:
		if !p.hold(ctx, w, f.delay) {
			return
		}
	}
	p.forward(ctx, w, req, f)
}

// hold waits d; when ctx ends first it aborts the request and returns
// false.
func (p *FaultProxy) hold(ctx context.Context, w http.ResponseWriter, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		p.abort(w)
		return false
	case <-t.C:
		return true
	}
}

// abort closes the connection of a request without answering.
func (p *FaultProxy) abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// hopHeaders are the hop-by-hop headers a proxy does not pass on.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// forward passes req to the target and its answer back: streamed, cut in
// the middle of the body (faultCut) or held back for f.delay
// (faultDelayAnswer).
func (p *FaultProxy) forward(ctx context.Context, w http.ResponseWriter, req *http.Request, f fault) {
	out := req.Clone(ctx)
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	out.Host = p.target.Host
	if req.ContentLength == 0 {
		out.Body = nil
	}
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		if ctx.Err() != nil {
			p.abort(w)
			return
		}
		http.Error(w, "fault proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	rc := http.NewResponseController(w)
	if f.kind == faultDelayAnswer {
		body, err := io.ReadAll(io.LimitReader(resp.Body, cutMaxBody+1))
		if err != nil || len(body) > cutMaxBody {
			// Held whole or not at all: never a shorter answer that
			// looks complete.
			p.abort(w)
			return
		}
		if !p.hold(ctx, w, f.delay) {
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return
	}
	if f.kind == faultCut {
		body, err := io.ReadAll(io.LimitReader(resp.Body, cutMaxBody))
		if err != nil {
			p.abort(w)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(max(len(body), 1)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body[:len(body)/2])
		_ = rc.Flush()
		p.abort(w)
		return
	}
	w.WriteHeader(resp.StatusCode)
	_ = rc.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// The agent's answer broke off: so does ours.
				p.abort(w)
			}
			return
		}
	}
}
