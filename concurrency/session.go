package concurrency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goconsul/consul"
)

// DefaultSessionTTL is the TTL of a session when SessionOptions.TTL is
// zero.
const DefaultSessionTTL = 15 * time.Second

// SessionOptions configures the Consul session NewSession creates, and
// the sessions a Lock, Semaphore or Election creates for each acquisition
// (LockOptions.SessionOptions). The zero value (or nil) is a session named
// "goconsul session" (for a primitive: "goconsul lock", "goconsul
// semaphore", "goconsul election") with a TTL of DefaultSessionTTL,
// Consul's lock-delay of 15s, the release behavior (the delete behavior
// for a semaphore's sessions), on the agent's node, tied to no health
// check: only its TTL or a destroy invalidates it, as etcd's leases.
type SessionOptions struct {
	// Name of the session.
	Name string
	// TTL of the session; zero means DefaultSessionTTL. Consul accepts
	// 10s to 24h, unless the agent's session_ttl_min is lower.
	//
	// It bounds how long anything held with the session can be believed
	// held without Consul's word: the session ends (Done) no later than
	// the TTL (less a safety margin of a tenth of it, at most 1s) after
	// the sending of the last renewal that Consul confirmed, whatever the
	// agent answers in between. Consul invalidates a session tied to no
	// check only after twice its TTL without renewal, so a holder's
	// context has ended before anyone else can take what it held.
	TTL time.Duration
	// LockDelay: after the session is invalidated while holding a lock (not
	// after a release), Consul refuses the lock to everyone for this long.
	// Zero means Consul's default of 15s; consul.NoLockDelay means none.
	//
	// A session tied to checks (NodeChecks, ServiceChecks) needs a
	// lock-delay of at least its TTL, and is refused otherwise: Consul
	// invalidates it as soon as a check is critical, at any time after
	// the last renewal, while the node that holds may not hear of it (a
	// partition, a dead agent); only the lock-delay then keeps everyone
	// else out until the holder's context has ended.
	LockDelay time.Duration
	// Behavior on invalidation: consul.SessionRelease releases the keys the
	// session holds, consul.SessionDelete deletes them. Empty means
	// release, or delete for a semaphore's sessions.
	Behavior consul.SessionBehavior
	// Node the session belongs to; empty means the agent's node.
	Node string
	// NodeChecks invalidate the session when one of them is critical. Nil
	// or empty ties the session to no node check (Consul's own default
	// would be the node's serfHealth check: name "serfHealth" to have it);
	// see LockDelay for what checks require.
	NodeChecks []string
	// ServiceChecks invalidate the session when one of them is critical;
	// see LockDelay for what they require.
	ServiceChecks []consul.SessionServiceCheck
}

func (o *SessionOptions) check(arg string) error {
	if o == nil {
		return nil
	}
	switch {
	case o.TTL < 0:
		return &consul.ArgumentError{Arg: arg + ".TTL", Reason: fmt.Sprintf("negative duration %s", o.TTL)}
	case o.LockDelay < 0 && o.LockDelay != consul.NoLockDelay:
		return &consul.ArgumentError{Arg: arg + ".LockDelay", Reason: fmt.Sprintf("negative duration %s", o.LockDelay)}
	}
	switch o.Behavior {
	case "", consul.SessionRelease, consul.SessionDelete:
	default:
		return &consul.ArgumentError{Arg: arg + ".Behavior", Reason: fmt.Sprintf("unknown behavior %q", o.Behavior)}
	}
	if len(o.NodeChecks) > 0 || len(o.ServiceChecks) > 0 {
		ttl, delay := o.TTL, o.LockDelay
		if ttl == 0 {
			ttl = DefaultSessionTTL
		}
		switch delay {
		case 0:
			delay = consulLockDelay
		case consul.NoLockDelay:
			delay = 0
		}
		if delay < ttl {
			return &consul.ArgumentError{Arg: arg + ".LockDelay", Reason: fmt.Sprintf(
				"a session tied to checks needs a lock-delay of at least its TTL (%s), not %s: Consul invalidates it as soon as a check is critical, and only the lock-delay then keeps another holder out", ttl, delay)}
		}
	}
	return nil
}

// consulLockDelay is the lock-delay Consul gives a session created
// without one.
const consulLockDelay = 15 * time.Second

