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
	// was invalidated, or the session could not be renewed within its TTL.
	ErrLockLost = errors.New("consul: lock lost")
	// ErrLockNotHeld is returned by Unlock, Release and Resign when there
	// is nothing to release.
	ErrLockNotHeld = errors.New("consul: lock not held")
)

// Defaults of LockOptions.
const (
	DefaultLockSessionTTL    = 15 * time.Second
	DefaultLockWaitTime      = 15 * time.Second
	DefaultLockRetryInterval = time.Second
)

// LockOptions configures a Lock, a Semaphore or an Election. The zero
// value (or nil) creates a session per acquisition with a 15s TTL renewed
// in the background and Consul's default lock-delay of 15s.
type LockOptions struct {
	// Value is written to the lock's key when it is acquired.
	Value []byte
	// Session, if set, is an existing session to hold the lock with; the
	// lock neither renews nor destroys it. Otherwise each acquisition
	// creates a session, renews it every SessionTTL/2 and destroys it on
	// release.
	Session string
	// SessionName names the created sessions; empty means "goconsul lock".
	SessionName string
	// SessionTTL is the TTL of the created sessions; zero means
	// DefaultLockSessionTTL. Consul's minimum is 10s unless the agent's
	// session_ttl_min is lower.
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
// A Lock value holds the lock at most once at a time; use one Lock per
// contender. Its methods are safe for concurrent use.
type Lock struct {
	client *Client
	key    string
	opts   LockOptions

	mu   sync.Mutex
	busy bool      // a Lock call is running or the lock is held
	hold *lockHold // the current hold, nil when not held
}

// lockHold is one acquisition: its session and its monitor.
type lockHold struct {
	session string
	own     bool // the session was created for this hold
	ctx     context.Context
	cancel  context.CancelCauseFunc
	done    chan struct{} // closed when the monitor exits
}

// NewLock returns a lock on key. opts may be nil. Nothing is sent.
func NewLock(client *Client, key string, opts *LockOptions) (*Lock, error) {
	if err := checkKey("key", key, false); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	return &Lock{client: client, key: key, opts: opts.withDefaults()}, nil
}

// Key returns the lock's key.
func (l *Lock) Key() string { return l.key }

// Lock acquires the lock, waiting as long as ctx allows. It returns a
// context that ends when the lock is lost (its context.Cause then matches
// ErrLockLost) or released by Unlock. ctx bounds only the acquisition: the
// returned context does not end with it, but keeps its values.
//
// While held, the session is renewed every TTL/2 and the key is watched
// with blocking reads. If ctx ends first, Lock returns ctx's error (never a
// nil context with a nil error) and destroys the session it created.
func (l *Lock) Lock(ctx context.Context) (context.Context, error) {
	return l.lock(ctx, true)
}

// TryLock makes one attempt: it returns ErrLockHeld at once when another
// session holds the lock, or when Consul refuses it during a lock-delay.
func (l *Lock) TryLock(ctx context.Context) (context.Context, error) {
	return l.lock(ctx, false)
}

func (l *Lock) lock(ctx context.Context, wait bool) (context.Context, error) {
	l.mu.Lock()
	if l.busy {
		l.mu.Unlock()
		return nil, fmt.Errorf("consul: lock %s: already held or being acquired by this Lock", l.key)
	}
	l.busy = true
	value := l.opts.Value
	l.mu.Unlock()

	h, err := lockAcquire(ctx, l.client, &l.opts, SessionRelease, func(ctx context.Context, sid string) (bool, uint64, error) {
		return l.attempt(ctx, sid, value, wait)
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.busy = false
		return nil, err
	}
	l.hold = h
	go func() {
		defer close(h.done)
		lockKeep(h, l.client, &l.opts, func(ctx context.Context, index uint64, w time.Duration) (bool, uint64, error) {
			pair, meta, err := l.client.KV.Get(ctx, l.key, WaitIndex(index), WaitTime(w))
			if err != nil {
				return true, index, err
			}
			return pair != nil && pair.Session == h.session, meta.Index, nil
		})
	}()
	return h.ctx, nil
}

// attempt waits for the key to be free and acquires it. It returns the
// index to start watching from.
func (l *Lock) attempt(ctx context.Context, sid string, value []byte, wait bool) (bool, uint64, error) {
	var index uint64
	refused := false
	bo := lockBackoff{}
	for {
		var opts []Option
		if index > 0 {
			opts = []Option{WaitIndex(index), WaitTime(l.opts.WaitTime)}
		}
		pair, meta, err := l.client.KV.Get(ctx, l.key, opts...)
		if err != nil {
			if err := bo.wait(ctx, err); err != nil {
				return false, 0, err
			}
			continue
		}
		bo.reset()
		switch {
		case pair != nil && pair.Session == sid:
			return true, meta.Index, nil
		case pair != nil && pair.Session != "":
			if !wait {
				return false, 0, ErrLockHeld
			}
			refused = false
			index = lockNextIndex(index, meta.Index)
			continue
		}
		if refused {
			// Free but refused: a lock-delay is running.
			if err := lockSleep(ctx, l.opts.RetryInterval); err != nil {
				return false, 0, err
			}
		}
		ok, err := l.client.KV.Acquire(ctx, l.key, value, sid)
		if err != nil {
			if err := bo.wait(ctx, err); err != nil {
				return false, 0, err
			}
			index = 0
			continue
		}
		if ok {
			return true, meta.Index, nil
		}
		if !wait {
			return false, 0, ErrLockHeld
		}
		refused, index = true, 0
	}
}

// Unlock releases the lock, stops renewing its session and destroys the
// session it created. The context returned by Lock ends. Unlocking a lock
// that was lost only cleans up; unlocking a lock not held returns
// ErrLockNotHeld. After a loss, call Unlock before locking again.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	h := l.hold
	if h == nil {
		l.mu.Unlock()
		return ErrLockNotHeld
	}
	l.hold = nil
	l.busy = false
	value := l.opts.Value
	l.mu.Unlock()
	h.cancel(nil)
	<-h.done
	var err error
	if !errors.Is(context.Cause(h.ctx), ErrLockLost) {
		_, err = l.client.KV.Release(ctx, l.key, value, h.session)
	}
	if h.own {
		if derr := l.client.Session.Destroy(ctx, h.session); err == nil {
			err = derr
		}
	}
	return err
}

// lockAcquire creates the session (unless opts gives one), runs attempt
// and returns the hold, or cleans up on failure.
func lockAcquire(ctx context.Context, c *Client, opts *LockOptions, behavior SessionBehavior,
	attempt func(ctx context.Context, sid string) (bool, uint64, error)) (*lockHold, error) {
	sid, own := opts.Session, false
	if sid == "" {
		var err error
		sid, err = c.Session.Create(ctx, &SessionEntry{
			Name:      opts.SessionName,
			TTL:       opts.SessionTTL,
			LockDelay: opts.LockDelay,
			Behavior:  behavior,
		})
		if err != nil {
			return nil, err
		}
		own = true
	}
	ok, _, err := attempt(ctx, sid)
	if err == nil && !ok {
		err = ErrLockHeld
	}
	if err != nil {
		if own {
			// ctx may have ended: clean up on a context of our own.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = c.Session.Destroy(dctx, sid)
			cancel()
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("consul: lock: %w", ctxErr)
		}
		return nil, err
	}
	hctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	return &lockHold{session: sid, own: own, ctx: hctx, cancel: cancel, done: make(chan struct{})}, nil
}

// lockKeep renews the hold's session (when it owns it) and watches the
// hold with check, a blocking read that reports whether the hold is still
// ours, until the hold's context ends. When the hold is lost it cancels
// the hold's context with a cause matching ErrLockLost.
func lockKeep(h *lockHold, c *Client, opts *LockOptions,
	check func(ctx context.Context, index uint64, wait time.Duration) (bool, uint64, error)) {
	ctx := h.ctx
	ttl := opts.SessionTTL
	renewEvery := ttl / 2
	lastRenew := time.Now()
	var index uint64
	bo := lockBackoff{max: ttl / 4}
	for ctx.Err() == nil {
		if h.own && time.Since(lastRenew) >= renewEvery {
			rctx, cancel := context.WithTimeout(ctx, renewEvery)
			_, err := c.Session.Renew(rctx, h.session)
			cancel()
			switch {
			case ctx.Err() != nil:
				return
			case err == nil:
				lastRenew = time.Now()
			case errors.Is(err, ErrNotFound):
				h.cancel(fmt.Errorf("%w: session %s is gone", ErrLockLost, h.session))
				return
			case time.Since(lastRenew) >= ttl:
				h.cancel(fmt.Errorf("%w: session %s not renewed within its TTL: %v", ErrLockLost, h.session, err))
				return
			default:
				_ = lockSleep(ctx, min(ttl/10, 500*time.Millisecond))
				continue
			}
		}
		wait := opts.WaitTime
		if h.own {
			wait = min(wait, time.Until(lastRenew.Add(renewEvery)))
		}
		wait = max(wait, 10*time.Millisecond)
		rctx, cancel := context.WithTimeout(ctx, wait+wait/16+time.Second)
		// The first read (index 0 sent as 1) returns at once.
		ok, got, err := check(rctx, max(index, 1), wait)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if IsPermanent(err) {
				h.cancel(fmt.Errorf("%w: %v", ErrLockLost, err))
				return
			}
			if h.own && time.Since(lastRenew) >= ttl {
				h.cancel(fmt.Errorf("%w: session %s not renewed within its TTL: %v", ErrLockLost, h.session, err))
				return
			}
			_ = bo.wait(ctx, err)
			continue
		}
		bo.reset()
		if !ok {
			h.cancel(fmt.Errorf("%w: no longer held by session %s", ErrLockLost, h.session))
			return
		}
		index = lockNextIndex(index, got)
	}
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

// lockBackoff is the jittered exponential backoff of lock loops: 100ms
// doubling up to max (default 5s), at least a Retry-After.
type lockBackoff struct {
	n   int
	max time.Duration
}

func (b *lockBackoff) reset() { b.n = 0 }

// wait sleeps after err, or returns err when it is permanent or ctx ended.
func (b *lockBackoff) wait(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("consul: lock: %w", ctx.Err())
	}
	if IsPermanent(err) {
		return err
	}
	b.n++
	mx := b.max
	if mx <= 0 {
		mx = 5 * time.Second
	}
	d := 100 * time.Millisecond
	for i := 1; i < b.n && d < mx; i++ {
		d *= 2
	}
	d = min(d, mx)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = se.RetryAfter
	}
	if err := lockSleep(ctx, d); err != nil {
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
