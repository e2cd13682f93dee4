package consul

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Errors of locks, semaphores and elections.
var (
	// ErrLockHeld is returned by TryLock and TryAcquire when another
	// session holds the lock, or every slot of the semaphore.
	ErrLockHeld = errors.New("consul: lock held by another session")
	// ErrLockLost is the cause (context.Cause) of a lock's context ending
	// because the lock was lost: its key was released or taken, its session
	// was invalidated, or no renewal of the session was confirmed within its
	// TTL.
	ErrLockLost = errors.New("consul: lock lost")
	// ErrLockNotHeld is returned by Unlock, Release and Resign when there
	// is nothing to release.
	ErrLockNotHeld = errors.New("consul: lock not held")
	// ErrSessionInvalid is returned by Lock, Acquire and Campaign when the
	// session given as LockOptions.Session was invalidated (destroyed, or
	// expired) while they waited. The cause of a lost lock's context
	// matches it too when a renewal found the session gone.
	ErrSessionInvalid = errors.New("consul: session invalidated")
)

// Defaults of LockOptions.
const (
	DefaultLockSessionTTL    = 15 * time.Second
	DefaultLockWaitTime      = 15 * time.Second
	DefaultLockRetryInterval = time.Second
	DefaultLockMaxBackoff    = 5 * time.Second
)

// lockCleanupTimeout bounds the requests that clean up after a failed or
// given-up acquisition, which run on a context of their own.
const lockCleanupTimeout = 5 * time.Second

// LockOptions configures a Lock, a Semaphore or an Election. The zero
// value (or nil) creates a session per acquisition with a 15s TTL renewed
// in the background and Consul's default lock-delay of 15s.
type LockOptions struct {
	// Value is written to the lock's key when it is acquired.
	Value []byte
	// Session, if set, is an existing session to hold the lock with. The
	// lock neither renews nor destroys it, so it promises nothing about its
	// TTL: keeping the session alive is the caller's job. The lock's
	// context then ends when the watch of the key sees the lock taken or
	// released (Consul releases the key when it invalidates the session),
	// and Lock returns an error matching ErrSessionInvalid when the session
	// is found invalid while waiting.
	//
	// Otherwise each acquisition creates a session, renews it from its
	// creation on (also while waiting for the lock) every SessionTTL/2, and
	// destroys it on release.
	Session string
	// SessionName names the created sessions; empty means "goconsul lock".
	SessionName string
	// SessionTTL is the TTL of the created sessions; zero means
	// DefaultLockSessionTTL. Consul's minimum is 10s unless the agent's
	// session_ttl_min is lower.
	//
	// It bounds how long a holder can believe it holds the lock without
	// Consul's word: the lock's context ends no later than SessionTTL
	// (less a safety margin of a tenth of it, at most 1s) after the sending
	// of the last renewal that Consul confirmed, whatever the agent answers
	// in between (errors, Retry-After, hangs, slow or cut answers). Consul
	// invalidates a session only after twice its TTL without renewal, so a
	// holder's context has ended before any other contender can acquire
	// the lock: two holders never overlap.
	SessionTTL time.Duration
	// LockDelay of the created sessions: after a session holding the lock
	// is invalidated (not after a release), Consul refuses the lock to
	// everyone for this long. Zero means Consul's default of 15s;
	// NoLockDelay means none.
	LockDelay time.Duration
	// WaitTime is the wait of each blocking read while waiting for or
	// watching the lock; zero means DefaultLockWaitTime.
	WaitTime time.Duration
	// RetryInterval is the pause before trying again when the key is free
	// but Consul refused it (its lock-delay is running); zero means
	// DefaultLockRetryInterval.
	RetryInterval time.Duration
	// MaxBackoff is the longest pause after a failed request in the lock's
	// loops; zero means DefaultLockMaxBackoff. A Retry-After asked for by a
	// 429 or 503 answer is honoured up to MaxBackoff, never beyond. The
	// session's renewals retry after at most a tenth of the TTL whatever
	// MaxBackoff says, so that they are never starved.
	MaxBackoff time.Duration
}