// entry is the session to create, with the defaults of name and behavior.
func (o *SessionOptions) entry(name string, behavior consul.SessionBehavior) *consul.SessionEntry {
	var r SessionOptions
	if o != nil {
		r = *o
	}
	if r.Name == "" {
		r.Name = name
	}
	if r.TTL == 0 {
		r.TTL = DefaultSessionTTL
	}
	if r.Behavior == "" {
		r.Behavior = behavior
	}
	if r.NodeChecks == nil {
		// Sent empty, not left out: Consul would tie the session to the
		// node's serfHealth check, and invalidate it at once when the
		// node is seen failed (see LockDelay).
		r.NodeChecks = []string{}
	}
	return &consul.SessionEntry{
		Name:          r.Name,
		Node:          r.Node,
		LockDelay:     r.LockDelay,
		Behavior:      r.Behavior,
		TTL:           r.TTL,
		NodeChecks:    r.NodeChecks,
		ServiceChecks: r.ServiceChecks,
	}
}

// Session is a Consul session kept alive in the background, the
// foundation of Lock, Semaphore and Election (several may share one, as
// etcd's concurrency sessions are shared): whatever they hold with it is
// lost when it ends.
//
// A Session made by NewSession is renewed every TTL/2 (PUT
// /v1/session/renew/:id) by a goroutine of its own, and ends (Done is
// closed) when Consul says it is gone, when no renewal was confirmed
// within its TTL (see SessionOptions.TTL: the hard deadline), or on Close,
// which destroys it. A Session made by NewSessionFromID is not renewed: it
// ends when Consul invalidates it or on Close, which leaves it alone.
//
// An ended Session stays ended: create a new one to go on. Its methods are
// safe for concurrent use.
type Session struct {
	client *consul.Client
	id     string
	ttl    time.Duration // 0 for a session not ours
	own    bool          // renewed and destroyed here

	mu        sync.Mutex
	confirmed time.Time // when the last renewal Consul confirmed (or the creation) was sent
	err       error     // why it ended, nil while it lives
	done      chan struct{}
	hooks     map[uint64]func(error) // called once when it ends
	nextHook  uint64
	claims    map[string]bool // keys claimed by the primitives using it
	deadline  *time.Timer     // at confirmed + ttl - margin
	stop      context.CancelFunc
	stopped   chan struct{} // closed when the renewer or watcher exits
	destroyed bool
}

// NewSession creates a Consul session (PUT /v1/session/create) and
// renews it in the background until Close, or until it is lost. opts may
// be nil. ctx bounds only the creation.
func NewSession(ctx context.Context, client *consul.Client, opts *SessionOptions) (*Session, error) {
	if client == nil {
		return nil, errNilClient()
	}
	if err := opts.check("SessionOptions"); err != nil {
		return nil, err
	}
	return newSession(ctx, client, opts.entry("goconsul session", consul.SessionRelease))
}

