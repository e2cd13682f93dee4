package concurrency

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/goconsul/consul"
)

// Lock is a distributed mutual exclusion lock on one KV key, held by a
// Consul session (Consul's leader election recipe): the holder is the
// session that acquired the key. It uses only the root package's public
// KV, Txn and Session calls.
//
//	l, _ := concurrency.NewLock(client, "service/web/leader", nil)
//	held, err := l.Lock(ctx)
//	if err != nil { ... }
//	defer l.Unlock(context.Background())
//	select {
//	case <-held.Done(): // lost: stop acting as the holder
//	case <-work(held):
//	}
//
// What it promises:
//   - The context of a hold ends no later than the session TTL (less a
//     small margin) after the sending of the last renewal Consul
//     confirmed, whatever the agent answers in between: Retry-After,
//     hangs, 5xx, slow or cut answers (see Session). Since Consul
//     invalidates a session tied to no check only after twice its TTL,
//     and one tied to checks is refused a lock-delay shorter than its
//     TTL (SessionOptions.LockDelay), it ends before anyone else can take
//     the lock.
//   - The held key stays watched: the context ends within one blocking
//     round when the key is released, deleted, taken by another session,
//     or its value or marker is replaced by anyone.
//   - A contender keeps its session alive while it waits, however long;
//     if the session is lost anyway, it creates a new one and waits on
//     (with a shared LockOptions.Session it returns instead).
//   - Lock never returns a hold on a session it cannot vouch for: it
//     acquires only while the last confirmed renewal is younger than the
//     TTL, and gives the key back when that changed while acquiring.
//   - It never takes a key it did not write: the key carries the marker
//     LockFlags, and a key holding another primitive's marker or plain
//     data is refused with a *KeyConflictError; the acquisition is a
//     transaction that checks the key is still as it was read.
//
// Fence the work done under the lock when it matters: a process can be
// paused for longer than any TTL. A transaction that checks the session
// (Txn.CheckSession(l.Key(), l.Session())) is refused by Consul once the
// lock is lost; Index is a token that grows with each acquisition.
//
// A Lock value holds the lock at most once at a time; use one Lock per
// contender. Its methods are safe for concurrent use.
type Lock struct {
	core
	key string
}

// NewLock returns a lock on key. opts may be nil. Nothing is sent.
func NewLock(client *consul.Client, key string, opts *LockOptions) (*Lock, error) {
	return newLock(client, key, opts, kindLock)
}

func newLock(client *consul.Client, key string, opts *LockOptions, k *kind) (*Lock, error) {
	if client == nil {
		return nil, errNilClient()
	}
	if err := checkKey("key", key); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	l := &Lock{
		core: core{client: client, kind: k, name: fmt.Sprintf("%s %q", k.name, key), opts: opts.withDefaults()},
		key:  key,
	}
	l.value = bytes.Clone(l.opts.Value)
	return l, nil
}

// Key returns the lock's key.
func (l *Lock) Key() string {
	if l == nil {
		return ""
	}
	return l.key
}

// zero reports whether l is nil or a zero value, not made by NewLock (or
// NewElection): it has no client to send anything with.
func (l *Lock) zero() bool { return l == nil || l.client == nil }

// Session returns the ID of the session holding the lock, or "" when this
// Lock does not hold it. Fence writes done under the lock with it: a
// transaction with Txn.CheckSession(l.Key(), l.Session()) is refused by
// Consul once the session no longer holds the key.
func (l *Lock) Session() string {
	if l.zero() {
		return ""
	}
	return l.sessionID()
}

// Index returns the fencing token of the current hold, 0 when this Lock
// does not hold it: the ModifyIndex of the write that acquired the key.
// It is a Raft index, so it grows with every acquisition of the key by
// anyone, also across the key's deletion and re-creation (the key's
// LockIndex restarts at 1 then) and across holders on any other key: a
// storage that refuses writes whose token is below the highest it saw
// refuses a stale holder's writes.
func (l *Lock) Index() uint64 {
	if l.zero() {
		return 0
	}
	return l.index()
}

// Lock acquires the lock, waiting as long as ctx allows: GET /v1/kv/:key
// (blocking while another session holds it) and PUT /v1/txn (a
// check-index or check-not-exists of the key as read, and a lock of it
// with the value and LockFlags). A missing key is created. It returns a
// context that ends when the lock is lost (its context.Cause then matches
// ErrLockLost) or released by Unlock, and never a nil context with a nil
// error. ctx bounds only the acquisition: the returned context does not
// end with it, but keeps its values.
//
// Unless LockOptions.Session is set, a session is created first (PUT
// /v1/session/create) and renewed every TTL/2 while waiting and while
// held. While held, the key is watched with blocking reads. If ctx ends
// first, Lock returns ctx's error and destroys the session it created.
// A key holding another primitive's marker or plain data is refused with a
// *KeyConflictError, and a second call on a value that holds or is
// acquiring returns ErrBusy.
func (l *Lock) Lock(ctx context.Context) (context.Context, error) {
	if l.zero() {
		return nil, errZeroValue("Lock", "NewLock")
	}
	return l.acquire(ctx, true, l)
}