func (o *LockOptions) withDefaults() LockOptions {
	var r LockOptions
	if o != nil {
		r = *o
	}
	if r.SessionName == "" {
		r.SessionName = "goconsul lock"
	}
	if r.SessionTTL <= 0 {
		r.SessionTTL = DefaultLockSessionTTL
	}
	if r.WaitTime <= 0 {
		r.WaitTime = DefaultLockWaitTime
	}
	if r.RetryInterval <= 0 {
		r.RetryInterval = DefaultLockRetryInterval
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultLockMaxBackoff
	}
	return r
}

func (o *LockOptions) check() error {
	if o == nil {
		return nil
	}
	switch {
	case o.SessionTTL < 0:
		return argError("LockOptions.SessionTTL", "negative duration %s", o.SessionTTL)
	case o.LockDelay < 0 && o.LockDelay != NoLockDelay:
		return argError("LockOptions.LockDelay", "negative duration %s", o.LockDelay)
	case o.WaitTime < 0:
		return argError("LockOptions.WaitTime", "negative duration %s", o.WaitTime)
	case o.RetryInterval < 0:
		return argError("LockOptions.RetryInterval", "negative duration %s", o.RetryInterval)
	case o.MaxBackoff < 0:
		return argError("LockOptions.MaxBackoff", "negative duration %s", o.MaxBackoff)
	}
	return nil
}

// Lock is a distributed mutual exclusion lock on one KV key, held by a
// Consul session (Consul's leader election recipe): the holder is the
// session that acquired the key. It is built only on the public KV and
// Session calls.
//
//	l, _ := consul.NewLock(client, "service/web/leader", nil)
//	held, err := l.Lock(ctx)
//	if err != nil { ... }
//	defer l.Unlock(context.Background())
//	select {
//	case <-held.Done(): // lost: stop acting as the holder
//	case <-work(held):
//	}
//
// What it promises, with a session it creates (see LockOptions.Session
// otherwise):
//   - The context of a hold ends no later than the session TTL (less a
//     small margin) after the sending of the last renewal Consul
//     confirmed, whatever the agent answers in between: Retry-After,
//     hangs, 5xx, slow or cut answers. The session is renewed every TTL/2
//     by a renewer of its own, never held up by the watch of the key or
//     its backoff. Since Consul invalidates a session only after twice its
//     TTL, the context ends before anyone else can take the lock.
//   - A contender keeps its session alive while it waits, however long;
//     if the session is invalidated anyway (destroyed, or the agent was
//     unreachable for too long), it creates a new one and waits on.
//   - Lock never returns a hold on a session it cannot vouch for: it
//     acquires only while the last confirmed renewal is younger than the
//     TTL, and gives the key back when that changed while acquiring.
//
// Use a fencing check for the work done under the lock when it matters
// (a transaction with Txn.CheckSession on the key and Session): a
// process can be paused for longer than any TTL.
//
// A Lock value holds the lock at most once at a time; use one Lock per
// contender. Its methods are safe for concurrent use.
type Lock struct {
	core lockCore
	key  string
}

// NewLock returns a lock on key. opts may be nil. Nothing is sent.
func NewLock(client *Client, key string, opts *LockOptions) (*Lock, error) {
	if err := checkKey("key", key, false); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	return &Lock{
		core: lockCore{client: client, name: "lock " + key, behavior: SessionRelease, opts: opts.withDefaults()},
		key:  key,
	}, nil
}

// Key returns the lock's key.
func (l *Lock) Key() string { return l.key }

// Session returns the ID of the session holding the lock, or "" when this
// Lock does not hold it. Use it to fence writes done under the lock: a
// transaction with Txn.CheckSession(l.Key(), l.Session()) is refused by
// Consul once the lock is lost.
func (l *Lock) Session() string { return l.core.session() }

