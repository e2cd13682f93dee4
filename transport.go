package consul

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// localTransport is the client's own HTTP/1.1 transport to an agent on a
// loopback address or a unix socket, where a Consul agent usually is. It
// sends each request and reads its answer on the caller's goroutine (where
// net/http's Transport hands every request to the two goroutines of its
// connection), and it asks for no compression: over loopback gzip only
// costs CPU, the agent's and the client's. Every other request (https, an
// agent elsewhere, whom a proxy may stand in front of) goes to next.
//
// It keeps net/http's rules where they matter: at most maxConns
// connections per agent (idle ones included; a call waits for a free one,
// or for its context), idle connections closed after idleTimeout and
// checked before reuse, a request sent again only when it is replayable
// (a GET, HEAD, OPTIONS or TRACE whose body can be sent again) and its
// reused connection failed before any byte of the answer, header names and values checked (a CR or LF in a token never
// reaches the wire), and no answer reused across a framing it does not
// understand.
type localTransport struct {
	next          *http.Transport
	socket        string        // a unix socket dialed for every local request
	maxConns      int           // connections per agent, idle ones included
	headerTimeout time.Duration // the wait for an answer's headers; 0: none
	idleTimeout   time.Duration
	dial          func(ctx context.Context, network, addr string) (net.Conn, error) // next's

	mu    sync.Mutex
	hosts map[string]*hostConns
}

// hostConns is the pool of one agent's connections.
type hostConns struct {
	open    int          // connections open or being opened, idle ones included
	idle    []*localConn // the most recently used last
	waiters []chan *localConn
}

// maxHeaderBytes bounds an answer's status line and headers (and a chunked
// answer's trailers): Consul's are well under a kilobyte.
const maxHeaderBytes = 1 << 20

// errBodyClosed is what a read of a closed answer body returns.
var errBodyClosed = errors.New("consul: read on a closed answer body")

// newLocalTransport wraps next, whose limits and timeouts it takes.
// Connections are opened by next's dialer (the unix socket's, for one).
func newLocalTransport(next *http.Transport, socket string) *localTransport {
	dial := next.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &localTransport{
		next:          next,
		socket:        socket,
		maxConns:      max(next.MaxConnsPerHost, 1),
		headerTimeout: next.ResponseHeaderTimeout,
		idleTimeout:   next.IdleConnTimeout,
		dial:          dial,
		hosts:         make(map[string]*hostConns),
	}
}

