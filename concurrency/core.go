package concurrency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goconsul/consul"
)

// Defaults of LockOptions.
const (
	DefaultWaitTime      = 15 * time.Second
	DefaultRetryInterval = time.Second
	DefaultMaxBackoff    = 5 * time.Second
)

// LockOptions configures a Lock, a Semaphore or an Election. The zero
// value (or nil) creates a session per acquisition, with the default
// SessionOptions.
type LockOptions struct {
	// Session, if set, is the session to hold with, shared with other
	// primitives: they neither renew nor close it, and a hold on it ends
	// when it ends. Lock, Acquire and Campaign then return the session's
	// Err when it ends while they wait: an error matching ErrSessionLost,
	// or ErrSessionClosed when it was closed.
	//
	// Otherwise each acquisition creates a session with SessionOptions,
	// renewed from its creation on (also while waiting), and closes it on
	// release; a contender whose session is lost while it waits creates a
	// new one and waits on.
	Session *Session
	// SessionOptions configures the sessions created for each acquisition;
	// it must be nil when Session is set.
	SessionOptions *SessionOptions
	// Value is written to the lock's key (to a semaphore's contender key)
	// when it is acquired. An Election writes Campaign's value instead.
	Value []byte
	// WaitTime is the wait of each blocking read while waiting for or
	// watching the key; zero means DefaultWaitTime.
	WaitTime time.Duration
	// RetryInterval is the pause before trying again when the key is free
	// but Consul refused it (its lock-delay is running); zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// MaxBackoff is the longest pause after a failed request while
	// waiting for or watching the key; zero means DefaultMaxBackoff. A
	// Retry-After asked by a 429 or 503 answer is honoured up to
	// MaxBackoff, never beyond. (A session's renewals retry within a tenth
	// of its TTL, whatever this says.)
	MaxBackoff time.Duration
}

func (o *LockOptions) check() error {
	if o == nil {
		return nil
	}
	neg := func(arg string, d time.Duration) error {
		return &consul.ArgumentError{Arg: "LockOptions." + arg, Reason: fmt.Sprintf("negative duration %s", d)}
	}
	switch {
	case o.WaitTime < 0:
		return neg("WaitTime", o.WaitTime)
	case o.RetryInterval < 0:
		return neg("RetryInterval", o.RetryInterval)
	case o.MaxBackoff < 0:
		return neg("MaxBackoff", o.MaxBackoff)
	case o.Session != nil && o.SessionOptions != nil:
		return &consul.ArgumentError{Arg: "LockOptions.SessionOptions", Reason: "set with Session: a shared session has its own options"}
	case o.Session != nil && o.Session.zero():
		return &consul.ArgumentError{Arg: "LockOptions.Session", Reason: "a zero Session (make one with NewSession or NewSessionFromID)"}
	}
	return o.SessionOptions.check("LockOptions.SessionOptions")
}

