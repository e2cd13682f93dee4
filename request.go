package consul

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// param is one endpoint-specific query parameter; an empty v sends a bare
// key such as ?recurse.
type param struct{ k, v string }

// request is one call of the HTTP API, before the options are applied.
type request struct {
	method string
	path   string  // escaped path, e.g. "/v1/kv/app%20x"
	params []param // endpoint parameters, sent before the options' ones
	body   any     // nil, []byte, io.Reader, or a value encoded as JSON
	// read makes the consistency, blocking and cache options apply.
	read bool
	// okStatuses are non-2xx statuses whose body is decoded like a success
	// when it is a JSON object or array: 409 for transactions (the body lists
	// the failed operations), 429 for autopilot health, 429 and 503 for the
	// agent's local service health, where the status is part of the result.
	// The same status with another body, such as the plain text 429 of
	// Consul's rate limiter, is an error.
	okStatuses []int
	// notFoundOK applies the library's 404 rule to a read of one object: a
	// 404 answer returns its Meta and no error, leaving out untouched.
	notFoundOK bool
}

// get is a read: GET path, decoding the JSON answer into out.
func (c *Client) get(ctx context.Context, path string, ps []param, opts []Option, out any) (*Meta, error) {
	return c.call(ctx, request{method: http.MethodGet, path: path, params: ps, read: true}, opts, out)
}

// getOptional is a read of one object under the library's 404 rule: when
// Consul answers 404 it returns the answer's Meta and a nil error, and out
// keeps its zero value, so that a caller can block on an object that does
// not exist yet.
func (c *Client) getOptional(ctx context.Context, path string, ps []param, opts []Option, out any) (*Meta, error) {
	return c.call(ctx, request{method: http.MethodGet, path: path, params: ps, read: true, notFoundOK: true}, opts, out)
}

