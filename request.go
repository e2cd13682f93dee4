package consul

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// param is one endpoint-specific query parameter; an empty v sends a bare
// key such as ?recurse.
type param struct{ k, v string }

// endpoint is what a method declares about its route, once, in a package
// variable: its name for errors, its HTTP method and route template (for
// tracing), the options that apply to it, and how the pipeline treats its
// answer. Declaring it per method makes an option that does not apply an
// error instead of a parameter Consul ignores.
type endpoint struct {
	name   string // the method, e.g. "KV.Put"
	method string // "GET", "PUT"...
	route  string // the route template, e.g. "/v1/kv/:key"
	opts   optSet // the options that apply, besides Token and Param
	// read marks a read: its Meta headers must parse, and the
	// consistency, blocking and cache options are sent as a read's.
	read bool
	// notFoundOK applies the library's 404 rule to a read of one object: a
	// 404 answer of Consul's own returns its Meta and no error, leaving out
	// untouched.
	notFoundOK bool
	// long marks a call that holds its connection for long (a snapshot,
	// a stream): it goes to the pool of blocking reads and is bounded by
	// its context only, not by Config.Timeout.
	long bool
	// okStatuses are non-2xx statuses whose body is decoded like a success
	// when it is a JSON object or array: 409 for transactions (the body
	// lists the failed operations), 429 for autopilot health, 429 and 503
	// for the agent's local service health, where the status is part of
	// the result. The same status with another body, such as the plain
	// text 429 of Consul's rate limiter, is an error.
	okStatuses []int
}

// request is one call of the HTTP API: its endpoint and what varies per
// call.
type request struct {
	e      *endpoint
	path   string  // escaped path, e.g. "/v1/kv/app%20x"
	params []param // endpoint parameters, sent before the options' ones
	body   any     // nil, []byte, io.Reader, or a value encoded as JSON
	// secret is a secret the body carries that its field names do not
	// tell (a gossip key): redacted, as the tokens and the body's
	// secret-named fields are (see secrets), from any error Consul's
	// answer makes, before the Observer or the caller sees it.
	secret string
}

// secrets returns what the call's errors must never show: tokens (the
// call's and the client's), r.secret, and every string of the body in a
// field or map entry whose name says it is secret (secretName), however
// deep. Only the error paths call it.
func (r *request) secrets(tokens ...string) []string {
	return walkSecrets(reflect.ValueOf(r.body), append(tokens, r.secret), 0, false)
}

// secretName reports whether a field or map key names a secret: a token
// (Token, SecretID, BearerToken, PeeringToken, a CA provider's Vault
// token...), a password, a private key or a client secret.
// Names that only describe a secret (TokenLocality, PrivateKeyType,
// TokenTTL, TokenNameFormat...) do not: their values are words an error
// must keep.
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"locality", "format", "type", "ttl", "bits", "name"} {
		if strings.HasSuffix(n, w) {
			return false
		}
	}
	for _, w := range []string{"token", "secret", "password", "privatekey", "private_key"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// walkSecrets appends to out the non-empty strings of v (structs,
// pointers, slices, maps; 16 levels at most) under a secret name (secret:
// an enclosing field or key had one).
func walkSecrets(v reflect.Value, out []string, depth int, secret bool) []string {
	if depth > 16 || !v.IsValid() {
		return out
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			out = walkSecrets(v.Elem(), out, depth+1, secret)
		}
	case reflect.String:
		if secret && v.Len() > 0 {
			out = append(out, v.String())
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = walkSecrets(v.Field(i), out, depth+1, secret || secretName(f.Name) || secretName(tag))
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if secret && v.Kind() == reflect.Slice && v.Len() > 0 {
				out = append(out, string(v.Bytes()))
			}
			return out
		}
		for i := 0; i < v.Len(); i++ {
			out = walkSecrets(v.Index(i), out, depth+1, secret)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			named := k.Kind() == reflect.String && secretName(k.String())
			out = walkSecrets(it.Value(), out, depth+1, secret || named)
		}
	}
	return out
}