func (o *LockOptions) withDefaults() LockOptions {
	var r LockOptions
	if o != nil {
		r = *o
	}
	if r.WaitTime <= 0 {
		r.WaitTime = DefaultWaitTime
	}
	if r.RetryInterval <= 0 {
		r.RetryInterval = DefaultRetryInterval
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	return r
}

// backoff is the backoff of the loops waiting for or watching a key.
func (o *LockOptions) backoff() consul.Backoff {
	return consul.Backoff{Min: min(100*time.Millisecond, o.MaxBackoff), Max: o.MaxBackoff}
}

// watchOptions are the options of the watches of keys.
func (o *LockOptions) watchOptions(c *consul.Client) []consul.WatchOption {
	b := o.backoff()
	return []consul.WatchOption{
		consul.WatchWait(o.WaitTime),
		consul.WatchBackoff(b.Min, b.Max),
		consul.WatchLogger(c.Logger()),
	}
}

// fresh makes the primitives' own reads come from the leader, whatever
// the client's default consistency or the agent's discovery_max_stale: a
// stale read could show a hold that ended, miss one that began, or end a
// session that lives.
var fresh = consul.WithConsistency(consul.ConsistencyLeader)

// cleanupTimeout bounds the requests that clean up after an acquisition
// that failed or was given up, which run on a context of their own (the
// caller's may have ended): Lock returns soon after its context ends, even
// when the agent does not answer.
const cleanupTimeout = 5 * time.Second

// kind is what tells the primitives apart.
type kind struct {
	name     string // "lock", "semaphore", "election"
	flags    uint64 // the marker of its keys
	behavior consul.SessionBehavior
}

var (
	kindLock      = &kind{name: "lock", flags: LockFlags, behavior: consul.SessionRelease}
	kindSemaphore = &kind{name: "semaphore", flags: SemaphoreFlags, behavior: consul.SessionDelete}
	kindElection  = &kind{name: "election", flags: ElectionFlags, behavior: consul.SessionRelease}
)

// recipe is what a Lock or a Semaphore does with a session.
type recipe interface {
	// claimKey is the key a hold with the session sid holds.
	claimKey(sid string) string
	// attempt waits (when wait is true) until sess holds, and returns the
	// fencing index of the acquisition; or ErrLockHeld.
	attempt(ctx context.Context, sess *Session, wait bool) (uint64, error)
	// watch follows a hold until ctx ends (it returns nil) or the hold is
	// lost (it returns why).
	watch(ctx context.Context, h *hold) error
	// release gives back what sid holds, leaving the session alone. A
	// hold's release passes the hold's index: a key of the hold written
	// after it was written by someone else, and is not deleted. An
	// attempt's passes 0 (no bound).
	release(ctx context.Context, sid string, index uint64) error
}

// core is what Lock, Semaphore and Election share: one hold at a time,
// its session and its watch.
type core struct {
	client *consul.Client
	kind   *kind
	name   string // "lock \"key\"", for errors and logs
	opts   LockOptions

	mu    sync.Mutex
	busy  bool  // an acquisition is running or the lock is held
	hold  *hold // the current hold
	value []byte
	// pending are the values of proclamations not confirmed yet (on
	// their way, or whose answer was lost), oldest first.
	pending [][]byte
	// leftover are the shared sessions on which an attempt may have
	// written, and whose cleanup release failed: the next attempt with
	// one takes what it finds held with it for its own.
	leftover map[string]bool
}

// hold is one acquisition: its session, its context and its watch.
type hold struct {
	sess  *Session
	own   bool // created for this hold, closed with it
	key   string
	index uint64
	// written is the ModifyIndex of the hold's last confirmed write of its
	// key (the acquisition, then each Proclaim); guarded by core.mu. A
	// state of the key older than that write was superseded by it.
	written uint64
	ctx     context.Context
	cancel  context.CancelCauseFunc
	detach  func()
	done    chan struct{} // closed when the watch exits
}

// current returns the live hold, or nil.
func (k *core) current() *hold {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hold == nil || k.hold.ctx.Err() != nil {
		return nil
	}
	return k.hold
}

func (k *core) sessionID() string {
	if h := k.current(); h != nil {
		return h.sess.id
	}
	return ""
}

func (k *core) index() uint64 {
	if h := k.current(); h != nil {
		return h.index
	}
	return 0
}

func (k *core) isBusy() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.busy
}

// ownWrite compares a state of the hold's key, written at index with
// value v, with the hold's own writes: older is true for a state older
// than its last confirmed write (superseded by it), ours for that write
// or a proclamation not confirmed yet, which it confirms; a newer state
// that is neither was written by someone else, whatever its value.
func (k *core) ownWrite(h *hold, index uint64, v []byte) (older, ours bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case index < h.written:
		return true, false
	case index == h.written:
		return false, string(v) == string(k.value)
	}
	for i, p := range k.pending {
		if string(p) == string(v) {
			// Proclaimed: confirmed by what the key shows. Earlier
			// proclamations were superseded by it.
			h.written, k.value, k.pending = index, p, k.pending[i+1:]
			return false, true
		}
	}
	return false, false
}

// valueOK reports whether v is the value the hold wrote (or is writing).
func (k *core) valueOK(v []byte) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return string(v) == string(k.value)
}

// acquire runs one acquisition.
func (k *core) acquire(ctx context.Context, wait bool, r recipe) (context.Context, error) {
	return k.acquireValue(ctx, wait, r, nil, false)
}

// acquireValue is acquire; with set, value becomes the value to write in
// the same critical section that makes the value busy.
func (k *core) acquireValue(ctx context.Context, wait bool, r recipe, value []byte, set bool) (context.Context, error) {
	k.mu.Lock()
	if k.busy {
		k.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrBusy, k.name)
	}
	k.busy = true
	if set {
		k.value = bytes.Clone(value) // the caller may reuse its slice
	}
	k.mu.Unlock()

	h, err := k.contend(ctx, wait, r)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.busy = false
		return nil, err
	}
	k.hold = h
	return h.ctx, nil
}