// Lock acquires the lock, waiting as long as ctx allows: GET /v1/kv/:key
// (blocking while another session holds it) and PUT
// /v1/kv/:key?acquire=:session. A missing key is created on acquisition.
// It returns a context that ends when the lock is lost (its
// context.Cause then matches ErrLockLost) or released by Unlock. ctx
// bounds only the acquisition: the returned context does not end with it,
// but keeps its values.
//
// The session is created first (PUT /v1/session/create) and, while
// waiting and while held, renewed every TTL/2 (PUT
// /v1/session/renew/:id); while held, the key is watched with blocking
// reads. The hold's context ends
// no later than the session TTL after the last confirmed renewal (see the
// type's documentation). If ctx ends first, Lock returns ctx's error
// (never a nil context with a nil error) and destroys the session it
// created.
func (l *Lock) Lock(ctx context.Context) (context.Context, error) {
	return l.lock(ctx, true)
}

// TryLock makes one attempt: it returns ErrLockHeld at once when another
// session holds the lock, or when Consul refuses it during a lock-delay.
func (l *Lock) TryLock(ctx context.Context) (context.Context, error) {
	return l.lock(ctx, false)
}

func (l *Lock) lock(ctx context.Context, wait bool) (context.Context, error) {
	return l.core.acquire(ctx, wait, func(opts *LockOptions) *lockRecipe {
		value := opts.Value
		return &lockRecipe{
			attempt: func(ctx context.Context, sess *lockSession, wait bool) error {
				return l.attempt(ctx, sess, opts, value, wait)
			},
			check: func(ctx context.Context, sid string, index uint64, w time.Duration) (bool, uint64, error) {
				pair, meta, err := l.core.client.KV.Get(ctx, l.key, WaitIndex(index), WaitTime(w))
				if err != nil {
					return true, index, err
				}
				return pair != nil && pair.Session == sid, meta.Index, nil
			},
			release: func(ctx context.Context, sid string) error {
				_, err := l.core.client.KV.Release(ctx, l.key, value, sid)
				return err
			},
		}
	})
}

// attempt waits for the key to be free and acquires it with sess.
func (l *Lock) attempt(ctx context.Context, sess *lockSession, opts *LockOptions, value []byte, wait bool) error {
	c := l.core.client
	var index uint64
	refused := false
	bo := lockBackoff{max: opts.MaxBackoff}
	for {
		var ropts []Option
		if index > 0 {
			ropts = []Option{WaitIndex(index), WaitTime(opts.WaitTime)}
		}
		pair, meta, err := c.KV.Get(ctx, l.key, ropts...)
		if err != nil {
			if err := bo.wait(ctx, err); err != nil {
				return err
			}
			index = 0
			continue
		}
		bo.reset()
		switch {
		case pair != nil && pair.Session == sess.id:
			// An earlier acquire went through though its answer was lost.
			return nil
		case pair != nil && pair.Session != "":
			if !wait {
				return ErrLockHeld
			}
			refused = false
			index = lockNextIndex(index, meta.Index)
			continue
		}
		if refused {
			// Free but refused: a lock-delay is running.
			if err := lockSleep(ctx, opts.RetryInterval); err != nil {
				return err
			}
		}
		if err := sess.waitFresh(ctx); err != nil {
			return err
		}
		ok, err := c.KV.Acquire(ctx, l.key, value, sess.id)
		if err != nil {
			if sess.invalidated(ctx, err) {
				return sess.reason()
			}
			if err := bo.wait(ctx, err); err != nil {
				return err
			}
			index = 0
			continue
		}
		if ok {
			return nil
		}
		if !wait {
			return ErrLockHeld
		}
		refused, index = true, 0
	}
}

// Unlock releases the lock (PUT /v1/kv/:key?release=:session), stops
// renewing its session and destroys the session it created. The context
// returned by Lock ends before anything is sent. Unlocking a lock that was
// lost only cleans up; unlocking a lock not held returns ErrLockNotHeld.
// After a loss, call Unlock before locking again. It returns the first
// error of the release and the destroy.
func (l *Lock) Unlock(ctx context.Context) error { return l.core.release(ctx) }