// call is a call of e: path is the escaped path (built by buildPath or
// kvPath), ps the route's own query parameters, body nil or what to send,
// out where to decode the answer.
func (c *Client) call(ctx context.Context, e *endpoint, path string, ps []param, body any, opts []Option, out any) (*Meta, error) {
	return c.do(ctx, request{e: e, path: path, params: ps, body: body}, opts, out)
}

// callSecret is call for a body that carries secret (see request.secret).
func (c *Client) callSecret(ctx context.Context, e *endpoint, path string, body any, secret string, opts []Option, out any) (*Meta, error) {
	return c.do(ctx, request{e: e, path: path, body: body, secret: secret}, opts, out)
}

// first returns the first element of a list answer, or nil for an empty
// one: many routes answer a read of one object with a one-element array.
func first[T any](list []*T) *T {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// do is the one request pipeline: it applies the client defaults and the
// options, sends, parses the Meta headers, maps non-2xx answers to
// *StatusError and decodes a JSON answer into out (out may be nil, or a
// *[]byte for a raw answer). The body is always drained and closed. On a
// non-2xx answer the parsed Meta is returned with the error.
func (c *Client) do(ctx context.Context, r request, opts []Option, out any) (*Meta, error) {
	var o callOptions
	if err := c.resolve(r.e, opts, &o); err != nil {
		return nil, err
	}
	if len(r.params) > 0 {
		if err := paramClash(&r, opts); err != nil {
			return nil, err
		}
	}
	var timeout time.Duration
	switch {
	case r.e.read && o.blocking():
		// A blocking read must not hang forever on a dead connection: Consul
		// answers within wait plus up to wait/16 of jitter.
		wait := o.wait
		switch {
		case wait == 0:
			wait = defaultWait
		case wait > maxWait:
			wait = maxWait
		}
		timeout = wait + wait/16 + blockingMargin
	case !r.e.long:
		timeout = c.timeout
	}
	if c.observer == nil {
		return c.attempts(ctx, &r, &o, timeout, out, nil)
	}
	info := callInfo(&r, &o)
	info.Agent = c.bases[c.cur.Load()]
	ctx, obs := c.observer.StartCall(ctx, info)
	tr := callTrace{obs: obs}
	ended := false
	defer func() {
		if !ended { // a panic (in a Transport, say): the call still ends
			obs.End(&CallEnd{StatusCode: tr.status, Err: errCallPanicked, Attempts: tr.n, Agent: tr.agent})
		}
	}()
	meta, err := c.attempts(ctx, &r, &o, timeout, out, &tr)
	ended = true
	obs.End(&CallEnd{StatusCode: tr.status, Meta: meta, Err: err, Attempts: tr.n, Agent: tr.agent})
	return meta, err
}

// errCallPanicked ends the Observer's call of a call that panicked (the
// panic goes on: it is not recovered).
var errCallPanicked = errors.New("consul: the call panicked")

// failedAnswer is an answer that can say the call failed, such as a
// rolled back transaction's (a 409 whose body lists the failed
// operations): the call's error, seen by the Observer too, and never
// retried.
type failedAnswer interface{ failure() error }

// callTrace is what an observed call's attempts report: how many there
// were, the agent of the last and the status it answered.
type callTrace struct {
	n      int
	agent  string
	status int
	obs    CallObserver
}

// attempts is the retry and failover loop of one call, bounded by timeout
// (0: by ctx only). tr is nil unless the call is observed.
func (c *Client) attempts(ctx context.Context, r0 *request, o *callOptions, timeout time.Duration, out any, tr *callTrace) (*Meta, error) {
	r := *r0
	parent := ctx
	if timeout > 0 {
		if ctx == context.Background() || ctx == context.TODO() {
			// A call without a context of its own: the deadline shared by
			// the calls of the same bound that start about now (see
			// sharedDeadline); blocking reads share theirs apart.
			d := &c.deadlines
			if timeout != c.timeout {
				d = &c.blockingDeadlines
			}
			ctx = d.context(timeout)
		} else if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
	}
	tried := 1 // agents tried for this call, for failover
	for attempt := 0; ; {
		cur := c.cur.Load()
		if tr != nil {
			tr.n++
			tr.agent = c.bases[cur]
			if tr.n > 1 && tr.obs != nil {
				tr.obs.Attempt(tr.n, tr.agent)
			}
		}
		resp, meta, err := c.send(ctx, &r, o, c.bases[cur])
		if tr != nil {
			tr.status = statusOf(resp, err)
		}
		if err == nil {
			err = c.decodeAnswer(ctx, &r, o, resp, out)
			var rerr *readError
			if err == nil || ctx.Err() != nil || !errors.As(err, &rerr) {
				if err != nil && ctx.Err() != nil {
					err = c.ctxErr(parent, ctx, &r, timeout, err)
				}
				if fa, ok := out.(failedAnswer); ok && err == nil {
					err = fa.failure()
				}
				return meta, err
			}
			// The answer was cut short: a request that failed in
			// transport, retried (or not) as any other below.
		}
		if r.e.notFoundOK && isConsulNotFound(err, meta) {
			return meta, nil
		}
		if ctx.Err() != nil {
			return meta, c.ctxErr(parent, ctx, &r, timeout, err)
		}
		if !replayable(r.body) {
			return meta, err
		}
		if isDialError(err) && tried < len(c.bases) {
			// Nothing was sent: fail over to the next agent at once.
			next := (cur + 1) % uint32(len(c.bases))
			if c.cur.CompareAndSwap(cur, next) && c.logger != nil {
				c.logger.LogAttrs(ctx, slog.LevelWarn, "consul: agent unreachable, failing over",
					slog.String("from", c.bases[cur]), slog.String("to", c.bases[next]), slog.String("error", err.Error()))
			}
			tried++
			continue
		}
		if attempt >= c.retries || !retryable(&r, o, err) {
			return meta, err
		}
		attempt++
		delay := c.backoff.Delay(attempt, err)
		if c.logger != nil {
			c.logger.LogAttrs(ctx, slog.LevelInfo, "consul: retrying",
				slog.String("method", r.e.method), slog.String("path", r.path),
				slog.Int("attempt", attempt), slog.Duration("delay", delay), slog.String("error", err.Error()))
		}
		if werr := sleepCtx(ctx, delay); werr != nil {
			// Cancelled while waiting to retry: the context's error, not
			// the last answer's.
			return meta, c.ctxErr(parent, ctx, &r, timeout, err)
		}
		tried = 1
	}
}

// stream is the pipeline's entry for answers read as streams (a snapshot,
// the agent's log or metrics): it applies the options, sends once on the
// pool of long calls and checks the status like call, but neither retries
// nor fails over, and leaves the open body to the caller, bounded by ctx
// only (not by Config.Timeout or Config.MaxResponseSize).
func (c *Client) stream(ctx context.Context, e *endpoint, path string, ps []param, opts []Option) (*http.Response, *Meta, error) {
	var o callOptions
	if err := c.resolve(e, opts, &o); err != nil {
		return nil, nil, err
	}
	r := request{e: e, path: path, params: ps}
	base := c.bases[c.cur.Load()]
	if c.observer == nil {
		return c.send(ctx, &r, &o, base)
	}
	info := callInfo(&r, &o)
	info.Stream, info.Agent = true, base
	ctx, obs := c.observer.StartCall(ctx, info)
	ended := false
	defer func() {
		if !ended {
			obs.End(&CallEnd{Err: errCallPanicked, Attempts: 1, Agent: base})
		}
	}()
	resp, meta, err := c.send(ctx, &r, &o, base)
	ended = true
	obs.End(&CallEnd{StatusCode: statusOf(resp, err), Meta: meta, Err: err, Attempts: 1, Agent: base})
	return resp, meta, err
}

// ctxErr is the error of a call whose context ended: the caller's own
// context error when the caller's context ended, or a timeout error naming
// the bound when the call's own timeout (Config.Timeout, or a blocking
// read's bound) ran out. Both wrap the context's error, so that errors.Is
// matches context.Canceled or context.DeadlineExceeded.
func (c *Client) ctxErr(parent, ctx context.Context, r *request, timeout time.Duration, last error) error {
	if err := parent.Err(); err != nil {
		return fmt.Errorf("consul: %s %s: %w", r.e.method, r.path, err)
	}
	if ctx.Err() != nil && timeout > 0 {
		return fmt.Errorf("consul: %s %s: no answer within %s: %w", r.e.method, r.path, timeout, ctx.Err())
	}
	return last
}

// isConsulNotFound reports whether err is a 404 answered by Consul itself,
// the only 404 the library's 404 rule turns into "absent". Every answer of
// Consul's HTTP handlers carries X-Consul-Default-ACL-Policy; a 404 from
// anything else on the way (a proxy's error page, a route the agent does
// not serve) does not, and stays an error.
func isConsulNotFound(err error, meta *Meta) bool {
	return fromConsul(meta) && isNotFound(err)
}

// fromConsul reports whether an answer's headers are those of Consul's own
// HTTP handlers, which all set X-Consul-Default-ACL-Policy.
func fromConsul(meta *Meta) bool { return meta != nil && meta.DefaultACLPolicy != "" }

// decodeAnswer decodes a successful answer into out and closes its body.
// (A defer in call's retry loop would be allocated on every call.)
func (c *Client) decodeAnswer(ctx context.Context, r *request, o *callOptions, resp *http.Response, out any) error {
	defer closeBody(resp.Body)
	if err := decodeBody(resp, out, c.maxResponse); err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return fmt.Errorf("consul: %s %s: %w", r.e.method, r.path, err)
		}
		// A decode error can quote the answer (a duration, a time...),
		// which a hostile server may fill with the token it was sent.
		return redactErr(c.wrapErr(ctx, r, "decode answer", err), r.secrets(o.token, c.token)...)
	}
	return nil
}

