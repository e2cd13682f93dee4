package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
)

// Errors of the package, matched with errors.Is.
var (
	// ErrNotReady is matched by the errors of handshakes made before the
	// Service has its first leaf certificate and CA roots.
	ErrNotReady = errors.New("connect: no certificate yet")
	// ErrClosed is matched by the errors of a closed Service.
	ErrClosed = errors.New("connect: service closed")
	// ErrNoInstances is matched by Dial's error when the target has no
	// healthy Connect-capable instance.
	ErrNoInstances = discovery.ErrNoInstances
)

// Backoff of the watches after a permanent error ended them, and the
// watches' own backoff after errors.
const (
	restartMin      = time.Second
	restartMax      = time.Minute
	watchBackoffMax = 10 * time.Second
)

// Option tunes NewService.
type Option func(*options)

type options struct {
	authzTTL      time.Duration
	authzMaxStale time.Duration
	picker        discovery.Picker
	dialer        *net.Dialer
	retries       int
}

// WithAuthorizeCacheTTL sets how long a decision of the intentions about a
// client service is reused by ServerTLSConfig's handshakes
// (DefaultAuthorizeCacheTTL, 5s, when not given): allowing or denying a
// client by a new intention applies to its new connections within this
// time (plus the agent's own propagation, usually well under a second).
// A decision is cached per client SPIFFE ID, in a cache bounded to 4096
// entries.
func WithAuthorizeCacheTTL(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.authzTTL = d
		}
	}
}

// WithAuthorizeMaxStale sets how long after Consul gave it a decision is
// still used when the agent cannot be asked (it is stopped or restarting,
// or answers 5xx or 429): DefaultAuthorizeMaxStale, 5 minutes, when not
// given. This keeps a service reachable by the clients it already
// admitted while its agent restarts, as Consul's own proxies keep
// enforcing the intentions they last received. 0 refuses every client
// whose cached decision is older than the TTL while the agent cannot
// answer. A client never seen before is refused while the agent cannot
// answer, and a 403 (the Service's token may not authorize) refuses at
// once.
func WithAuthorizeMaxStale(d time.Duration) Option {
	return func(o *options) { o.authzMaxStale = max(d, 0) }
}

// WithPicker sets how Dial and HTTPClient choose among the target's
// instances (discovery.RoundRobin when not given).
func WithPicker(p discovery.Picker) Option { return func(o *options) { o.picker = p } }

// WithDialer sets the net.Dialer of Dial and HTTPClient: timeouts,
// keep-alive, local address. Its Timeout bounds the TCP connection and,
// separately, the TLS handshake (0: only the context bounds them). When
// not given, a net.Dialer with a Timeout of DefaultDialTimeout.
func WithDialer(d *net.Dialer) Option { return func(o *options) { o.dialer = d } }

// DefaultDialTimeout is the Timeout of the default dialer of Dial: it
// bounds the TCP connection and the TLS handshake, each.
const DefaultDialTimeout = 10 * time.Second

// WithRetries sets how many other instances Dial tries after a failed
// connection (2 when not given; 0 for none).
func WithRetries(n int) Option { return func(o *options) { o.retries = max(n, 0) } }

// Service is a Connect-native service: the identity of one service name
// in Consul's service mesh, with the TLS configurations and dialers that
// use it. It keeps the service's leaf certificate (GET
// /v1/agent/connect/ca/leaf/:service) and the CA roots (GET
// /v1/agent/connect/ca/roots) fresh with two blocking watches on the local
// agent, so that a renewed leaf or a rotated CA is used by new
// handshakes as soon as the agent has it, without a restart; established
// connections are not touched. After a CA rotation the agent gives the
// new leaf after a random delay of up to 30 seconds (it spreads the
// renewals of a cluster); the old leaf stays valid meanwhile, since the
// roots keep the old root and the new leaf carries a cross-signed chain
// to it.
//
// While the agent cannot be reached, the Service keeps serving the
// certificates it has until they expire (Err reports the failure), and
// catches up when the agent answers again. An expired leaf is never
// presented: handshakes then fail with an error saying so.
//
// A Service is not usable before it has its first leaf and roots: Ready
// reports it, WaitReady waits for it. Until then the TLS configurations
// fail every handshake at once with an error matching ErrNotReady (they do
// not block a handshake, which would hold a server's connection for as
// long as the agent does not answer), while Dial and HTTPClient's requests
// wait for readiness within their context.
//
// The client's token needs service:write on the service (for its leaf and
// to authorize its clients) and service:read on the targets it dials. The
// service itself is registered as usual, marked Connect-native
// (consul.AgentServiceRegistration{Connect: &consul.AgentServiceConnect{Native:
// true}}) so that Dial's users find it. Its methods are safe for
// concurrent use.
type Service struct {
	name   string
	client *consul.Client
	logger *slog.Logger
	o      options
	authz  *authzCache

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	cur atomic.Pointer[identity]

	mu       sync.Mutex
	leafCert *identity    // the latest leaf received, parsed (only the leaf part set)
	roots    *parsedRoots // the latest roots received, parsed
	leafErr  watchErr     // the errors of the leaf watch
	rootsErr watchErr     // the errors of the roots watch
	fatal    error        // a permanent error before the first identity
	closed   bool
	changed  chan struct{} // closed and replaced on every change above

	instMu    sync.Mutex
	instances map[instKey]*discovery.Instances

	httpOnce sync.Once
	http     *http.Client
}