// lockRecipe is what a Lock or a Semaphore does with a session.
type lockRecipe struct {
	// attempt waits (when wait is true) until sess holds, or returns
	// ErrLockHeld.
	attempt func(ctx context.Context, sess *lockSession, wait bool) error
	// check reports with a blocking read from index whether the session
	// sid still holds, and the index of the answer.
	check func(ctx context.Context, sid string, index uint64, wait time.Duration) (bool, uint64, error)
	// release gives back what sid holds, leaving the session alone.
	release func(ctx context.Context, sid string) error
}

// lockCore is what Lock and Semaphore share: one hold at a time, its
// session, its renewer and its watch.
type lockCore struct {
	client   *Client
	name     string // "lock <key>", "semaphore <prefix>": for errors
	behavior SessionBehavior

	mu     sync.Mutex
	opts   LockOptions
	busy   bool // an acquisition is running or the lock is held
	hold   *lockHold
	recipe *lockRecipe // of the current hold
}

// lockHold is one acquisition: its session, its context and its watch.
type lockHold struct {
	sess   *lockSession
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the watch exits
}

func (k *lockCore) session() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hold == nil || k.hold.ctx.Err() != nil {
		return ""
	}
	return k.hold.sess.id
}

// acquire runs one acquisition with the recipe made for the options of
// the moment.
func (k *lockCore) acquire(ctx context.Context, wait bool, recipe func(*LockOptions) *lockRecipe) (context.Context, error) {
	k.mu.Lock()
	if k.busy {
		k.mu.Unlock()
		return nil, fmt.Errorf("consul: %s: already held or being acquired by this value", k.name)
	}
	k.busy = true
	opts := k.opts
	k.mu.Unlock()

	r := recipe(&opts)
	h, err := k.contend(ctx, &opts, wait, r)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.busy = false
		return nil, err
	}
	k.hold, k.recipe = h, r
	return h.ctx, nil
}

// contend creates sessions and runs attempts until one holds, ctx ends or
// an error that a new session would not help is met.
func (k *lockCore) contend(ctx context.Context, opts *LockOptions, wait bool, r *lockRecipe) (*lockHold, error) {
	bo := lockBackoff{max: opts.MaxBackoff}
	for {
		sess, err := newLockSession(ctx, k.client, opts, k.behavior)
		if err != nil {
			return nil, k.ctxErr(ctx, err)
		}
		h, err := k.contendWith(ctx, opts, sess, wait, r)
		if err == nil {
			return h, nil
		}
		// ctx may have ended: clean up on a context of our own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockCleanupTimeout)
		_ = sess.close(cctx)
		cancel()
		if sess.own && errors.Is(err, ErrSessionInvalid) && ctx.Err() == nil {
			// The session died while waiting: start again with a new one.
			if err := bo.wait(ctx, err); err != nil {
				return nil, k.ctxErr(ctx, err)
			}
			continue
		}
		return nil, k.ctxErr(ctx, err)
	}
}

// ctxErr returns err, or ctx's error when ctx ended and err is not it.
func (k *lockCore) ctxErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("consul: %s: %w", k.name, ctxErr)
	}
	return err
}