// session returns the session of the next attempt: the shared one, or a
// new one.
func (k *core) session(ctx context.Context) (*Session, bool, error) {
	if s := k.opts.Session; s != nil {
		if err := s.Err(); err != nil {
			return nil, false, err
		}
		return s, false, nil
	}
	s, err := newSession(ctx, k.client, k.opts.SessionOptions.entry("goconsul "+k.kind.name, k.kind.behavior))
	if err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// contend creates sessions and runs attempts until one holds, ctx ends or
// an error that a new session would not help is met.
func (k *core) contend(ctx context.Context, wait bool, r recipe) (*hold, error) {
	bo := k.opts.backoff()
	for failures := 1; ; failures++ {
		sess, own, err := k.session(ctx)
		if err != nil {
			if failures > 1 && wait && k.opts.Session == nil && ctx.Err() == nil && !consul.IsPermanent(err) {
				// The replacement of a session lost while waiting: the
				// agent may be down for longer than a TTL. Wait on, as
				// long as ctx allows; only a first attempt fails at once.
				if sleep(ctx, bo.Delay(failures, err)) != nil {
					return nil, k.ctxErr(ctx, ctx.Err())
				}
				continue
			}
			return nil, k.ctxErr(ctx, err)
		}
		key := r.claimKey(sess.id)
		if !sess.claim(key) {
			return nil, fmt.Errorf("%w: %s: key %s is held or being acquired with session %s by another primitive", ErrBusy, k.name, key, sess.id)
		}
		h, err := k.contendWith(ctx, sess, own, key, wait, r)
		if err == nil {
			return h, nil
		}
		sess.unclaim(key)
		var mh *mayHoldError
		mayHold := errors.As(err, &mh)
		if mayHold {
			err = mh.err
		}
		// ctx may have ended: clean up on a context of our own. Give back
		// what an abandoned acquisition may have taken before destroying
		// the session: destroying a session that holds a lock starts a
		// lock-delay, a release does not. A shared session's key that
		// the attempt did not write is someone else's hold: left alone.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		if own || mayHold {
			rerr := r.release(cctx, sess.id, 0)
			if !own {
				k.mu.Lock()
				if rerr != nil {
					if k.leftover == nil {
						k.leftover = make(map[string]bool)
					}
					k.leftover[sess.id] = true
				} else {
					delete(k.leftover, sess.id)
				}
				k.mu.Unlock()
			}
		}
		if own {
			_ = sess.Close(cctx)
		}
		cancel()
		if own && errors.Is(err, ErrSessionLost) && ctx.Err() == nil && wait {
			// The session was lost while waiting: go on with a new one.
			if l := k.client.Logger(); l != nil {
				l.LogAttrs(ctx, slog.LevelWarn, "consul: contender's session lost, creating a new one",
					slog.String(k.kind.name, k.name), slog.String("error", err.Error()))
			}
			if sleep(ctx, bo.Delay(failures, err)) != nil {
				return nil, k.ctxErr(ctx, ctx.Err())
			}
			continue
		}
		return nil, k.ctxErr(ctx, err)
	}
}

// mayHoldError is an attempt's error after it wrote, or may have written
// (a transaction without an answer), what it contended for: the caller
// releases it.
type mayHoldError struct{ err error }

func (e *mayHoldError) Error() string { return e.err.Error() }
func (e *mayHoldError) Unwrap() error { return e.err }

// ctxErr returns err, or ctx's error when ctx ended and err is not it.
func (k *core) ctxErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("concurrency: %s: %w", k.name, ctxErr)
	}
	return err
}