// TryLock makes one attempt: it returns ErrLockHeld at once when another
// session holds the lock, or when Consul refuses it during a lock-delay.
func (l *Lock) TryLock(ctx context.Context) (context.Context, error) {
	if l.zero() {
		return nil, errZeroValue("Lock", "NewLock")
	}
	return l.acquire(ctx, false, l)
}

// Unlock releases the lock: the context returned by Lock ends before
// anything is sent; then GET /v1/kv/:key and PUT /v1/txn (a check-index
// and an unlock that leaves the key's value and flags as they are), and
// the session it created is destroyed (PUT /v1/session/destroy/:id).
// Unlocking a lock that was lost only cleans up; unlocking a lock not held
// returns ErrLockNotHeld. After a loss, call Unlock before locking again.
// It returns the first error of the release and the destroy.
func (l *Lock) Unlock(ctx context.Context) error {
	if l == nil {
		return fmt.Errorf("%w: nil Lock", ErrLockNotHeld)
	}
	return l.releaseHold(ctx, l)
}

// Destroy deletes the lock's key when nobody holds it: GET /v1/kv/:key and
// DELETE /v1/kv/:key?cas=. A held key, or a Lock value that holds or is
// acquiring, is an error matching ErrInUse; a key that is not a lock's a
// *KeyConflictError. A missing key, or an empty key without the lock's
// marker (which a lock may take over, but did not write), is left alone
// without an error. Contenders waiting for the lock re-create the key when
// they acquire it.
func (l *Lock) Destroy(ctx context.Context) error {
	if l.zero() {
		return errZeroValue("Lock", "NewLock")
	}
	if l.isBusy() {
		return fmt.Errorf("%w: %s is held or being acquired by this value", ErrInUse, l.name)
	}
	return destroyKey(ctx, l.client, l.key, l.kind)
}

// destroyKey deletes a free key of the primitive kind.
func destroyKey(ctx context.Context, c *consul.Client, key string, k *kind) error {
	for attempt := 0; attempt < 10; attempt++ {
		pair, _, err := c.KV.Get(ctx, key, fresh)
		if err != nil {
			return fmt.Errorf("concurrency: destroy %s %q: %w", k.name, key, err)
		}
		if pair == nil {
			return nil
		}
		if err := checkPair(pair, k); err != nil {
			return err
		}
		if pair.Flags != k.flags {
			// An empty key without flags, which a primitive may take
			// over but did not write: not ours to delete.
			return nil
		}
		if pair.Session != "" {
			return fmt.Errorf("%w: %s %q is held by session %s", ErrInUse, k.name, key, pair.Session)
		}
		ok, err := c.KV.DeleteCAS(ctx, key, pair.ModifyIndex)
		if err != nil {
			return fmt.Errorf("concurrency: destroy %s %q: %w", k.name, key, err)
		}
		if ok {
			return nil
		}
		// Changed since read: read it again.
	}
	return fmt.Errorf("%w: %s %q kept changing", ErrInUse, k.name, key)
}

func (l *Lock) claimKey(string) string { return l.key }