func newSession(ctx context.Context, client *consul.Client, entry *consul.SessionEntry) (*Session, error) {
	// The TTL starts when Consul creates the session, after this.
	sent := time.Now()
	id, err := client.Session.Create(ctx, entry)
	if err != nil {
		return nil, fmt.Errorf("concurrency: create session: %w", err)
	}
	s := &Session{
		client:    client,
		id:        id,
		ttl:       entry.TTL,
		own:       true,
		confirmed: sent,
		done:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	s.mu.Lock()
	s.deadline = time.AfterFunc(time.Until(s.expiry()), s.onDeadline)
	s.mu.Unlock()
	go s.renew(rctx)
	return s, nil
}

// NewSessionFromID wraps an existing session, e.g. one shared with other
// processes or bound to health checks. It reads the session (GET
// /v1/session/info/:id): a session that does not exist is an error
// matching ErrSessionLost. The Session is not renewed and promises nothing
// about its TTL: keeping it alive is the caller's job. It is watched with
// blocking reads of the same route instead, so that it ends (Done) soon
// after Consul invalidates it; Close stops the watch and does not destroy
// it.
func NewSessionFromID(ctx context.Context, client *consul.Client, id string) (*Session, error) {
	if client == nil {
		return nil, errNilClient()
	}
	info, _, err := client.Session.Get(ctx, id, fresh)
	if err != nil {
		return nil, fmt.Errorf("concurrency: read session %s: %w", id, err)
	}
	if info == nil {
		return nil, fmt.Errorf("%w: session %s does not exist", ErrSessionLost, id)
	}
	s := &Session{
		client:  client,
		id:      id,
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	go s.watch(wctx)
	return s, nil
}

// ID returns the session's ID, e.g. for Txn.CheckSession; "" for a nil
// or zero Session.
func (s *Session) ID() string {
	if s == nil {
		return ""
	}
	return s.id
}

// TTL returns the session's TTL, zero for a session made by
// NewSessionFromID (or a nil or zero Session).
func (s *Session) TTL() time.Duration {
	if s == nil {
		return 0
	}
	return s.ttl
}

// Done returns a channel closed when the session ends: lost or closed. A
// nil or zero Session (not made by NewSession or NewSessionFromID) never
// lived: its channel is closed.
func (s *Session) Done() <-chan struct{} {
	if s.zero() {
		return closedChan
	}
	return s.done
}

// Err returns nil while the session lives, then why it ended: an error
// matching ErrSessionLost when it was lost, ErrSessionClosed when it was
// closed first. A nil or zero Session never lived: its Err matches
// ErrSessionClosed, so that a primitive given one refuses to hold with it.
func (s *Session) Err() error {
	if s.zero() {
		return errZeroSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// zero reports whether s is nil or a zero value, not made by NewSession
// or NewSessionFromID.
func (s *Session) zero() bool { return s == nil || s.done == nil }

// closedChan is the Done channel of a nil or zero Session.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// errZeroSession is the Err of a nil or zero Session.
var errZeroSession = fmt.Errorf("%w: nil or zero Session (make one with NewSession or NewSessionFromID)", ErrSessionClosed)

// errNilClient refuses a nil *consul.Client.
func errNilClient() error { return &consul.ArgumentError{Arg: "client", Reason: "nil"} }

// errZeroValue refuses a call on a nil or zero Lock, Semaphore or
// Election: what is not made by its constructor has no client or key.
func errZeroValue(typ, constructor string) error {
	return &consul.ArgumentError{Arg: typ, Reason: "nil or zero value (make one with " + constructor + ")"}
}

// Close ends the session: the renewals (or the watch) stop, the holds on
// it end, and a session made by NewSession is destroyed (PUT
// /v1/session/destroy/:id), which releases or deletes its keys as its
// behavior says. Closing a lost session still destroys it, in case Consul
// has not invalidated it yet. It is safe to call more than once.
func (s *Session) Close(ctx context.Context) error {
	if s.zero() || s.stopped == nil {
		return nil // nil (a failed NewSession), or a zero value
	}
	s.end(fmt.Errorf("%w: session %s", ErrSessionClosed, s.id))
	<-s.stopped
	if !s.own {
		return nil
	}
	s.mu.Lock()
	destroyed := s.destroyed
	s.mu.Unlock()
	if destroyed {
		return nil
	}
	if err := s.client.Session.Destroy(ctx, s.id); err != nil {
		return fmt.Errorf("concurrency: destroy session %s: %w", s.id, err)
	}
	s.mu.Lock()
	s.destroyed = true
	s.mu.Unlock()
	return nil
}

// margin is the safety margin taken off the TTL for the deadline.
func margin(ttl time.Duration) time.Duration { return min(ttl/10, time.Second) }

// expiry is the deadline; s.mu is held.
func (s *Session) expiry() time.Time {
	return s.confirmed.Add(s.ttl - margin(s.ttl))
}

// renew renews the session every TTL/2 until it ends, retrying sooner
// after a failure. Each renewal is bounded by a third of the TTL (at most
// 30s), so that a hung request leaves time for another before the
// deadline; nothing else runs in this loop.
func (s *Session) renew(ctx context.Context) {
	defer close(s.stopped)
	every := s.ttl / 2
	bound := max(min(s.ttl/3, 30*time.Second), 100*time.Millisecond)
	// Retries come back within a tenth of the TTL whatever a Retry-After
	// asks, so that renewals are never starved.
	bo := consul.Backoff{Min: min(50*time.Millisecond, max(s.ttl/10, time.Millisecond)), Max: max(s.ttl/10, time.Millisecond)}
	failures := 0
	s.mu.Lock()
	next := time.Until(s.confirmed.Add(every))
	s.mu.Unlock()
	for {
		if sleep(ctx, next) != nil {
			return
		}
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, bound)
		_, err := s.client.Session.Renew(rctx, s.id)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			failures = 0
			s.confirm(sent)
			next = time.Until(sent.Add(every))
		case errors.Is(err, consul.ErrNotFound):
			s.end(fmt.Errorf("%w: session %s is gone (its renewal was answered 404)", ErrSessionLost, s.id))
			return
		case consul.IsPermanent(err):
			s.end(fmt.Errorf("%w: renew session %s: %w", ErrSessionLost, s.id, err))
			return
		default:
			failures++
			next = bo.Delay(failures, err)
			if l := s.client.Logger(); l != nil {
				l.LogAttrs(ctx, slog.LevelWarn, "consul: session renewal failed, retrying",
					slog.String("session", s.id), slog.String("error", err.Error()),
					slog.Int("failures", failures), slog.Duration("delay", next))
			}
		}
	}
}

// watch follows a session not ours until it is gone or the watch stops.
func (s *Session) watch(ctx context.Context) {
	defer close(s.stopped)
	for u, err := range consul.Watch(ctx, consul.Bind(s.client.Session.Get, s.id, fresh), consul.WatchLogger(s.client.Logger())) {
		switch {
		case err != nil && consul.IsPermanent(err):
			s.end(fmt.Errorf("%w: watch session %s: %w", ErrSessionLost, s.id, err))
			return
		case err == nil && u.Value == nil:
			s.end(fmt.Errorf("%w: session %s was invalidated", ErrSessionLost, s.id))
			return
		}
	}
}

// confirm records a renewal sent at sent that Consul confirmed.
func (s *Session) confirm(sent time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if !time.Now().Before(s.expiry()) {
		// Too late: the deadline passed before the answer came.
		s.expireLocked()
		return
	}
	if sent.After(s.confirmed) {
		s.confirmed = sent
	}
	s.deadline.Reset(time.Until(s.expiry()))
}

// onDeadline runs when the deadline timer fires.
func (s *Session) onDeadline() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if d := time.Until(s.expiry()); d > 0 {
		s.deadline.Reset(d) // a renewal was confirmed meanwhile
		return
	}
	s.expireLocked()
}

func (s *Session) expireLocked() {
	s.endLocked(fmt.Errorf("%w: no renewal of session %s confirmed within its TTL of %s", ErrSessionLost, s.id, s.ttl))
}

// end ends the session with err, unless it ended already.
func (s *Session) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(err)
}