// contendWith runs attempts with one session until it holds.
func (k *lockCore) contendWith(ctx context.Context, opts *LockOptions, sess *lockSession, wait bool, r *lockRecipe) (*lockHold, error) {
	for {
		// The attempt ends as soon as the session is known dead.
		actx, cancel := context.WithCancelCause(ctx)
		stop := sess.onGone(func() { cancel(sess.reason()) })
		err := r.attempt(actx, sess, wait)
		stop()
		cancel(nil)
		if serr := sess.reason(); serr != nil {
			return nil, serr
		}
		if err != nil {
			return nil, err
		}
		hctx, hcancel := context.WithCancelCause(context.WithoutCancel(ctx))
		if sess.attach(hcancel) {
			h := &lockHold{sess: sess, ctx: hctx, cancel: hcancel, done: make(chan struct{})}
			go k.watch(h, opts, r.check)
			return h, nil
		}
		hcancel(nil)
		// Held, but the last confirmed renewal became older than the TTL
		// while acquiring: the hold cannot be promised. Give it back and
		// try again once a renewal is confirmed.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), lockCleanupTimeout)
		_ = r.release(rctx, sess.id)
		rcancel()
		if serr := sess.reason(); serr != nil {
			return nil, serr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// watch follows the hold with check, a blocking read that reports whether
// the hold is still ours, until the hold's context ends. When the hold is
// lost it ends the session's use, which cancels the hold's context with a
// cause matching ErrLockLost. It only detects a loss sooner: the session's
// deadline ends the hold by itself.
func (k *lockCore) watch(h *lockHold, opts *LockOptions,
	check func(ctx context.Context, sid string, index uint64, wait time.Duration) (bool, uint64, error)) {
	defer close(h.done)
	ctx := h.ctx
	wait := opts.WaitTime
	var index uint64
	bo := lockBackoff{max: opts.MaxBackoff}
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, wait+wait/16+time.Second)
		// The first read (index 0 sent as 1) returns at once.
		ok, got, err := check(rctx, h.sess.id, max(index, 1), wait)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if IsPermanent(err) {
				h.sess.end(fmt.Errorf("%w: %s: %w", ErrLockLost, k.name, err))
				return
			}
			_ = bo.wait(ctx, err)
			continue
		}
		bo.reset()
		if !ok {
			h.sess.end(fmt.Errorf("%w: %s no longer held by session %s", ErrLockLost, k.name, h.sess.id))
			return
		}
		index = lockNextIndex(index, got)
	}
}

// release ends the hold, then gives back what it held and destroys the
// session it created.
func (k *lockCore) release(ctx context.Context) error {
	k.mu.Lock()
	h, r := k.hold, k.recipe
	if h == nil {
		k.mu.Unlock()
		return ErrLockNotHeld
	}
	k.hold, k.recipe, k.busy = nil, nil, false
	k.mu.Unlock()
	// The hold ends before anything is sent: nobody else can get the lock
	// while this holder still believes it holds it.
	h.cancel(nil)
	<-h.done
	h.sess.stop()
	// Release even after a loss: when the loss was a deadline the session
	// may still hold the key, and a release by a session that does not
	// hold the key changes nothing.
	err := r.release(ctx, h.sess.id)
	if h.sess.own {
		if derr := h.sess.close(ctx); err == nil {
			err = derr
		}
	}
	return err
}

// lockSession is the session of one contender and then of its hold. A
// session it created (own) is renewed from its creation on by a renewer
// goroutine, and has a deadline: the sending of the last renewal Consul
// confirmed (or of the creation) plus the TTL, less a safety margin. A
// hold on the session ends at the deadline; a contender waits for a
// renewal before acquiring past it.
type lockSession struct {
	c          *Client
	id         string
	own        bool
	ttl        time.Duration
	maxBackoff time.Duration

	mu        sync.Mutex
	confirmed time.Time     // when the last renewal Consul confirmed was sent
	err       error         // why the session is not usable any more, nil while it is
	gone      chan struct{} // closed when err is set
	changed   chan struct{} // closed and replaced when confirmed or err change
	hold      func(error)   // cancels the hold's context, while held
	deadline  *time.Timer   // at confirmed + ttl - margin
	cancel    context.CancelFunc
	done      chan struct{} // closed when the renewer exits
}

// lockMargin is the safety margin taken off the TTL for the deadline.
func lockMargin(ttl time.Duration) time.Duration { return min(ttl/10, time.Second) }

