package concurrency

import (
	"errors"
	"fmt"

	"github.com/goconsul/consul"
)

// Errors of sessions, locks, semaphores and elections, matched with
// errors.Is.
var (
	// ErrSessionLost is why a Session ended without being closed: Consul
	// said it is gone (a renewal answered 404, or the session's watch found
	// it destroyed), or no renewal of it was confirmed within its TTL, so
	// that nothing held with it can be vouched for any more.
	ErrSessionLost = errors.New("concurrency: session lost")
	// ErrSessionClosed is the Err of a Session after Close (unless it was
	// lost before).
	ErrSessionClosed = errors.New("concurrency: session closed")
	// ErrLockHeld is returned by TryLock and TryAcquire when another
	// session holds the lock, or every slot of the semaphore, or when
	// Consul refuses the lock during a lock-delay.
	ErrLockHeld = errors.New("concurrency: lock held by another session")
	// ErrBusy is returned by Lock, TryLock, Acquire, TryAcquire and
	// Campaign called on a value that already holds or is acquiring (one
	// hold at a time per value), or whose key is already held or being
	// acquired by another primitive with the same shared Session.
	ErrBusy = errors.New("concurrency: already held or being acquired")
	// ErrLockLost is the cause (context.Cause) of a hold's context ending
	// because the hold was lost: its key was released, taken, deleted, or
	// its value or marker replaced; or its session was lost (the cause then
	// matches ErrSessionLost too) or closed.
	ErrLockLost = errors.New("concurrency: lock lost")
	// ErrLockNotHeld is returned by Unlock, Release, Resign and Proclaim
	// when there is nothing to release.
	ErrLockNotHeld = errors.New("concurrency: lock not held")
	// ErrInUse is returned by Destroy when a session holds the key (or a
	// contender key of the semaphore), or the value itself holds or is
	// acquiring.
	ErrInUse = errors.New("concurrency: in use")
	// ErrKeyConflict matches a *KeyConflictError.
	ErrKeyConflict = errors.New("concurrency: key holds something else")
)

// The markers: the KV Flags that each primitive stores with every key it
// writes, so that no primitive ever mistakes another's key, or plain data,
// for its own. They are the ASCII bytes of "goconsLK", "goconsSE" and
// "goconsEL": far from the small numbers applications store as flags, and
// never 0, the flags of a plain KV.Put.
const (
	// LockFlags marks the key of a Lock.
	LockFlags uint64 = 0x676F636F6E734C4B
	// SemaphoreFlags marks the keys under a Semaphore's prefix: the
	// contender keys and the ".lock" key of the holders.
	SemaphoreFlags uint64 = 0x676F636F6E735345
	// ElectionFlags marks the key of an Election.
	ElectionFlags uint64 = 0x676F636F6E73454C
)

// KeyConflictError is returned when a primitive is asked to use a key
// that holds something it did not write: another primitive's key (its
// marker says which), or data written by something else (a value without
// a marker, or flags that are no marker). Nothing is written to the key.
type KeyConflictError struct {
	// Key is the key refused.
	Key string
	// Holds says what the key holds: "a lock", "a semaphore", "an
	// election", "plain data" or "data with flags 0x...".
	Holds string
	// Want is the primitive that refused it: "lock", "semaphore" or
	// "election".
	Want string
}

// Error implements error.
func (e *KeyConflictError) Error() string {
	return fmt.Sprintf("concurrency: key %q holds %s, not a %s's key", e.Key, e.Holds, e.Want)
}

// Is makes errors.Is(err, ErrKeyConflict) true.
func (e *KeyConflictError) Is(target error) bool { return target == ErrKeyConflict }

// holds describes what pair holds when the primitive whose marker is want
// cannot use it, and returns "" when it can: no key, a key with its
// marker, or an empty key without flags (nothing to overwrite).
func holds(pair *consul.KVPair, want uint64) string {
	if pair == nil {
		return ""
	}
	switch pair.Flags {
	case want:
		return ""
	case LockFlags:
		return "a lock"
	case SemaphoreFlags:
		return "a semaphore"
	case ElectionFlags:
		return "an election"
	case 0:
		if len(pair.Value) == 0 {
			return ""
		}
		return "plain data"
	}
	return fmt.Sprintf("data with flags %#x", pair.Flags)
}

// checkPair returns a *KeyConflictError when the primitive kind cannot use
// pair.
func checkPair(pair *consul.KVPair, k *kind) error {
	if h := holds(pair, k.flags); h != "" {
		return &KeyConflictError{Key: pair.Key, Holds: h, Want: k.name}
	}
	return nil
}