// first returns the first element of a list answer, or nil for an empty
// one: many routes answer a read of one object with a one-element array.
func first[T any](list []*T) *T {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// write is a PUT, POST or DELETE sending body and decoding the answer into
// out when out is not nil.
func (c *Client) write(ctx context.Context, method, path string, ps []param, body any, opts []Option, out any) (*Meta, error) {
	return c.call(ctx, request{method: method, path: path, params: ps, body: body}, opts, out)
}

// call is the one request pipeline: it applies the client defaults and the
// options, sends, parses the Meta headers, maps non-2xx answers to
// *StatusError and decodes a JSON answer into out (out may be nil, or a
// *[]byte for a raw answer). The body is always drained and closed. On a
// non-2xx answer the parsed Meta is returned with the error.
func (c *Client) call(ctx context.Context, r request, opts []Option, out any) (*Meta, error) {
	var o callOptions
	if err := c.resolve(opts, &o); err != nil {
		return nil, err
	}
	if r.read && o.blocking() {
		// A blocking read must not hang forever on a dead connection: Consul
		// answers within wait plus up to wait/16 of jitter.
		wait := o.wait
		switch {
		case wait == 0:
			wait = defaultWait
		case wait > maxWait:
			wait = maxWait
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait+wait/16+blockingMargin)
		defer cancel()
	}
	tried := 1 // agents tried for this call, for failover
	for attempt := 0; ; {
		cur := c.cur.Load()
		resp, meta, err := c.send(ctx, &r, &o, opts, c.bases[cur])
		if err == nil {
			return meta, c.decodeAnswer(ctx, &r, resp, out)
		}
		if r.notFoundOK && isNotFound(err) {
			return meta, nil
		}
		if ctx.Err() != nil || !replayable(r.body) {
			return meta, err
		}
		if isDialError(err) && tried < len(c.bases) {
			// Nothing was sent: fail over to the next agent at once.
			c.cur.CompareAndSwap(cur, (cur+1)%uint32(len(c.bases)))
			tried++
			continue
		}
		if attempt >= c.retries || !retryable(&r, &o, err) {
			return meta, err
		}
		if werr := sleepCtx(ctx, retryDelay(attempt, err)); werr != nil {
			return meta, err
		}
		attempt++
		tried = 1
	}
}

// decodeAnswer decodes a successful answer into out and closes its body.
// (A defer in call's retry loop would be allocated on every call.)
func (c *Client) decodeAnswer(ctx context.Context, r *request, resp *http.Response, out any) error {
	defer closeBody(resp.Body)
	if err := decodeBody(resp.Body, out); err != nil {
		return c.wrapErr(ctx, r, "decode answer", err)
	}
	return nil
}

// replayable reports whether a request body can be sent again.
func replayable(body any) bool {
	_, isReader := body.(io.Reader)
	return !isReader
}

// retryable reports whether retrying is safe and may help: a connection
// that could not be opened (nothing was sent), or a non-blocking read that
// failed in transport or got a 429 or a 5xx.
func retryable(r *request, o *callOptions, err error) bool {
	if isDialError(err) {
		return true
	}
	if r.method != http.MethodGet || o.blocking() {
		return false
	}
	if se, ok := err.(*StatusError); ok {
		return se.Temporary()
	}
	var ae *ArgumentError
	return !errors.As(err, &ae)
}

func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// retryDelay is 50ms, 100ms, 200ms... capped at 1s, with jitter in its upper
// half; a 429 or 503 that asks for a delay gets it, up to 10s.
func retryDelay(attempt int, err error) time.Duration {
	if se, ok := err.(*StatusError); ok && se.RetryAfter > 0 {
		return min(se.RetryAfter, 10*time.Second)
	}
	d := min(50*time.Millisecond<<min(attempt, 5), time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// blockingMargin is added to a blocking read's timeout on top of Consul's
// own wait and jitter. It is a variable only for tests.
var blockingMargin = 5 * time.Second

// send builds and sends the request and checks its status. On success the
// caller owns resp.Body; otherwise the body is closed.
func (c *Client) send(ctx context.Context, r *request, o *callOptions, opts []Option, base string) (*http.Response, *Meta, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, c.wrapErr(ctx, r, "", err)
	}
	body, ctype, err := encodeBody(r.body)
	if err != nil {
		return nil, nil, fmt.Errorf("consul: %s %s: encode body: %w", r.method, r.path, err)
	}

	var u strings.Builder
	u.Grow(len(base) + len(r.path) + 32)
	u.WriteString(base)
	u.WriteString(r.path)
	q := queryWriter{b: &u}
	for _, p := range r.params {
		q.add(p.k, p.v)
	}
	c.writeQuery(&q, r, o, opts)

	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("consul: %s %s: %w", r.method, r.path, err)
	}
	if o.token != "" {
		req.Header["X-Consul-Token"] = []string{o.token}
	}
	if c.authHeader != "" {
		req.Header["Authorization"] = []string{c.authHeader}
	}
	if ctype != "" {
		req.Header["Content-Type"] = []string{ctype}
	}
	if r.read && (o.hasMaxAge || o.hasStale) {
		req.Header["Cache-Control"] = []string{cacheControl(o)}
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, c.wrapErr(ctx, r, "", err)
	}
	meta, err := parseMeta(resp.Header)
	if err != nil {
		closeBody(resp.Body)
		return nil, nil, fmt.Errorf("consul: %s %s: %w", r.method, r.path, err)
	}
	meta.RequestTime = time.Since(start)
	if resp.StatusCode/100 == 2 {
		return resp, meta, nil
	}
	if slices.Contains(r.okStatuses, resp.StatusCode) {
		br := bufio.NewReaderSize(resp.Body, 512)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{br, resp.Body}
		if startsJSON(br) {
			return resp, meta, nil
		}
	}
	defer closeBody(resp.Body)
	return nil, meta, statusError(r, resp)
}

// startsJSON reports whether the next non-space byte of br opens a JSON
// object or array, without consuming it.
func startsJSON(br *bufio.Reader) bool {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil || i > 64 {
			return false
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
}

// wrapErr wraps a transport error, preferring the context's own error when
// the context ended: a cancelled call reports context.Canceled, not the
// transport's view of it.
func (c *Client) wrapErr(ctx context.Context, r *request, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	if what != "" {
		return fmt.Errorf("consul: %s %s: %s: %w", r.method, r.path, what, err)
	}
	return fmt.Errorf("consul: %s %s: %w", r.method, r.path, err)
}

// writeQuery appends the query parameters of the resolved options and of
// the multi-valued options.
func (c *Client) writeQuery(q *queryWriter, r *request, o *callOptions, opts []Option) {
	if o.dc != "" {
		q.add("dc", o.dc)
	}
	if o.ns != "" {
		q.add("ns", o.ns)
	}
	if o.partition != "" {
		q.add("partition", o.partition)
	}
	if r.read {
		switch o.consistency {
		case ConsistencyStale:
			q.add("stale", "")
		case ConsistencyConsistent:
			q.add("consistent", "")
		case ConsistencyLeader:
			q.add("leader", "")
		}
		if o.maxStale > 0 {
			q.add("max_stale", o.maxStale.String())
		}
		if o.index > 0 {
			q.add("index", strconv.FormatUint(o.index, 10))
		}
		if o.hash != "" {
			q.add("hash", o.hash)
		}
		if o.wait > 0 && o.blocking() {
			q.add("wait", o.wait.String())
		}
		if o.cached {
			q.add("cached", "")
		}
	}
	for i := range opts {
		op := &opts[i]
		switch op.kind {
		case optFilter:
			q.add("filter", op.s1)
		case optNear:
			q.add("near", op.s1)
		case optNodeMeta:
			q.add("node-meta", op.s1+":"+op.s2)
		case optPeer:
			q.add("peer", op.s1)
		case optTag:
			q.add("tag", op.s1)
		case optPassing:
			q.add("passing", "")
		case optSeparator:
			q.add("separator", op.s1)
		case optFlags:
			q.add("flags", strconv.FormatUint(op.n, 10))
		case optParam:
			q.add(op.s1, op.s2)
		}
	}
}

func cacheControl(o *callOptions) string {
	var parts []string
	if o.hasMaxAge {
		parts = append(parts, "max-age="+strconv.FormatInt(int64(o.maxAge/time.Second), 10))
	}
	if o.hasStale {
		parts = append(parts, "stale-if-error="+strconv.FormatInt(int64(o.staleIfErr/time.Second), 10))
	}
	return strings.Join(parts, ", ")
}

// queryWriter appends escaped query parameters to a URL being built.
type queryWriter struct {
	b    *strings.Builder
	some bool
}

func (q *queryWriter) add(k, v string) {
	if q.some {
		q.b.WriteByte('&')
	} else {
		q.b.WriteByte('?')
		q.some = true
	}
	q.b.WriteString(url.QueryEscape(k))
	if v != "" {
		q.b.WriteByte('=')
		q.b.WriteString(url.QueryEscape(v))
	}
}

func encodeBody(v any) (io.Reader, string, error) {
	switch b := v.(type) {
	case nil:
		return nil, "", nil
	case []byte:
		return bytes.NewReader(b), "", nil
	case io.Reader:
		return b, "", nil
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, "", err
		}
		return bytes.NewReader(raw), "application/json", nil
	}
}

// decodeBody reads the whole answer into a pooled buffer and decodes it
// from there: the fast path of decode.go for the big listings, else
// encoding/json. Decoding from memory spares json.Decoder's own copy of the
// body and its incremental refills.
func decodeBody(body io.Reader, out any) error {
	switch v := out.(type) {
	case nil:
		return nil
	case *[]byte:
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		*v = b
		return nil
	}
	buf := bodyBufs.get()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBufs.put(buf)
		}
	}()
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	return unmarshalAnswer(buf.Bytes(), out)
}