// local reports whether a request goes to a local agent over plain HTTP.
// net/http's proxy settings never apply to these (ProxyFromEnvironment
// leaves localhost and loopback addresses alone).
func (t *localTransport) local(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	if t.socket != "" {
		return true
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// CloseIdleConnections closes the idle connections of both transports.
func (t *localTransport) CloseIdleConnections() {
	t.mu.Lock()
	var idle []*localConn
	for _, hc := range t.hosts {
		for _, pc := range hc.idle {
			idle = append(idle, pc)
			t.freeLocked(hc)
		}
		hc.idle = nil
	}
	t.mu.Unlock()
	for _, pc := range idle {
		pc.timer.Stop()
		_ = pc.c.Close()
	}
	t.next.CloseIdleConnections()
}

// RoundTrip implements http.RoundTripper.
func (t *localTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.local(req.URL) {
		return t.next.RoundTrip(req)
	}
	// roundTrip closes the body (or has it closed) on every path.
	return t.roundTrip(req)
}

func (t *localTransport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	head, err := requestHead(req)
	if err != nil {
		closeReqBody(req)
		return nil, err
	}
	key := req.URL.Host
	if t.socket != "" {
		key = "unix:" + t.socket
	}
	for try := 0; ; try++ {
		pc, err := t.get(ctx, key, req.URL.Host)
		if err != nil {
			closeReqBody(req)
			return nil, err
		}
		resp, err := pc.roundTrip(req, head)
		if err == nil {
			return resp, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		var stale *staleConnError
		if !errors.As(err, &stale) {
			return nil, err
		}
		// A stale error only comes from a reused connection: retrying
		// while they fail ends at the first new one (or after as many
		// tries as the pool holds connections).
		if try >= t.maxConns || !replayableRequest(req) {
			return nil, stale.err
		}
		if req.Body != nil && req.Body != http.NoBody {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, stale.err
			}
			req.Body = body
		}
	}
}

func closeReqBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// staleConnError is a reused connection that failed before any byte of
// the answer: the agent closed it while it was idle, most likely.
type staleConnError struct{ err error }

func (e *staleConnError) Error() string { return e.err.Error() }
func (e *staleConnError) Unwrap() error { return e.err }

// newStaleConnError wraps err; an EOF is an unexpected one there.
func newStaleConnError(err error) *staleConnError {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &staleConnError{err}
}

// replayableRequest is net/http's rule for sending a request again on a
// new connection: a method without side effects and a body that can be
// had again.
func replayableRequest(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// requestHead checks a request and writes its request line and headers,
// without the framing of its body and the final blank line.
func requestHead(req *http.Request) ([]byte, error) {
	if !validToken(req.Method) {
		return nil, fmt.Errorf("consul: invalid method %q", req.Method)
	}
	uri := req.URL.RequestURI()
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validWireText(uri, false) || uri == "" || !validWireText(host, false) {
		return nil, errors.New("consul: invalid characters in the request's path or host")
	}
	b := make([]byte, 0, 160+len(uri))
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if _, ok := req.Header["User-Agent"]; !ok {
		b = append(b, "User-Agent: Go-http-client/1.1\r\n"...)
	}
	for k, vs := range req.Header {
		if !validToken(k) {
			return nil, fmt.Errorf("consul: invalid header field name %q", k)
		}
		switch textproto.CanonicalMIMEHeaderKey(k) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Trailer":
			continue // framing is the transport's
		case "User-Agent":
			if len(vs) == 1 && vs[0] == "" {
				continue // net/http's way to send none
			}
		}
		for _, v := range vs {
			if !validWireText(v, true) {
				// Never echoed: it may be a token.
				return nil, fmt.Errorf("consul: invalid header field value for %q", k)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, strings.TrimSpace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	if wantsClose(req) {
		b = append(b, "Connection: close\r\n"...)
	}
	return b, nil
}

// wantsClose reports whether the request asks for its connection to be
// closed after it.
func wantsClose(req *http.Request) bool {
	return req.Close || headerHasToken(req.Header["Connection"], "close")
}

// validToken reports whether s is an HTTP token (a method, a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validWireText reports whether s holds no control character (and, unless
// spaces are allowed, no space): a header value, a request target, a host.
func validWireText(s string, spaces bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x7f || (c < ' ' && !(spaces && c == '\t')) || (c == ' ' && !spaces) {
			return false
		}
	}
	return true
}

// get returns a connection to the agent at key: an idle one that is still
// open, else a new one if the pool has room, else the first one freed.
func (t *localTransport) get(ctx context.Context, key, host string) (*localConn, error) {
	for {
		t.mu.Lock()
		hc := t.hosts[key]
		if hc == nil {
			hc = &hostConns{}
			t.hosts[key] = hc
		}
		if n := len(hc.idle); n > 0 {
			pc := hc.idle[n-1]
			hc.idle[n-1] = nil
			hc.idle = hc.idle[:n-1]
			t.mu.Unlock()
			pc.timer.Stop()
			if pc.alive() {
				pc.reused = true
				return pc, nil
			}
			pc.discard()
			continue
		}
		if hc.open < t.maxConns {
			hc.open++
			t.mu.Unlock()
			return t.open(ctx, hc, host)
		}
		ch := make(chan *localConn, 1)
		hc.waiters = append(hc.waiters, ch)
		t.mu.Unlock()
		select {
		case pc := <-ch:
			if pc == nil { // a free place in the pool, handed over
				return t.open(ctx, hc, host)
			}
			if pc.alive() {
				pc.reused = true
				return pc, nil
			}
			pc.discard()
			continue
		case <-ctx.Done():
			t.mu.Lock()
			for i, w := range hc.waiters {
				if w == ch {
					hc.waiters = append(hc.waiters[:i], hc.waiters[i+1:]...)
					break
				}
			}
			t.mu.Unlock()
			select {
			case pc := <-ch: // handed over before the waiter left: pass it on
				if pc == nil {
					t.mu.Lock()
					t.freeLocked(hc)
					t.mu.Unlock()
				} else {
					pc.release()
				}
			default:
			}
			return nil, ctx.Err()
		}
	}
}

// open opens a connection in a place of the pool already taken.
func (t *localTransport) open(ctx context.Context, hc *hostConns, host string) (*localConn, error) {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "80")
	}
	c, err := t.dial(ctx, "tcp", host)
	if err != nil {
		t.mu.Lock()
		t.freeLocked(hc)
		t.mu.Unlock()
		return nil, err
	}
	pc := &localConn{t: t, hc: hc, c: c}
	pc.lr = budgetReader{r: c, n: -1}
	pc.br = bufio.NewReaderSize(&pc.lr, 16<<10)
	pc.bw = bufio.NewWriterSize(c, 4<<10)
	pc.tp = textproto.NewReader(pc.br)
	if sc, ok := c.(syscall.Conn); ok {
		pc.rc, _ = sc.SyscallConn()
	}
	pc.timer = time.AfterFunc(time.Hour, pc.expire)
	pc.timer.Stop()
	pc.poison = func() { _ = c.SetDeadline(aLongTimeAgo) }
	return pc, nil
}

// aLongTimeAgo is a deadline that has passed: it ends a blocked read or
// write at once.
var aLongTimeAgo = time.Unix(1, 0)

// freeLocked gives a closed connection's place in the pool to the first
// waiter, or frees it. t.mu is held.
func (t *localTransport) freeLocked(hc *hostConns) {
	if len(hc.waiters) > 0 {
		w := hc.waiters[0]
		hc.waiters = hc.waiters[1:]
		w <- nil
		return
	}
	hc.open--
}

// localConn is one connection of the pool.
type localConn struct {
	t       *localTransport
	hc      *hostConns
	c       net.Conn
	rc      syscall.RawConn // nil when the connection has none
	lr      budgetReader
	br      *bufio.Reader
	bw      *bufio.Writer
	tp      *textproto.Reader
	timer   *time.Timer // closes the connection when idle too long
	poison  func()      // ends the connection's blocked reads and writes
	stop    func() bool // the request's context.AfterFunc
	reused  bool
	writing chan error // the request body's writer, while it may run
}

// budgetReader reads from r, failing once n bytes were read (n < 0: no
// bound); it bounds an answer's headers.
type budgetReader struct {
	r io.Reader
	n int64
}

var errHeaderTooLarge = errors.New("consul: the answer's headers are too large")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n < 0 {
		return b.r.Read(p)
	}
	if b.n == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// alive reports whether an idle connection is still open: the agent did
// not close it, and sent nothing unasked.
func (pc *localConn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	if pc.rc == nil {
		return true
	}
	return peekAlive(pc.rc)
}

// expire closes the connection when it stayed idle for the idle timeout.
func (pc *localConn) expire() {
	t := pc.t
	t.mu.Lock()
	for i, q := range pc.hc.idle {
		if q == pc {
			pc.hc.idle = append(pc.hc.idle[:i], pc.hc.idle[i+1:]...)
			t.freeLocked(pc.hc)
			t.mu.Unlock()
			_ = pc.c.Close()
			return
		}
	}
	t.mu.Unlock()
}

// release ends the connection's request: it goes back to the pool (or to
// the first waiter) for the next one.
func (pc *localConn) release() {
	if pc.writing != nil {
		select {
		case err := <-pc.writing:
			if err != nil {
				pc.discard()
				return
			}
			pc.writing = nil
		default:
			// The agent answered before it read the whole body: the
			// connection cannot carry another request.
			pc.discard()
			return
		}
	}
	if pc.stop != nil {
		stopped := pc.stop()
		pc.stop = nil
		if !stopped { // the request's context ended: the deadline is spent
			pc.discard()
			return
		}
	}
	t := pc.t
	t.mu.Lock()
	if len(pc.hc.waiters) > 0 {
		w := pc.hc.waiters[0]
		pc.hc.waiters = pc.hc.waiters[1:]
		w <- pc // buffered; under the lock, so that a waiter leaving sees it
		t.mu.Unlock()
		return
	}
	pc.hc.idle = append(pc.hc.idle, pc)
	if t.idleTimeout > 0 {
		pc.timer.Reset(t.idleTimeout) // under the lock: not once another call took it
	}
	t.mu.Unlock()
}

// discard closes the connection and frees its place in the pool.
func (pc *localConn) discard() {
	if pc.stop != nil {
		pc.stop()
		pc.stop = nil
	}
	pc.timer.Stop()
	_ = pc.c.Close()
	t := pc.t
	t.mu.Lock()
	t.freeLocked(pc.hc)
	t.mu.Unlock()
}

// roundTrip sends req on the connection and reads the answer's headers.
// On error the connection is discarded.
func (pc *localConn) roundTrip(req *http.Request, head []byte) (*http.Response, error) {
	ctx := req.Context()
	if ctx.Done() != nil {
		pc.stop = context.AfterFunc(ctx, pc.poison)
	}
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	err := pc.writeHead(req, head, body)
	if err == nil && body != nil {
		if req.ContentLength > 0 && req.ContentLength <= syncBodyBytes {
			err = pc.writeBody(req, body)
		} else {
			// A large body, or one of unknown length (a snapshot), is
			// written while the answer is read, as net/http does: an agent
			// may answer (413, say) before it read it all, then close.
			w, b := make(chan error, 1), body
			pc.writing = w
			go func() {
				err := pc.writeBody(req, b)
				w <- err
				var be *bodyError
				if errors.As(err, &be) {
					// The agent waits for the rest of a body that will
					// not come: end the read of its answer, which then
					// reports the body's error.
					pc.poison()
				}
			}()
		}
	} else if body != nil {
		_ = body.Close()
	}
	if err != nil {
		pc.discard()
		var be *bodyError
		if errors.As(err, &be) {
			return nil, be.err
		}
		if pc.reused {
			return nil, newStaleConnError(err)
		}
		return nil, err
	}
	resp, err := pc.readResponse(req)
	if err != nil {
		if pc.writing != nil {
			select {
			case werr := <-pc.writing:
				var be *bodyError
				if errors.As(werr, &be) {
					err = be.err
				}
			default:
			}
		}
		pc.discard()
		return nil, err
	}
	return resp, nil
}

// bodyError is a request body that could not be read, or was not as long
// as its ContentLength: the caller's failure, not the connection's.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// bodyReader remembers the error of a request body's reads.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// syncBodyBytes is the largest request body written before the answer is
// read: the agent's socket buffers take it whole even when the agent does
// not read it.
const syncBodyBytes = 64 << 10

var (
	errMalformedAnswer  = errors.New("consul: malformed HTTP status line in the answer")
	errMalformedHeaders = errors.New("consul: malformed headers in the answer")
)

var errBodyLength = errors.New("consul: the request body is not as long as its ContentLength")

// writeHead writes the request line, the headers and the body's framing,
// and sends them unless a body follows.
func (pc *localConn) writeHead(req *http.Request, head []byte, body io.Reader) error {
	w := pc.bw
	_, _ = w.Write(head)
	switch {
	case body == nil:
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			_, _ = w.WriteString("Content-Length: 0\r\n")
		}
		_, _ = w.WriteString("\r\n")
		return w.Flush()
	case req.ContentLength > 0:
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.WriteString(strconv.FormatInt(req.ContentLength, 10))
		_, _ = w.WriteString("\r\n\r\n")
	default:
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	}
	return nil
}

// writeBody writes the body after writeHead, sends the request and closes
// the body.
func (pc *localConn) writeBody(req *http.Request, body io.ReadCloser) error {
	defer body.Close()
	w := pc.bw
	br := &bodyReader{r: body}
	if req.ContentLength > 0 {
		n, err := io.Copy(w, io.LimitReader(br, req.ContentLength))
		switch {
		case br.err != nil:
			return &bodyError{br.err}
		case err == nil && n != req.ContentLength:
			return &bodyError{errBodyLength}
		case err != nil:
			return err
		}
		return w.Flush()
	}
	cw := httputil.NewChunkedWriter(w)
	if _, err := io.Copy(cw, br); err != nil {
		if br.err != nil {
			return &bodyError{br.err}
		}
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	_, _ = w.WriteString("\r\n") // no trailers
	return w.Flush()
}

// readResponse reads an answer's status line and headers, and sets up its
// body.
func (pc *localConn) readResponse(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if pc.t.headerTimeout > 0 {
		_ = pc.c.SetReadDeadline(time.Now().Add(pc.t.headerTimeout))
		if err := ctx.Err(); err != nil {
			return nil, err // the deadline set may have undone the context's
		}
	}
	pc.lr.n = maxHeaderBytes
	if _, err := pc.br.Peek(1); err != nil {
		if pc.reused && ctx.Err() == nil && !isTimeout(err) {
			return nil, newStaleConnError(err)
		}
		return nil, pc.readErr(ctx, err)
	}
	resp := &http.Response{Request: req}
	for informational := 0; ; informational++ {
		// A head whole in the buffer, in the plain form agents write, is
		// parsed at once; anything else is read line by line.
		buf, _ := pc.br.Peek(pc.br.Buffered())
		line, fastHeader, n, fast := parseHead(buf)
		if fast {
			_, _ = pc.br.Discard(n)
		} else {
			var err error
			if line, err = pc.tp.ReadLine(); err != nil {
				return nil, pc.readErr(ctx, err)
			}
		}
		// The answer's own words are never quoted in an error: a hostile
		// server may fill them with the token it was sent.
		proto, status, ok := strings.Cut(line, " ")
		major, minor, pok := http.ParseHTTPVersion(proto)
		if !ok || !pok || major != 1 || len(status) < 3 || (len(status) > 3 && status[3] != ' ') {
			return nil, errMalformedAnswer
		}
		code, cerr := strconv.Atoi(status[:3])
		if cerr != nil || code < 100 || status[0] == '+' || status[0] == '-' {
			return nil, errMalformedAnswer
		}
		h := fastHeader
		if !fast {
			mh, err := pc.tp.ReadMIMEHeader()
			if err != nil {
				var pe textproto.ProtocolError
				if errors.As(err, &pe) {
					return nil, errMalformedHeaders
				}
				return nil, pc.readErr(ctx, err)
			}
			h = http.Header(mh)
		}
		if code >= 200 {
			resp.Proto, resp.ProtoMajor, resp.ProtoMinor = proto, major, minor
			resp.Status, resp.StatusCode = status, code
			resp.Header = h
			break
		}
		if code == http.StatusSwitchingProtocols || informational >= 8 {
			return nil, fmt.Errorf("consul: unexpected HTTP status %d", code)
		}
	}
	pc.lr.n = -1
	if pc.t.headerTimeout > 0 {
		_ = pc.c.SetReadDeadline(time.Time{})
		if err := ctx.Err(); err != nil {
			// The context may have ended before the deadline was
			// cleared, and its end must still stop the body's reads.
			return nil, err
		}
	}

	keep := !headerHasToken(resp.Header["Connection"], "close") && !wantsClose(req)
	if resp.ProtoMinor == 0 {
		keep = keep && headerHasToken(resp.Header["Connection"], "keep-alive")
	}
	b := &localBody{pc: pc, ctx: ctx, keep: keep}
	te := resp.Header["Transfer-Encoding"]
	switch {
	case req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified:
		resp.ContentLength = 0
		if req.Method == http.MethodHead {
			resp.ContentLength = -1
			if n, err := contentLength(resp.Header["Content-Length"]); err == nil {
				resp.ContentLength = n
			}
		}
		resp.Body = http.NoBody
		if keep {
			pc.release()
		} else {
			pc.discard()
		}
		return resp, nil
	case len(te) > 0 && resp.ProtoMinor > 0:
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return nil, errors.New("consul: the answer has a transfer encoding other than chunked")
		}
		delete(resp.Header, "Transfer-Encoding")
		delete(resp.Header, "Content-Length") // chunked framing wins (RFC 9112 6.3)
		resp.TransferEncoding = []string{"chunked"}
		resp.ContentLength = -1
		b.chunked = httputil.NewChunkedReader(pc.br)
	default:
		n, err := contentLength(resp.Header["Content-Length"])
		if err != nil {
			return nil, err
		}
		resp.ContentLength = n
		b.n = n
		if n < 0 {
			b.keep = false // until the connection closes
		}
	}
	resp.Close = !b.keep
	resp.Body = b
	if ce := resp.Header["Content-Encoding"]; len(ce) == 1 && strings.EqualFold(ce[0], "gzip") && req.Header.Get("Accept-Encoding") == "" {
		// Not asked for, but a proxy on the way may compress all the
		// same: decompressed as net/http does when it asked.
		delete(resp.Header, "Content-Encoding")
		delete(resp.Header, "Content-Length")
		resp.ContentLength, resp.Uncompressed = -1, true
		resp.Body = &gzipBody{body: b}
	}
	return resp, nil
}

// gzipBody decompresses a gzipped answer as it is read.
type gzipBody struct {
	body io.ReadCloser
	zr   *gzip.Reader
	err  error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		g.zr, g.err = gzip.NewReader(g.body)
		if g.err != nil {
			return 0, g.err
		}
	}
	return g.zr.Read(p)
}