func (s *Session) endLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	close(s.done)
	s.stop()
	if s.deadline != nil {
		s.deadline.Stop()
	}
	for _, h := range s.hooks {
		h(err)
	}
	s.hooks = nil
	if l := s.client.Logger(); l != nil {
		level, msg := slog.LevelError, "consul: session lost"
		if errors.Is(err, ErrSessionClosed) {
			level, msg = slog.LevelDebug, "consul: session closed"
		}
		l.LogAttrs(context.Background(), level, msg, slog.String("session", s.id), slog.String("error", err.Error()))
	}
}

// fresh reports whether what the session holds can be vouched for now:
// it has not ended, and (for a session ours) its deadline has not passed;
// when it has, the session ends at once. s.mu is held.
func (s *Session) freshLocked() bool {
	if s.err != nil {
		return false
	}
	if s.own && !time.Now().Before(s.expiry()) {
		s.expireLocked()
		return false
	}
	return true
}

// onEnd calls f with the session's error when it ends, at once if it has
// ended; remove stops that.
func (s *Session) onEnd(f func(error)) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		go f(s.err)
		return func() {}
	}
	return s.addHookLocked(f)
}

// attach calls f with the session's error when it ends, as onEnd does,
// but only if the session is fresh now; it reports false otherwise.
func (s *Session) attach(f func(error)) (remove func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.freshLocked() {
		return nil, false
	}
	return s.addHookLocked(f), true
}

func (s *Session) addHookLocked(f func(error)) func() {
	if s.hooks == nil {
		s.hooks = make(map[uint64]func(error))
	}
	id := s.nextHook
	s.nextHook++
	s.hooks[id] = f
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.hooks, id)
	}
}

// claim reserves key for one primitive of this process on this session:
// Consul cannot tell two users of one session apart.
func (s *Session) claim(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims[key] {
		return false
	}
	if s.claims == nil {
		s.claims = make(map[string]bool)
	}
	s.claims[key] = true
	return true
}

func (s *Session) unclaim(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claims, key)
}

// checkAlive reads the session and ends it when Consul says it is gone.
// A failed read is not taken as a loss. It returns the session's error.
func (s *Session) checkAlive(ctx context.Context) error {
	info, _, err := s.client.Session.Get(ctx, s.id, fresh)
	if err == nil && info == nil {
		s.end(fmt.Errorf("%w: session %s is gone", ErrSessionLost, s.id))
	}
	return s.Err()
}

// sleep sleeps d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