// unmarshalAnswer decodes one JSON answer as json.Decoder would: the first
// value counts and what follows it is not read.
func unmarshalAnswer(b []byte, out any) error {
	if fastDecode(b, out) {
		return nil
	}
	err := json.Unmarshal(b, out)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Trailing data, or a real syntax error: json.Decoder says which.
		return json.NewDecoder(bytes.NewReader(b)).Decode(out)
	}
	return err
}

// bodyBufs keeps the buffers answers are read into.
var bodyBufs = newScratch[bytes.Buffer](4)

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 2 << 20

// scratch keeps a few values for reuse across calls, such as the buffers
// answers are read into. Unlike a sync.Pool it is not emptied by every
// garbage collection: reading big answers allocates fast enough that the
// collector ran between most reads and a pool kept nothing. It holds at
// most its capacity, so what it keeps alive is bounded.
type scratch[T any] struct{ free chan *T }

func newScratch[T any](n int) *scratch[T] { return &scratch[T]{free: make(chan *T, n)} }

func (s *scratch[T]) get() *T {
	select {
	case v := <-s.free:
		return v
	default:
		return new(T)
	}
}

func (s *scratch[T]) put(v *T) {
	select {
	case s.free <- v:
	default:
	}
}

// maxDrain bounds how much of an unread answer is read to let the
// connection be reused; a longer rest closes the connection instead.
const maxDrain = 256 << 10