// attempt waits for the key to be free and acquires it with sess.
func (l *Lock) attempt(ctx context.Context, sess *Session, wait bool) (_ uint64, err error) {
	lost := false // a transaction of this attempt lost its answer
	defer func() {
		if err != nil && lost {
			err = &mayHoldError{err}
		}
	}()
	c := l.client
	sid := sess.id
	l.mu.Lock()
	value := l.value
	lost = l.leftover[sid]
	delete(l.leftover, sid)
	l.mu.Unlock()
	bo := l.opts.backoff()
	refused := false // the last acquisition was refused
	failures := 0
	for {
		var failed error // a failed request: back off, then read again
		for u, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, l.key, fresh), l.opts.watchOptions(c)...) {
			if err != nil {
				if consul.IsPermanent(err) {
					return 0, err
				}
				// Back off, then start again with a plain read: a fault
				// that hits only blocking reads must not starve us.
				failed = err
				break
			}
			pair := u.Value
			if err := checkPair(pair, l.kind); err != nil {
				return 0, err
			}
			switch {
			case pair != nil && pair.Session == sid && lost:
				// An earlier acquisition went through though its answer was
				// lost.
				return pair.ModifyIndex, nil
			case pair != nil && pair.Session == sid:
				// Held with this session, but not by this attempt: by
				// someone else using the session's ID. Wait as for any
				// holder; taking it over would share the key and reuse
				// the holder's fencing index.
				if !wait {
					return 0, fmt.Errorf("%w: %s is held with session %s outside this value", ErrLockHeld, l.name, sid)
				}
				refused = false
				continue
			case pair != nil && pair.Session != "":
				if !wait {
					return 0, fmt.Errorf("%w: %s is held by session %s", ErrLockHeld, l.name, pair.Session)
				}
				refused = false
				continue // wait for a change
			}
			if refused {
				// Free but refused: a lock-delay is running, or the
				// session is gone.
				if err := sess.checkAlive(ctx); err != nil {
					return 0, err
				}
				if err := sleep(ctx, l.opts.RetryInterval); err != nil {
					return 0, err
				}
			}
			txn := c.Txn.New()
			if pair == nil {
				txn.CheckNotExists(l.key)
			} else {
				txn.CheckIndex(l.key, pair.ModifyIndex)
			}
			txn.KV(consul.KVTxnOp{Verb: consul.KVLock, Key: l.key, Value: value, Flags: l.kind.flags, Session: sid})
			results, _, err := txn.Execute(ctx)
			switch failedOp(err) {
			case -1:
				if err == nil {
					return txnIndex(results), nil
				}
				// No answer: the transaction may have been applied.
				lost = true
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				if consul.IsPermanent(err) {
					return 0, err
				}
				failed = err
			case 0:
				// The key changed since it was read: read it again.
				refused = false
			default:
				// Held by another session since, a lock-delay, or the
				// session is gone.
				if !wait {
					if err := sess.checkAlive(ctx); err != nil {
						return 0, err
					}
					return 0, fmt.Errorf("%w: %s: %w", ErrLockHeld, l.name, err)
				}
				refused = true
			}
			break // read again with a new watch, whose first read does not block
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if failed == nil {
			failures = 0
			continue
		}
		failures++
		if err := sleep(ctx, bo.Delay(failures, failed)); err != nil {
			return 0, err
		}
	}
}

// watch follows the hold with blocking reads of the key.
func (l *Lock) watch(ctx context.Context, h *hold) error {
	for u, err := range consul.Watch(ctx, consul.Bind(l.client.KV.Get, l.key, fresh), l.opts.watchOptions(l.client)...) {
		if err != nil {
			if consul.IsPermanent(err) {
				return err
			}
			continue
		}
		if err := l.lost(u.Value, h); err != nil {
			return err
		}
	}
	return nil
}

// lost says why pair shows that the hold h no longer holds the lock, nil
// when it holds. A state older than the hold's last confirmed write (an
// answer that was on its way while Proclaim wrote) was superseded by that
// write, which proved the session held the key: it says nothing.
func (l *Lock) lost(pair *consul.KVPair, h *hold) error {
	sid := h.sess.id
	if pair == nil {
		return fmt.Errorf("key %q was deleted", l.key)
	}
	older, ours := l.ownWrite(h, pair.ModifyIndex, pair.Value)
	switch {
	case older && pair.Session == sid && pair.Flags == l.kind.flags:
		// A stale answer of this hold's own state: superseded.
		return nil
	case pair.Session == "":
		return fmt.Errorf("key %q was released", l.key)
	case pair.Session != sid:
		return fmt.Errorf("key %q is held by session %s", l.key, pair.Session)
	case pair.Flags != l.kind.flags:
		return fmt.Errorf("key %q was overwritten: its flags are %#x", l.key, pair.Flags)
	case !ours:
		return fmt.Errorf("key %q was overwritten at index %d", l.key, pair.ModifyIndex)
	}
	return nil
}

// release unlocks the key if sid holds it, leaving its value and flags as
// they are.
func (l *Lock) release(ctx context.Context, sid string, _ uint64) error {
	return unlockKey(ctx, l.client, l.key, sid)
}

// unlockKey releases key if sid holds it, leaving its value and flags as
// they are (someone may have overwritten them: that is not ours to undo).
func unlockKey(ctx context.Context, c *consul.Client, key, sid string) error {
	for attempt := 0; attempt < 10; attempt++ {
		pair, _, err := c.KV.Get(ctx, key, fresh)
		if err != nil {
			return fmt.Errorf("concurrency: release %q: %w", key, err)
		}
		if pair == nil || pair.Session != sid {
			return nil
		}
		_, _, err = c.Txn.New().
			CheckIndex(key, pair.ModifyIndex).
			KV(consul.KVTxnOp{Verb: consul.KVUnlock, Key: key, Value: pair.Value, Flags: pair.Flags, Session: sid}).
			Execute(ctx)
		if failedOp(err) >= 0 {
			continue // changed since read
		}
		if err != nil {
			return fmt.Errorf("concurrency: release %q: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("concurrency: release %q: the key kept changing", key)
}

// checkKey refuses, as arg, the keys that no KV call would accept
// (consul.CheckKey), before anything is sent.
func checkKey(arg, key string) error {
	err := consul.CheckKey(key)
	var ae *consul.ArgumentError
	if errors.As(err, &ae) && ae.Arg != arg {
		return &consul.ArgumentError{Arg: arg, Reason: ae.Reason}
	}
	return err
}