// newLockSession creates the session (unless opts gives one) and starts
// its renewer.
func newLockSession(ctx context.Context, c *Client, opts *LockOptions, behavior SessionBehavior) (*lockSession, error) {
	s := &lockSession{
		c:          c,
		id:         opts.Session,
		ttl:        opts.SessionTTL,
		maxBackoff: opts.MaxBackoff,
		gone:       make(chan struct{}),
		changed:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	if s.id != "" {
		close(s.done) // not ours: no renewer, no deadline
		return s, nil
	}
	// The TTL starts when Consul creates the session, after this.
	sent := time.Now()
	id, err := c.Session.Create(ctx, &SessionEntry{
		Name:      opts.SessionName,
		TTL:       opts.SessionTTL,
		LockDelay: opts.LockDelay,
		Behavior:  behavior,
	})
	if err != nil {
		return nil, err
	}
	s.id, s.own, s.confirmed = id, true, sent
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.mu.Lock()
	s.deadline = time.AfterFunc(time.Until(s.expiry()), s.onDeadline)
	s.mu.Unlock()
	go s.renew(rctx)
	return s, nil
}

// expiry is the deadline; s.mu is held.
func (s *lockSession) expiry() time.Time {
	return s.confirmed.Add(s.ttl - lockMargin(s.ttl))
}

// renew renews the session every TTL/2 until it is stopped, retrying
// sooner after a failure. Each renewal is bounded in time, so that a hung
// request cannot hold the next ones up; nothing else runs in this loop.
func (s *lockSession) renew(ctx context.Context) {
	defer close(s.done)
	every := s.ttl / 2
	timeout := max(min(s.ttl/3, 30*time.Second), 100*time.Millisecond)
	bo := lockBackoff{base: 50 * time.Millisecond, max: max(min(s.maxBackoff, s.ttl/10), 10*time.Millisecond)}
	s.mu.Lock()
	next := time.Until(s.confirmed.Add(every))
	s.mu.Unlock()
	for {
		if lockSleep(ctx, next) != nil {
			return
		}
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := s.c.Session.Renew(rctx, s.id)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			bo.reset()
			s.confirm(sent)
			next = time.Until(sent.Add(every))
		case errors.Is(err, ErrNotFound):
			s.end(fmt.Errorf("%w: session %s is gone", ErrSessionInvalid, s.id))
			return
		case IsPermanent(err):
			s.end(fmt.Errorf("consul: renew session %s: %w", s.id, err))
			return
		default:
			next = bo.delay(err)
		}
	}
}

// confirm records a renewal sent at sent that Consul confirmed.
func (s *lockSession) confirm(sent time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if s.hold != nil && !time.Now().Before(s.expiry()) {
		// Too late: the deadline passed before the answer came.
		s.expireLocked()
		return
	}
	if sent.After(s.confirmed) {
		s.confirmed = sent
	}
	s.deadline.Reset(time.Until(s.expiry()))
	s.notifyLocked()
}

// onDeadline runs when the deadline timer fires.
func (s *lockSession) onDeadline() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if d := time.Until(s.expiry()); d > 0 {
		s.deadline.Reset(d) // a renewal was confirmed meanwhile
		return
	}
	if s.hold != nil {
		s.expireLocked()
		return
	}
	// A contender: it waits for the next confirmed renewal before
	// acquiring.
	s.notifyLocked()
}

func (s *lockSession) expireLocked() {
	s.endLocked(fmt.Errorf("%w: no renewal of session %s confirmed within its TTL of %s", ErrLockLost, s.id, s.ttl))
}

func (s *lockSession) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// end ends the use of the session with err: the renewer stops and the
// hold, if any, is cancelled with a cause matching ErrLockLost.
func (s *lockSession) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(err)
}

func (s *lockSession) endLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	close(s.gone)
	s.notifyLocked()
	if s.cancel != nil {
		s.cancel()
		s.deadline.Stop()
	}
	if h := s.hold; h != nil {
		s.hold = nil
		if !errors.Is(err, ErrLockLost) {
			err = fmt.Errorf("%w: %w", ErrLockLost, err)
		}
		h(err)
	}
}