// readError is an answer whose body could not be read to its end.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// redactedError is an error whose message had a token redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err, or err with the tokens redacted from its message
// when it holds one (errors.Is and errors.As still see through it).
func redactErr(err error, tokens ...string) error {
	s := err.Error()
	if msg := redact(s, tokens...); msg != s {
		return &redactedError{msg: msg, err: err}
	}
	return err
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
	if r.e.method != http.MethodGet || o.blocking() {
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
func (c *Client) send(ctx context.Context, r *request, o *callOptions, base string) (*http.Response, *Meta, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, c.wrapErr(ctx, r, "", err)
	}
	body, ctype, err := encodeBody(r.body)
	if err != nil {
		return nil, nil, fmt.Errorf("consul: %s %s: encode body: %w", r.e.method, r.path, err)
	}

	var u strings.Builder
	u.Grow(len(base) + len(r.path) + 32)
	u.WriteString(base)
	u.WriteString(r.path)
	q := queryWriter{b: &u}
	for _, p := range r.params {
		q.add(p.k, p.v)
	}
	c.writeQuery(&q, r, o)

	req, err := http.NewRequestWithContext(ctx, r.e.method, u.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("consul: %s %s: %w", r.e.method, r.path, err)
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
	if r.e.read && (o.hasMaxAge || o.hasStale) {
		req.Header["Cache-Control"] = []string{cacheControl(o)}
	}

	hc := c.hc
	if r.e.long || o.blocking() {
		hc = c.hcLong
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, c.wrapErr(ctx, r, "", err)
	}
	// A write's answer is what Consul did: a header it does not need
	// cannot turn a write that was applied into an error the caller might
	// retry. A read's headers are its Meta, and must parse.
	// An error answer's status is what counts: its headers must not turn
	// a 404 or a 403 into an error of another kind.
	meta, err := parseMeta(resp.Header, r.e.read && (resp.StatusCode/100 == 2 || slices.Contains(r.e.okStatuses, resp.StatusCode)))
	if err != nil {
		closeBody(resp.Body)
		return nil, nil, redactErr(fmt.Errorf("consul: %s %s: %w", r.e.method, r.path, err), r.secrets(o.token, c.token)...)
	}
	meta.RequestTime = time.Since(start)
	if resp.StatusCode/100 == 2 {
		return resp, meta, nil
	}
	if slices.Contains(r.e.okStatuses, resp.StatusCode) {
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
	return nil, meta, statusError(r, resp, r.secrets(o.token, c.token)...)
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
		return fmt.Errorf("consul: %s %s: %s: %w", r.e.method, r.path, what, err)
	}
	return fmt.Errorf("consul: %s %s: %w", r.e.method, r.path, err)
}

// writeQuery appends the query parameters of the resolved options.
func (c *Client) writeQuery(q *queryWriter, r *request, o *callOptions) {
	if o.dc != "" {
		q.add("dc", o.dc)
	}
	if o.ns != "" {
		q.add("ns", o.ns)
	}
	if o.partition != "" {
		q.add("partition", o.partition)
	}
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
	for _, p := range o.params() {
		q.add(p.k, p.v)
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

// decodeBody reads the whole answer, at most limit bytes of it after
// decompression, into a pooled buffer and decodes it from there: the fast
// path of decode.go for the big listings, else encoding/json. Decoding from
// memory spares json.Decoder's own copy of the body and its incremental
// refills. An answer over limit fails with ErrResponseTooLarge as soon as
// the limit is passed, whatever Content-Length says.
func decodeBody(resp *http.Response, out any, limit int64) error {
	if out == nil {
		return nil
	}
	if resp.ContentLength > limit {
		return tooLarge(limit)
	}
	if raw, ok := out.(*[]byte); ok {
		b, err := readAll(resp.Body, nil, limit)
		if err != nil {
			if !errors.Is(err, ErrResponseTooLarge) {
				err = &readError{err}
			}
			return err
		}
		if b == nil {
			b = []byte{}
		}
		*raw = b
		return nil
	}
	buf := bodyBufs.get()
	start := (*buf)[:0]
	declared := int64(0)
	if resp.ContentLength > int64(cap(start)) {
		// A large answer of known size is read in one buffer of its size
		// (+1 for the read that sees the end), not regrown. The declared
		// size is only a claim: the buffer starts at 1 MiB at most and
		// grows towards it (eightfold) as the bytes arrive, so that
		// headers alone cannot make the client allocate MaxResponseSize.
		declared = resp.ContentLength + 1
		start = make([]byte, 0, min(declared, declaredFirstBuffer))
	}
	b, err := readAllHint(resp.Body, start, limit, declared)
	if err != nil && !errors.Is(err, ErrResponseTooLarge) {
		err = &readError{err}
	}
	defer func() {
		// Decoded values never point into b: it can be reused.
		if cap(b) <= maxPooledBody {
			*buf = b[:0]
		}
		bodyBufs.put(buf)
	}()
	if err != nil {
		return err
	}
	if err := unmarshalAnswer(b, out); err != nil {
		return err
	}
	if len(b) <= 16 && string(bytes.TrimSpace(b)) == "null" {
		// A list or a map is empty, never nil, even when the answer is
		// null (Consul sends [] or {}, a proxy may not).
		emptyNotNil(out)
	}
	return nil
}

// emptyNotNil makes a nil slice or map that out points to empty.
func emptyNotNil(out any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	switch e := v.Elem(); e.Kind() {
	case reflect.Slice:
		if e.IsNil() {
			e.Set(reflect.MakeSlice(e.Type(), 0, 0))
		}
	case reflect.Map:
		if e.IsNil() {
			e.Set(reflect.MakeMap(e.Type()))
		}
	}
}

// readAll appends r's content to b, failing with ErrResponseTooLarge once
// more than limit bytes were read. When b is full it goes on in new
// buffers, each as large as all before it up to 1 MiB, and joins them at
// the end: a large answer of unknown size (gzipped) costs about twice its
// size in memory at the peak, where regrowing one buffer costs up to three
// times, and copies it once, not at every growth.
func readAll(r io.Reader, b []byte, limit int64) ([]byte, error) {
	return readAllHint(r, b, limit, 0)
}

// declaredFirstBuffer is the most allocated for an answer's declared
// Content-Length before any of it arrived.
const declaredFirstBuffer = 1 << 20

// readAllHint is readAll for an answer announced as declared bytes (0 when
// unknown): while b is the only buffer and smaller than declared, a full
// b is regrown to at most eight times its size, up to declared.
func readAllHint(r io.Reader, b []byte, limit, declared int64) ([]byte, error) {
	var full [][]byte // the buffers filled before b
	total := int64(0)
	for {
		if len(b) == cap(b) && len(full) == 0 && int64(cap(b)) < declared && cap(b) > 0 {
			nb := make([]byte, len(b), min(declared, 8*int64(cap(b))))
			copy(nb, b)
			b = nb
		}
		if len(b) == cap(b) {
			if len(b) < 512 {
				b = append(b, 0)[:len(b)]
			} else {
				full = append(full, b)
				b = make([]byte, 0, min(total+int64(len(b)), 1<<20))
			}
			total = 0
			for _, f := range full {
				total += int64(len(f))
			}
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if total+int64(len(b)) > limit {
			return b[:0], tooLarge(limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return b, err
		}
	}
	if len(full) == 0 {
		return b, nil
	}
	total += int64(len(b))
	size := total
	if slack := total + total/8 + 512; slack <= maxPooledBody {
		// Kept for the next answer: room for one of the same size and
		// the read that sees its end, which would else start a buffer.
		size = slack
	}
	out := make([]byte, 0, size)
	for i, f := range full {
		out = append(out, f...)
		full[i] = nil // the collector may take it back already
	}
	return append(out, b...), nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: over %d bytes (Config.MaxResponseSize)", ErrResponseTooLarge, limit)
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
var bodyBufs = newScratch[[]byte](4)

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

// statusError reads a non-2xx answer into a *StatusError, redacting the
// tokens the call could have sent from the body.
func statusError(r *request, resp *http.Response, tokens ...string) *StatusError {
	// Read past the cut by the longest token, so that a token straddling
	// the cut is whole when it is redacted, and cut after redacting.
	extra := 0
	for _, t := range tokens {
		extra = max(extra, len(t))
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, int64(maxErrorBody+extra)))
	body := redact(string(raw), tokens...)
	if len(raw) == maxErrorBody+extra {
		// The read may have cut a token: drop a tail that begins one, which
		// redacting earlier copies could have pulled back under the cut.
		for _, t := range tokens {
			for k := len(t) - 1; k > 0; k-- {
				if strings.HasSuffix(body, t[:k]) {
					body = body[:len(body)-k]
					break
				}
			}
		}
	}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e := &StatusError{
		StatusCode: resp.StatusCode,
		Method:     r.e.method,
		Path:       r.path,
		Body:       strings.TrimSpace(strings.ToValidUTF8(body, "")),
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.ParseUint(ra, 10, 64); err == nil {
			e.RetryAfter = maxRetryAfter
			if secs < uint64(maxRetryAfter/time.Second) {
				e.RetryAfter = time.Duration(secs) * time.Second
			}
		} else if t, err := http.ParseTime(ra); err == nil {
			if d := time.Until(t); d > 0 {
				e.RetryAfter = d
			}
		}
	}
	return e
}

// maxRetryAfter caps the Retry-After read into a StatusError, so that a huge
// value cannot overflow; the loops that wait cap it far lower.
const maxRetryAfter = 24 * time.Hour

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

// parseMeta reads every Meta header once. When strict, a header that is
// present but does not parse (or overflows) is an error, never a silent
// zero; otherwise such a header is left out of Meta.
func parseMeta(h http.Header, strict bool) (*Meta, error) {
	m := &Meta{}
	bad := func(name, v string) error {
		if !strict {
			return nil
		}
		if len(v) > 64 {
			// Not quoted in part: a part of a token would escape redaction.
			return fmt.Errorf("malformed %s header (%d bytes)", name, len(v))
		}
		return fmt.Errorf("malformed %s header %q", name, v)
	}
	if v, ok := header(h, hIndex); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if err := bad("X-Consul-Index", v); err != nil {
				return nil, err
			}
		}
		m.Index = n
	}
	if v, ok := header(h, hKnownLeader); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			if err := bad("X-Consul-KnownLeader", v); err != nil {
				return nil, err
			}
		}
		m.KnownLeader = b
	}
	if v, ok := header(h, hLastContact); ok {
		d, ok := parseDuration(v, time.Millisecond)
		if !ok {
			if err := bad("X-Consul-LastContact", v); err != nil {
				return nil, err
			}
		}
		m.LastContact = d
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
			if err := bad("X-Cache", v); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := header(h, hAge); ok {
		d, ok := parseDuration(v, time.Second)
		if !ok {
			if err := bad("Age", v); err != nil {
				return nil, err
			}
		}
		m.CacheAge = d
	}
	if v, ok := header(h, hDefaultACL); ok {
		m.DefaultACLPolicy = v
	}
	if v, ok := header(h, hFilteredACL); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			if err := bad("X-Consul-Results-Filtered-By-ACLs", v); err != nil {
				return nil, err
			}
		}
		m.ResultsFilteredByACLs = b
	}
	if v, ok := header(h, hBackend); ok {
		m.QueryBackend = v
	}
	return m, nil
}

// parseDuration reads a header's count of units as a Duration; a count that
// does not parse, or would overflow a Duration, is not ok.
func parseDuration(v string, unit time.Duration) (time.Duration, bool) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > uint64(math.MaxInt64/unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

func header(h http.Header, key string) (string, bool) {
	if v := h[key]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// --- resolving a call's options ---

// defaultWait is Consul's wait when a blocking read gives none.
const defaultWait = 5 * time.Minute

// maxWait is the longest wait Consul honours.
const maxWait = 10 * time.Minute

// callOptions is the resolution of the client defaults and a call's
// options: resolved once per call, however many attempts it takes.
type callOptions struct {
	dc, token, hash     string
	ns, partition       string
	consistency         Consistency
	index               uint64
	wait                time.Duration
	maxAge, staleIfErr  time.Duration
	maxStale            time.Duration
	hasMaxAge, hasStale bool
	cached              bool
	// The query parameters of the multi-valued and route options, in the
	// order given: the first few in buf, without an allocation, the rest
	// in more (which then holds them all). No field points into the
	// value itself, so that a callOptions stays on the caller's stack.
	nparams int
	buf     [4]param
	more    []param
}

// addParam appends a query parameter of an option.
func (o *callOptions) addParam(p param) {
	if o.more == nil && o.nparams < len(o.buf) {
		o.buf[o.nparams] = p
		o.nparams++
		return
	}
	if o.more == nil {
		o.more = make([]param, o.nparams, 2*len(o.buf))
		copy(o.more, o.buf[:o.nparams])
	}
	o.more = append(o.more, p)
}

// params returns the query parameters of the options, in the order given.
func (o *callOptions) params() []param {
	if o.more != nil {
		return o.more
	}
	return o.buf[:o.nparams]
}

// blocking reports whether the call waits on the server.
func (o *callOptions) blocking() bool { return o.index > 0 || o.hash != "" }

// resolve applies the client's defaults that e takes, then opts, refusing
// an option that does not apply to e and validating each value.
func (c *Client) resolve(e *endpoint, opts []Option, o *callOptions) error {
	allowed := e.opts | oAlways
	o.token = c.token
	if allowed.has(optDatacenter) {
		o.dc = c.datacenter
	}
	if allowed.has(optNamespace) {
		o.ns = c.namespace
	}
	if allowed.has(optPartition) {
		o.partition = c.partition
	}
	if allowed.has(optConsistency) {
		o.consistency = c.consistency
	}
	for i := range opts {
		op := &opts[i]
		if op.kind >= optKindEnd || !allowed.has(op.kind) {
			return optionError(op.kind, e)
		}
		switch op.kind {
		case optDatacenter:
			o.dc = op.s1
		case optConsistency:
			o.consistency = Consistency(op.n)
			if !o.consistency.valid() {
				return argError("consistency", "unknown mode %d", op.n)
			}
		case optToken:
			if err := checkToken("token", op.s1); err != nil {
				return err
			}
			o.token = op.s1
		case optWaitIndex:
			o.index = op.n
		case optWaitTime:
			if op.d < 0 {
				return argError("wait", "negative duration %s", op.d)
			}
			o.wait = op.d
		case optWaitHash:
			o.hash = op.s1
		case optCached:
			o.cached = true
		case optMaxAge:
			if op.d < 0 {
				return argError("max-age", "negative duration %s", op.d)
			}
			o.cached, o.hasMaxAge, o.maxAge = true, true, op.d
		case optStaleIfError:
			if op.d < 0 {
				return argError("stale-if-error", "negative duration %s", op.d)
			}
			o.cached, o.hasStale, o.staleIfErr = true, true, op.d
		case optMaxStale:
			if op.d < 0 {
				return argError("max_stale", "negative duration %s", op.d)
			}
			o.maxStale = op.d
		case optNamespace:
			o.ns = op.s1
		case optPartition:
			o.partition = op.s1
		case optFilter:
			o.addParam(param{"filter", op.s1})
		case optNear:
			o.addParam(param{"near", op.s1})
		case optNodeMeta:
			o.addParam(param{"node-meta", op.s1 + ":" + op.s2})
		case optPeer:
			o.addParam(param{"peer", op.s1})
		case optTag:
			o.addParam(param{"tag", op.s1})
		case optPassing:
			o.addParam(param{"passing", ""})
		case optSeparator:
			o.addParam(param{"separator", op.s1})
		case optFlags:
			o.addParam(param{"flags", strconv.FormatUint(op.n, 10)})
		default: // Param and the route options
			if op.kind == optParam && strings.EqualFold(op.s1, "token") {
				// The token travels in the X-Consul-Token header only:
				// in the query it would reach logs and errors unredacted.
				return argError("Param", "the token is not a query parameter: use Token() or Config.Token")
			}
			if op.kind == optParam {
				for _, k := range typedParams[strings.ToLower(op.s1)] {
					if allowed.has(k) {
						// Sent twice (with the client's Datacenter, say),
						// Consul would read the first and drop the other
						// silently; the typed option also keeps its checks.
						return argError("Param", "%q has an option of its own here: use %s", op.s1, optNames[k])
					}
				}
			}
			o.addParam(param{op.s1, op.s2})
		}
	}
	return nil
}

// typedParams are the query parameters an Option sets, by its kinds (the
// route options' too): Param refuses them where one of those applies.
var typedParams = map[string][]optKind{
	"dc": {optDatacenter}, "ns": {optNamespace}, "partition": {optPartition},
	"stale": {optConsistency}, "consistent": {optConsistency}, "leader": {optConsistency},
	"max_stale": {optMaxStale}, "cached": {optCached},
	"index": {optWaitIndex}, "hash": {optWaitHash}, "wait": {optWaitTime},
	"filter": {optFilter}, "near": {optNear}, "node-meta": {optNodeMeta}, "peer": {optPeer},
	"tag": {optTag, optEventTag}, "passing": {optPassing}, "separator": {optSeparator}, "flags": {optFlags},
	"node": {optEventNode}, "service": {optEventService},
	"wan": {optMembersWAN}, "segment": {optMembersSegment, optCoordinateSegment}, "prune": {optMembersPrune},
	"logjson": {optMonitorJSON}, "relay-factor": {optKeyringRelayFactor}, "local-only": {optKeyringLocalOnly},
	"global": {optUsageGlobal}, "today_only": {optUtilTodayOnly}, "send_report": {optUtilSendReport},
	"message": {optUtilMessage}, "replace-existing-checks": {optReplaceChecks},
}

// paramClash refuses a Param whose key is one of the parameters the call
// sends itself (KV.CAS's cas, Request.Params...): those go first, and
// Consul would read them and drop the Param without a word.
func paramClash(r *request, opts []Option) error {
	for i := range opts {
		if opts[i].kind != optParam {
			continue
		}
		for _, p := range r.params {
			if p.k == opts[i].s1 {
				return argError("Param", "%q is a parameter %s sends itself", p.k, r.e.name)
			}
		}
	}
	return nil
}

// optionError refuses an option that does not apply to e.
func optionError(k optKind, e *endpoint) error {
	name := "an unknown Option"
	if k < optKindEnd {
		name = optNames[k]
	}
	return &ArgumentError{Arg: "option " + name, Reason: "does not apply to " + e.name + " (" + e.method + " " + e.route + ")"}
}
