package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/goconsul/consul"
)

// DefaultRetries is how many other instances a Transport or Dialer tries
// after a failed connection, where retrying is safe.
const DefaultRetries = 2

// WithHostMapping sets which hosts a Transport or Dialer resolves through
// Consul, and with which Query: f returns false for a host to leave alone
// (it is then sent or dialled as it is). The default is ParseServiceHost.
func WithHostMapping(f func(host string) (Query, bool)) Option {
	return func(o *options) {
		if f != nil {
			o.mapping = f
		}
	}
}

// WithRetries sets how many other instances a Transport or Dialer tries
// after a failed connection (DefaultRetries when not given; 0 for none).
func WithRetries(n int) Option { return func(o *options) { o.retries = max(n, 0) } }

// WithBaseTransport sets the RoundTripper that a Transport sends the
// rewritten requests with; the default is http.DefaultTransport. Requests
// to hosts that are not resolved go to it unchanged.
func WithBaseTransport(rt http.RoundTripper) Option { return func(o *options) { o.base = rt } }

// WithDialer sets the net.Dialer that a Dialer dials with; the default is
// a zero net.Dialer.
func WithDialer(d *net.Dialer) Option { return func(o *options) { o.dialer = d } }

// ParseServiceHost is the default host mapping of Transport and Dialer. It
// reads the names of Consul's DNS interface:
//
//	<service>.service.consul        the healthy instances of service
//	<tag>.<service>.service.consul  only those with the tag
//	<service>.service.<dc>.consul   in datacenter dc (and with a tag)
//
// The "service" and "consul" labels match in any case, a trailing dot is
// ignored, and any other host is not resolved.
func ParseServiceHost(host string) (Query, bool) {
	h := strings.TrimSuffix(host, ".")
	if len(h) < len(".consul") || !strings.EqualFold(h[len(h)-len(".consul"):], ".consul") {
		return Query{}, false
	}
	labels := strings.Split(h[:len(h)-len(".consul")], ".")
	var q Query
	n := len(labels)
	switch {
	case n >= 2 && strings.EqualFold(labels[n-1], "service"):
		labels = labels[:n-1]
	case n >= 3 && strings.EqualFold(labels[n-2], "service"):
		q.Datacenter = labels[n-1]
		labels = labels[:n-2]
	default:
		return Query{}, false
	}
	switch len(labels) {
	case 1:
		q.Service = labels[0]
	case 2:
		q.Service = labels[1]
		q.Tags = []string{labels[0]}
	default:
		return Query{}, false
	}
	if q.Service == "" || (len(q.Tags) > 0 && q.Tags[0] == "") {
		return Query{}, false
	}
	return q, true
}

// hostResolver keeps one Instances per resolved host, for a Transport or a
// Dialer; Instances of the same query share their watch anyway.
type hostResolver struct {
	client *consul.Client
	o      options
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	m      map[string]*Instances
	closed bool
}

func newHostResolver(client *consul.Client, opts []Option) *hostResolver {
	ctx, cancel := context.WithCancel(context.Background())
	r := &hostResolver{client: client, o: newOptions(opts), ctx: ctx, cancel: cancel, m: map[string]*Instances{}}
	if client != nil {
		r.logger = client.Logger()
	}
	return r
}

// lookup returns the Instances of host, starting them on first use; false
// when the host is not one to resolve.
func (r *hostResolver) lookup(host string) (*Instances, bool, error) {
	q, ok := r.o.mapping(host)
	if !ok {
		return nil, false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, true, fmt.Errorf("discovery: %s: %w", host, errResolverClosed)
	}
	if in := r.m[host]; in != nil {
		return in, true, nil
	}
	in, err := NewInstances(r.ctx, r.client, q, WithPicker(r.o.picker))
	if err != nil {
		return nil, true, fmt.Errorf("discovery: %s: %w", host, err)
	}
	r.m[host] = in
	return in, true, nil
}

var errResolverClosed = errors.New("closed")

// errZeroResolver is the error of a nil or zero Transport or Dialer for a
// host it would resolve: it has no client.
var errZeroResolver = errors.New("discovery: nil or zero Transport or Dialer (make one with NewTransport or NewDialer)")

func (r *hostResolver) close() {
	if r == nil {
		return // a zero Transport or Dialer: nothing started
	}
	r.mu.Lock()
	r.closed = true
	m := r.m
	r.m = map[string]*Instances{}
	r.mu.Unlock()
	r.cancel()
	for _, in := range m {
		in.Close()
	}
}

// resolve returns host's instances, ready, for one call.
func (r *hostResolver) resolve(ctx context.Context, host string) (*Instances, bool, error) {
	in, ok, err := r.lookup(host)
	if !ok || err != nil {
		return nil, ok, err
	}
	if err := in.WaitReady(ctx); err != nil {
		return nil, true, err
	}
	return in, true, nil
}

func (r *hostResolver) logRetry(ctx context.Context, host string, inst *Instance, err error) {
	if r.logger != nil {
		r.logger.LogAttrs(ctx, slog.LevelInfo, "discovery: connection failed, trying another instance",
			slog.String("host", host), slog.String("instance", inst.hostPort), slog.String("error", err.Error()))
	}
}