// NewService starts keeping the leaf certificate of the service name and
// the CA roots, until ctx ends or Close is called. It returns at once:
// WaitReady waits for the first certificate. A nil client or an empty
// name is an *consul.ArgumentError.
func NewService(ctx context.Context, client *consul.Client, name string, opts ...Option) (*Service, error) {
	if client == nil {
		return nil, &consul.ArgumentError{Arg: "client", Reason: "nil"}
	}
	if name == "" {
		return nil, &consul.ArgumentError{Arg: "name", Reason: "empty"}
	}
	o := options{authzTTL: DefaultAuthorizeCacheTTL, authzMaxStale: DefaultAuthorizeMaxStale, retries: 2, picker: discovery.RoundRobin}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if o.dialer == nil {
		o.dialer = &net.Dialer{Timeout: DefaultDialTimeout}
	}
	cctx, cancel := context.WithCancel(ctx)
	s := &Service{
		name: name, client: client, logger: client.Logger(), o: o,
		ctx: cctx, cancel: cancel, changed: make(chan struct{}),
		instances: map[instKey]*discovery.Instances{},
	}
	s.authz = &authzCache{
		client: client, target: name, ttl: o.authzTTL, maxStale: o.authzMaxStale,
		logger: s.logger, now: time.Now, m: map[string]*authzEntry{},
	}
	s.wg.Add(2)
	go runWatch(s, "leaf", consul.Bind(client.Agent.LeafCert, name), s.setLeaf, &s.leafErr)
	go runWatch(s, "roots", client.Agent.CARoots, s.setRoots, &s.rootsErr)
	context.AfterFunc(cctx, s.markClosed)
	return s, nil
}

// Name returns the service's name.
func (s *Service) Name() string {
	if s == nil {
		return ""
	}
	return s.name
}

// errNotMade is the error of a zero or nil Service, which NewService did
// not make: it never has a certificate.
var errNotMade = fmt.Errorf("connect: a Service not made by NewService: %w", ErrNotReady)

// made reports whether NewService made s; the methods of a zero or nil
// Service fail with errNotMade instead of panicking.
func (s *Service) made() bool { return s != nil && s.ctx != nil }

// watchErr is what a watch's requests say about the agent.
type watchErr struct {
	req error // the error of the latest request, nil after a success
	val error // the error of the latest answer's value, nil once one is used
}