func closeBody(b io.ReadCloser) {
	// Read through a reused buffer: an io.LimitReader and io.Copy's own
	// buffer would be allocated on every call.
	buf := drainBufs.get()
	for n := 0; n < maxDrain; {
		m, err := b.Read(buf[:min(len(buf), maxDrain-n)])
		n += m
		if err != nil {
			break
		}
	}
	drainBufs.put(buf)
	_ = b.Close()
}

var drainBufs = newScratch[[4 << 10]byte](4)

func statusError(r *request, resp *http.Response) *StatusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &StatusError{
		StatusCode: resp.StatusCode,
		Method:     r.method,
		Path:       r.path,
		Body:       strings.TrimSpace(string(body)),
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			if d := time.Until(t); d > 0 {
				e.RetryAfter = d
			}
		}
	}
	return e
}

// The response headers of Meta, in canonical form so that the map is read
// without canonicalising on every call.
const (
	hIndex       = "X-Consul-Index"
	hKnownLeader = "X-Consul-Knownleader"
	hLastContact = "X-Consul-Lastcontact"
	hContentHash = "X-Consul-Contenthash"
	hConsistency = "X-Consul-Effective-Consistency"
	hCache       = "X-Cache"
	hAge         = "Age"
	hDefaultACL  = "X-Consul-Default-Acl-Policy"
	hFilteredACL = "X-Consul-Results-Filtered-By-Acls"
	hBackend     = "X-Consul-Query-Backend"
)

// parseMeta reads every Meta header once. A header that is present but does
// not parse is an error, never a silent zero.
func parseMeta(h http.Header) (*Meta, error) {
	m := &Meta{}
	if v, ok := header(h, hIndex); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("malformed %s header %q", hIndex, v)
		}
		m.Index = n
	}
	if v, ok := header(h, hKnownLeader); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("malformed X-Consul-KnownLeader header %q", v)
		}
		m.KnownLeader = b
	}
	if v, ok := header(h, hLastContact); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("malformed X-Consul-LastContact header %q", v)
		}
		m.LastContact = time.Duration(n) * time.Millisecond
	}
	if v, ok := header(h, hContentHash); ok {
		m.ContentHash = v
	}
	if v, ok := header(h, hConsistency); ok {
		m.EffectiveConsistency = v
	}
	if v, ok := header(h, hCache); ok {
		switch v {
		case "HIT":
			m.CacheHit = true
		case "MISS":
		default:
			return nil, fmt.Errorf("malformed X-Cache header %q", v)
		}
	}
	if v, ok := header(h, hAge); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("malformed Age header %q", v)
		}
		m.CacheAge = time.Duration(n) * time.Second
	}
	if v, ok := header(h, hDefaultACL); ok {
		m.DefaultACLPolicy = v
	}
	if v, ok := header(h, hFilteredACL); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("malformed X-Consul-Results-Filtered-By-ACLs header %q", v)
		}
		m.ResultsFilteredByACLs = b
	}
	if v, ok := header(h, hBackend); ok {
		m.QueryBackend = v
	}
	return m, nil
}

func header(h http.Header, key string) (string, bool) {
	if v := h[key]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}