// Transport is an http.RoundTripper that sends the requests for hosts
// such as web.service.consul (see WithHostMapping and ParseServiceHost) to a
// healthy instance of the service, chosen by the Picker (RoundRobin by
// default) among Instances kept fresh by a shared watch: the request's
// URL gets the instance's host:port, and its Host header keeps the name.
// Requests to other hosts go to the base transport unchanged.
//
// When a request fails without an answer (a refused or reset
// connection, a timeout...), it is sent again to another instance, up to
// WithRetries times, if it is idempotent: GET, HEAD, OPTIONS, TRACE, PUT
// and DELETE, or a request with an Idempotency-Key or X-Idempotency-Key
// header, as net/http counts them; a body is replayed through GetBody
// (which http.NewRequest sets for in-memory bodies). Other requests get
// the error.
//
// The first request for a host waits, within its context, for the first
// answer of the host's watch. Connections are pooled by the base
// transport per instance; over HTTPS the certificate is checked against
// the instance's address unless the base transport's TLS config sets a
// ServerName. Each host resolved keeps its Instances (one watch per
// distinct query) until Close, which stops them. It is safe for
// concurrent use.
type Transport struct {
	res  *hostResolver
	base http.RoundTripper
}

// NewTransport returns a Transport resolving through client. opts may set
// the Picker, the host mapping, the retries and the base transport.
func NewTransport(client *consul.Client, opts ...Option) *Transport {
	t := &Transport{res: newHostResolver(client, opts)}
	t.base = t.res.o.base
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	return t
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t == nil || t.res == nil || t.base == nil {
		closeBody(req)
		return nil, errZeroResolver
	}
	if req.URL == nil {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	host := req.URL.Hostname()
	in, ok, err := t.res.resolve(ctx, host)
	if !ok {
		return t.base.RoundTrip(req)
	}
	if err != nil {
		closeBody(req)
		return nil, err
	}
	retryable := idempotent(req) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	var buf [4]string
	tried := buf[:0]
	var lastErr error
	for attempt := 0; ; attempt++ {
		inst, err := in.nextExcept(tried)
		if err != nil {
			if attempt > 0 {
				return nil, lastErr // every instance failed
			}
			closeBody(req)
			return nil, fmt.Errorf("discovery: %s: %w", host, err)
		}
		out := req.WithContext(ctx)
		u := *req.URL
		u.Host = inst.hostPort
		out.URL = &u
		if out.Host == "" {
			out.Host = req.URL.Host
		}
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("discovery: %s: replaying the body: %w", host, err)
			}
			out.Body = body
		}
		resp, err := t.base.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retryable || attempt >= t.res.o.retries || ctx.Err() != nil {
			return nil, err
		}
		t.res.logRetry(ctx, host, inst, err)
		tried = append(tried, inst.hostPort)
	}
}

// idempotent reports whether a request may be sent twice, as net/http
// decides it.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// Instances returns the Instances the Transport uses for host, starting
// them if needed; false when the host is not resolved. Do not close them:
// Close does.
func (t *Transport) Instances(host string) (*Instances, bool, error) {
	if t == nil || t.res == nil {
		return nil, false, errZeroResolver
	}
	return t.res.lookup(host)
}

// CloseIdleConnections closes the idle connections of the base
// transport, if it can.
func (t *Transport) CloseIdleConnections() {
	if t == nil {
		return
	}
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Close stops the Transport's watches; requests for resolved hosts fail
// afterwards.
func (t *Transport) Close() {
	if t != nil {
		t.res.close()
	}
}

// Dialer dials hosts such as redis.service.consul (see WithHostMapping and
// ParseServiceHost) at a healthy instance of the service, for clients that take
// a DialContext (database drivers, Redis clients, raw TCP); the port of
// the address is replaced by the instance's. Other addresses are dialled
// as they are. A failed dial is tried again on another instance, up to
// WithRetries times: nothing was sent yet. For HTTP, prefer Transport,
// which spreads requests over instances: a pooled connection stays with
// the instance it was dialled to. It is safe for concurrent use.
type Dialer struct {
	res    *hostResolver
	dialer *net.Dialer
}

// NewDialer returns a Dialer resolving through client. opts may set the
// Picker, the host mapping, the retries and the net.Dialer.
func NewDialer(client *consul.Client, opts ...Option) *Dialer {
	d := &Dialer{res: newHostResolver(client, opts)}
	d.dialer = d.res.o.dialer
	if d.dialer == nil {
		d.dialer = &net.Dialer{}
	}
	return d
}

// DialContext dials address ("host:port", or a bare host) on network,
// resolving the host through Consul when it is mapped.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d == nil || d.res == nil || d.dialer == nil {
		return nil, errZeroResolver
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	in, ok, err := d.res.resolve(ctx, host)
	if !ok {
		return d.dialer.DialContext(ctx, network, address)
	}
	if err != nil {
		return nil, err
	}
	var buf [4]string
	tried := buf[:0]
	var lastErr error
	for attempt := 0; ; attempt++ {
		inst, err := in.nextExcept(tried)
		if err != nil {
			if attempt > 0 {
				return nil, lastErr // every instance failed
			}
			return nil, fmt.Errorf("discovery: %s: %w", host, err)
		}
		conn, err := d.dialer.DialContext(ctx, network, inst.hostPort)
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if attempt >= d.res.o.retries || ctx.Err() != nil {
			return nil, err
		}
		d.res.logRetry(ctx, host, inst, err)
		tried = append(tried, inst.hostPort)
	}
}

// Instances returns the Instances the Dialer uses for host, starting them
// if needed; false when the host is not resolved. Do not close them:
// Close does.
func (d *Dialer) Instances(host string) (*Instances, bool, error) {
	if d == nil || d.res == nil {
		return nil, false, errZeroResolver
	}
	return d.res.lookup(host)
}

// Close stops the Dialer's watches; dials of resolved hosts fail
// afterwards.
func (d *Dialer) Close() {
	if d != nil {
		d.res.close()
	}
}