func (g *gzipBody) Close() error { return g.body.Close() }

// readErr is the error of a failed read: the context's when it ended.
func (pc *localConn) readErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if isTimeout(err) && pc.t.headerTimeout > 0 {
		return fmt.Errorf("consul: no answer headers within %s: %w", pc.t.headerTimeout, err)
	}
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// contentLength parses the Content-Length values of an answer: -1 when
// there is none; several must agree.
func contentLength(vs []string) (int64, error) {
	if len(vs) == 0 {
		return -1, nil
	}
	v := strings.TrimSpace(vs[0])
	for _, o := range vs[1:] {
		if strings.TrimSpace(o) != v {
			return 0, errors.New("consul: the answer has conflicting Content-Length headers")
		}
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, errors.New("consul: the answer has a malformed Content-Length")
	}
	return int64(n), nil
}

// headerHasToken reports whether a comma-separated header holds token.
func headerHasToken(vs []string, token string) bool {
	for _, v := range vs {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// localBody is an answer's body on a connection of the pool. Reaching its
// end gives the connection back; closing it before closes the connection.
// Close may be called while a Read is blocked: the Read ends.
type localBody struct {
	ctx     context.Context
	chunked io.Reader // the chunked framing; nil for a Content-Length (or none)
	n       int64     // bytes left for a Content-Length; -1: until the connection closes
	keep    bool      // the connection may be reused after the body

	mu  sync.Mutex
	pc  *localConn // nil once the body ended or was closed
	err error      // what every further Read returns
}

func (b *localBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	pc, err := b.pc, b.err
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var end bool
	switch {
	case b.chunked != nil:
		n, err = b.chunked.Read(p)
		if err == io.EOF {
			err = nil
			end = true
			// Trailers, if any, are read and dropped.
			pc.lr.n = maxHeaderBytes
			if _, terr := pc.tp.ReadMIMEHeader(); terr != nil {
				var pe textproto.ProtocolError
				if errors.As(terr, &pe) {
					terr = errMalformedHeaders // never quoted: see readResponse
				}
				err = terr
			}
			pc.lr.n = -1
		}
	case b.n >= 0:
		if b.n == 0 {
			end = true
			break
		}
		if int64(len(p)) > b.n {
			p = p[:b.n]
		}
		n, err = pc.br.Read(p)
		b.n -= int64(n)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if b.n == 0 && err == nil {
			end = true
		}
	default:
		n, err = pc.br.Read(p)
		if err == io.EOF {
			err, end = nil, true
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil { // closed while reading; Close discarded the connection
		return n, b.err
	}
	switch {
	case err != nil:
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
		b.err, b.pc = err, nil
		pc.discard()
		return n, err
	case end:
		b.err, b.pc = io.EOF, nil
		if b.keep {
			pc.release()
		} else {
			pc.discard()
		}
		return n, io.EOF
	}
	return n, nil
}

// Close ends the body; before its end it closes the connection.
func (b *localBody) Close() error {
	b.mu.Lock()
	pc := b.pc
	if b.err == nil {
		b.err = errBodyClosed
	}
	b.pc = nil
	b.mu.Unlock()
	if pc != nil {
		pc.discard()
	}
	return nil
}