// contendWith runs attempts with one session until it holds.
func (k *core) contendWith(ctx context.Context, sess *Session, own bool, key string, wait bool, r recipe) (*hold, error) {
	for {
		// The attempt ends as soon as the session ends.
		actx, cancel := context.WithCancelCause(ctx)
		remove := sess.onEnd(func(err error) { cancel(err) })
		index, err := r.attempt(actx, sess, wait)
		remove()
		cancel(nil)
		if serr := sess.Err(); serr != nil {
			var mh *mayHoldError
			if err == nil || errors.As(err, &mh) {
				// Ended here; a shared session may live on in Consul,
				// with what the attempt took or wrote: still to release.
				return nil, &mayHoldError{serr}
			}
			return nil, serr
		}
		if err != nil {
			return nil, err
		}
		h := &hold{sess: sess, own: own, key: key, index: index, written: index, done: make(chan struct{})}
		h.ctx, h.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
		detach, ok := sess.attach(func(err error) {
			h.cancel(fmt.Errorf("%w: %s: %w", ErrLockLost, k.name, err))
			k.logLoss(h, err)
		})
		if ok {
			h.detach = detach
			go k.follow(h, r)
			return h, nil
		}
		h.cancel(nil)
		// Held, but the session's last confirmed renewal became older than
		// its TTL while acquiring: the hold cannot be promised. Give it
		// back (a release starts no lock-delay).
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		_ = r.release(cctx, sess.id, 0)
		ccancel()
		if serr := sess.Err(); serr != nil {
			return nil, serr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// follow follows the hold until its context ends. When the hold is lost it
// ends its context with a cause matching ErrLockLost and closes the
// session it created. It only detects a loss sooner: the session's end
// ends the hold by itself.
func (k *core) follow(h *hold, r recipe) {
	defer close(h.done)
	err := r.watch(h.ctx, h)
	if err == nil || h.ctx.Err() != nil {
		return
	}
	h.cancel(fmt.Errorf("%w: %s: %w", ErrLockLost, k.name, err))
	k.logLoss(h, err)
	// The clean-up is done here, each request bounded by cleanupTimeout,
	// before done is closed: an Unlock after the loss waits for it, and
	// nothing of the hold outlives it, even when the agent hangs.
	if h.own {
		// Nothing is held with it any more: stop renewing it, and destroy
		// it. Release first: a key overwritten by a plain put still
		// carries the session, and a session with the delete behavior
		// would delete what was written.
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		_ = r.release(ctx, h.sess.id, h.index)
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), cleanupTimeout)
		_ = h.sess.Close(ctx)
		cancel()
	} else {
		// A key of the session released or deleted is how an invalidated
		// session shows first: end it now if it is gone, and with it the
		// other holds on it, rather than at its next renewal.
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		_ = h.sess.checkAlive(ctx)
		cancel()
	}
}

// logLoss logs the end of a hold by its session's end.
func (k *core) logLoss(h *hold, err error) {
	if l := k.client.Logger(); l != nil && !errors.Is(err, ErrSessionClosed) {
		l.LogAttrs(context.Background(), slog.LevelError, "consul: "+k.kind.name+" lost",
			slog.String("key", h.key), slog.String("session", h.sess.id), slog.String("error", err.Error()))
	}
}

// releaseHold ends the hold, then gives back what it held and closes the
// session it created. When the release fails on a shared session that
// lives on (which may still hold the key), the hold stays on record: the
// value stays busy, and Unlock can be called again.
func (k *core) releaseHold(ctx context.Context, r recipe) error {
	k.mu.Lock()
	h := k.hold
	if h == nil {
		k.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrLockNotHeld, k.name)
	}
	k.hold, k.pending = nil, nil
	// The hold ends before anything is sent: nobody else can get the lock
	// while this holder still believes it holds it.
	h.cancel(nil)
	k.mu.Unlock()
	<-h.done
	h.detach()
	// Release even after a loss: when the loss was the session's deadline
	// it may still hold the key, and a release by a session that does not
	// hold the key changes nothing.
	err := r.release(ctx, h.sess.id, h.index)
	if err != nil && !h.own && h.sess.Err() == nil {
		k.mu.Lock()
		k.hold = h
		k.mu.Unlock()
		return err
	}
	h.sess.unclaim(h.key)
	if h.own {
		if cerr := h.sess.Close(ctx); err == nil {
			err = cerr
		}
	}
	k.mu.Lock()
	k.busy = false
	k.mu.Unlock()
	return err
}

// txnIndex returns the ModifyIndex of the last result of a transaction:
// the write that took the lock or the slot.
func txnIndex(results []consul.TxnResult) uint64 {
	for i := len(results) - 1; i >= 0; i-- {
		if results[i].KV != nil {
			return results[i].KV.ModifyIndex
		}
	}
	return 0
}

// failedOp returns the index of the first failed operation of a rolled
// back transaction, or -1.
func failedOp(err error) int {
	var te *consul.TxnError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return -1
	}
	return te.Errors[0].OpIndex
}