// reason returns why the session is no longer usable, nil while it is.
func (s *lockSession) reason() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// onGone calls f when the session's use ends; stop stops that.
func (s *lockSession) onGone(f func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-s.gone:
			f()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// waitFresh waits until the session can be acquired with: before its
// deadline. A session not ours has no deadline.
func (s *lockSession) waitFresh(ctx context.Context) error {
	for {
		s.mu.Lock()
		err, fresh, changed := s.err, !s.own || time.Now().Before(s.expiry()), s.changed
		s.mu.Unlock()
		switch {
		case err != nil:
			return err
		case fresh:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// attach makes cancel the hold's cancel and reports true, unless the
// session can no longer be vouched for.
func (s *lockSession) attach(cancel context.CancelCauseFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || (s.own && !time.Now().Before(s.expiry())) {
		return false
	}
	s.hold = func(err error) { cancel(err) }
	return true
}

// invalidated reports whether the failed request err could be due to the
// session being invalid (Consul answers an acquire with an invalid session
// with a 500), and it is: it reads the session, and ends its use when it
// is gone.
func (s *lockSession) invalidated(ctx context.Context, err error) bool {
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode < 500 || ctx.Err() != nil {
		return false
	}
	return s.checkAlive(ctx) != nil
}

// checkAlive reads the session and, when it is gone, ends its use and
// returns why. A failed read is not taken as a loss.
func (s *lockSession) checkAlive(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, lockCleanupTimeout)
	defer cancel()
	info, _, err := s.c.Session.Get(ictx, s.id)
	if err == nil && info == nil {
		s.end(fmt.Errorf("%w: session %s is gone", ErrSessionInvalid, s.id))
	}
	return s.reason()
}

// stop stops the renewer and the deadline and waits for the renewer to
// exit; the hold, if any, is left alone.
func (s *lockSession) stop() {
	s.mu.Lock()
	s.hold = nil
	if s.cancel != nil {
		s.cancel()
		s.deadline.Stop()
	}
	if s.err == nil {
		s.err = fmt.Errorf("consul: session %s released", s.id)
		close(s.gone)
		s.notifyLocked()
	}
	s.mu.Unlock()
	<-s.done
}

// close stops the session and destroys it if it is ours.
func (s *lockSession) close(ctx context.Context) error {
	s.stop()
	if !s.own {
		return nil
	}
	return s.c.Session.Destroy(ctx, s.id)
}

// lockNextIndex applies the blocking query rules to the index of an
// answer: backwards resets to 0, and 0 becomes 1.
func lockNextIndex(prev, got uint64) uint64 {
	switch {
	case got < prev:
		return 0
	case got == 0:
		return 1
	}
	return got
}

// lockBackoff is the jittered exponential backoff of lock loops: base
// (default 100ms) doubling up to max (default DefaultLockMaxBackoff), or a
// Retry-After when longer, but never more than max.
type lockBackoff struct {
	n    int
	base time.Duration
	max  time.Duration
}

func (b *lockBackoff) reset() { b.n = 0 }

// delay returns the pause after the failure err.
func (b *lockBackoff) delay(err error) time.Duration {
	b.n++
	mx := b.max
	if mx <= 0 {
		mx = DefaultLockMaxBackoff
	}
	d := b.base
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	for i := 1; i < b.n && d < mx; i++ {
		d *= 2
	}
	d = min(d, mx)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = min(se.RetryAfter, mx)
	}
	return d
}

// wait sleeps after err, or returns err when it is permanent or ctx ended.
func (b *lockBackoff) wait(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("consul: lock: %w", ctx.Err())
	}
	if IsPermanent(err) {
		return err
	}
	if err := lockSleep(ctx, b.delay(err)); err != nil {
		return fmt.Errorf("consul: lock: %w", err)
	}
	return nil
}

// lockSleep sleeps d or until ctx ends.
func lockSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