// runWatch runs a blocking watch of read until the Service ends, and
// starts it again after a backoff when a permanent error ended it (a 403
// until the token is given the right...).
func runWatch[T any](s *Service, what string, read consul.BlockingRead[*T], set func(*T) error, we *watchErr) {
	defer s.wg.Done()
	// Every request's outcome is recorded: the watch yields only changes,
	// and Err must clear as soon as the agent answers again (after a
	// failure the watch's next request does not block), changed or not.
	tracked := func(ctx context.Context, opts ...consul.Option) (*T, *consul.Meta, error) {
		v, meta, err := read(ctx, opts...)
		if ctx.Err() == nil {
			s.setErr(&we.req, err)
		}
		return v, meta, err
	}
	failures := 0
	for {
		got := false
		for u, err := range consul.Watch(s.ctx, tracked, consul.WatchLogger(s.logger),
			consul.WatchBackoff(consul.DefaultWatchBackoffMin, watchBackoffMax)) {
			if err != nil {
				continue // recorded by tracked
			}
			err = set(u.Value)
			got = got || err == nil
			s.setErr(&we.val, err)
		}
		if s.ctx.Err() != nil {
			return
		}
		if got {
			failures = 0
		}
		failures++
		delay := consul.Backoff{Min: restartMin, Max: restartMax}.Delay(failures, nil)
		if s.logger != nil {
			s.logger.LogAttrs(s.ctx, slog.LevelWarn, "connect: watch ended, starting it again later",
				slog.String("service", s.name), slog.String("watch", what), slog.Duration("delay", delay))
		}
		t := time.NewTimer(delay)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// notify wakes the waiters of a change; s.mu is held.
func (s *Service) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// setErr records the latest error of a watch (nil after an answer); a
// permanent one before the Service is ready ends WaitReady.
func (s *Service) setErr(errp *error, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*errp = err
	if err != nil && consul.IsPermanent(err) && s.cur.Load() == nil && s.fatal == nil {
		s.fatal = err
	}
	s.notify()
}

// setLeaf takes a new leaf certificate from the watch.
func (s *Service) setLeaf(leaf *consul.AgentLeafCert) error {
	cert, id, err := parseLeaf(leaf)
	if err != nil {
		return err
	}
	if id.Service != s.name {
		return fmt.Errorf("connect: the agent's leaf certificate is for %s, not %s", id, s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leafCert = &identity{leaf: leaf, cert: cert, leafX509: cert.Leaf, id: id}
	s.publish()
	return nil
}

// setRoots takes new CA roots from the watch.
func (s *Service) setRoots(roots *consul.ConnectCARoots) error {
	p, err := parseRoots(roots)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots = p
	s.publish()
	return nil
}

// publish swaps in the identity of the latest leaf and roots, once both
// are known; s.mu is held.
func (s *Service) publish() {
	if s.leafCert == nil || s.roots == nil || s.closed {
		return
	}
	in := *s.leafCert
	in.roots, in.rootPool, in.interPool, in.trustDomains = s.roots.roots, s.roots.rootPool, s.roots.interPool, s.roots.trustDomains
	s.cur.Store(&in)
	s.fatal = nil
	s.notify()
}

func (s *Service) markClosed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.notify()
	}
}

// current returns the identity to use now, or ErrClosed or ErrNotReady.
func (s *Service) current() (*identity, error) {
	if !s.made() {
		return nil, errNotMade
	}
	if s.ctx.Err() != nil {
		return nil, fmt.Errorf("connect: %s: %w", s.name, ErrClosed)
	}
	in := s.cur.Load()
	if in == nil {
		err := fmt.Errorf("connect: %s: %w", s.name, ErrNotReady)
		if werr := s.Err(); werr != nil {
			err = fmt.Errorf("%w (last error: %w)", err, werr)
		}
		return nil, err
	}
	return in, nil
}

// Ready reports whether the Service has its first leaf certificate and CA
// roots. Once true it stays true until Close, also while the agent cannot
// be reached.
func (s *Service) Ready() bool { return s.made() && s.cur.Load() != nil && s.ctx.Err() == nil }

// WaitReady waits until the Service has its first leaf certificate and CA
// roots, and returns nil then (at once if it has them). It returns ctx's
// error when ctx ends first, an error matching ErrClosed after Close, and
// the error of the agent when it refused for good before the first
// certificate (a 403 for a token without service:write on the service;
// the Service keeps trying meanwhile, with a backoff of up to a minute).
// A zero or nil Service returns an error matching ErrNotReady at once.
func (s *Service) WaitReady(ctx context.Context) error {
	if !s.made() {
		return errNotMade
	}
	for {
		s.mu.Lock()
		ch, closed, fatal := s.changed, s.closed, s.fatal
		s.mu.Unlock()
		switch {
		case closed || s.ctx.Err() != nil:
			return fmt.Errorf("connect: %s: %w", s.name, ErrClosed)
		case s.cur.Load() != nil:
			return nil
		case fatal != nil:
			return fmt.Errorf("connect: %s: %w", s.name, fatal)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Err returns the latest error of the watches of the leaf and the roots
// when their latest request failed (the Service then serves what it has),
// nil once both answer again.
func (s *Service) Err() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.leafErr.req, s.leafErr.val, s.rootsErr.req, s.rootsErr.val)
}

// Leaf returns the leaf certificate in use, as the agent gave it (its
// serial number, SPIFFE ID, validity...), nil before the first. Do not
// modify it.
func (s *Service) Leaf() *consul.AgentLeafCert {
	if s == nil {
		return nil
	}
	if in := s.cur.Load(); in != nil {
		return in.leaf
	}
	return nil
}

// Roots returns the CA roots in use, as the agent gave them, nil before
// the first. Do not modify them.
func (s *Service) Roots() *consul.ConnectCARoots {
	if s == nil {
		return nil
	}
	if in := s.cur.Load(); in != nil {
		return in.roots
	}
	return nil
}

// ID returns the service's SPIFFE ID as its leaf certificate carries it,
// the zero ServiceID before the first.
func (s *Service) ID() ServiceID {
	if s == nil {
		return ServiceID{}
	}
	if in := s.cur.Load(); in != nil {
		return in.id
	}
	return ServiceID{}
}

// Close stops the watches and the instances Dial uses, and closes the idle
// connections of HTTPClient. Established connections are not cut; new
// handshakes and dials fail with ErrClosed. It returns nil, also when
// called again.
func (s *Service) Close() error {
	if !s.made() {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	s.instMu.Lock()
	insts := s.instances
	s.instances = map[instKey]*discovery.Instances{}
	hc := s.http
	s.instMu.Unlock()
	for _, in := range insts {
		in.Close()
	}
	if hc != nil {
		hc.CloseIdleConnections()
	}
	return nil
}
