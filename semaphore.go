package consul

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// semaphoreLockKey is the key under a semaphore's prefix that records its
// limit and holders.
const semaphoreLockKey = ".lock"

// semaphoreState is the JSON of the .lock key, as in Consul's semaphore
// recipe: {"Limit": 3, "Holders": {"<session>": true}}.
type semaphoreState struct {
	Limit   int
	Holders map[string]bool
}

// Semaphore lets at most Limit sessions hold it at once (Consul's semaphore
// recipe), built only on the public KV and Session calls. Each contender
// acquires a key of its own under the prefix with its session, then adds
// its session to the holders listed in the prefix's ".lock" key with a
// check-and-set write; holders whose session is gone are pruned by the
// next contender. All users of a prefix must use the same limit.
//
// A Semaphore value holds at most one slot at a time; use one per
// contender. Its methods are safe for concurrent use.
type Semaphore struct {
	client *Client
	prefix string // ends with "/"
	limit  int
	opts   LockOptions

	mu   sync.Mutex
	busy bool
	hold *lockHold
}

// NewSemaphore returns a semaphore of limit holders under prefix (e.g.
// "service/batch/slots"). opts may be nil; its LockDelay does not apply.
// Nothing is sent.
func NewSemaphore(client *Client, prefix string, limit int, opts *LockOptions) (*Semaphore, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	if err := checkKey("prefix", prefix, false); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, argError("limit", "%d is below 1", limit)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if opts == nil || opts.SessionName == "" {
		o.SessionName = "goconsul semaphore"
	}
	return &Semaphore{client: client, prefix: prefix + "/", limit: limit, opts: o}, nil
}

// Acquire takes a slot, waiting as long as ctx allows. Like Lock.Lock, it
// returns a context that ends when the slot is lost (context.Cause matches
// ErrLockLost) or released, and never a nil context with a nil error. A
// .lock key recording another limit is an error.
func (s *Semaphore) Acquire(ctx context.Context) (context.Context, error) {
	return s.acquire(ctx, true)
}

// TryAcquire makes one attempt and returns ErrLockHeld when every slot is
// taken.
func (s *Semaphore) TryAcquire(ctx context.Context) (context.Context, error) {
	return s.acquire(ctx, false)
}

func (s *Semaphore) acquire(ctx context.Context, wait bool) (context.Context, error) {
	s.mu.Lock()
	if s.busy {
		s.mu.Unlock()
		return nil, fmt.Errorf("consul: semaphore %s: already held or being acquired by this Semaphore", s.prefix)
	}
	s.busy = true
	s.mu.Unlock()

	// Contender keys go away with their session.
	h, err := lockAcquire(ctx, s.client, &s.opts, SessionDelete, func(ctx context.Context, sid string) (bool, uint64, error) {
		return s.attempt(ctx, sid, wait)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.busy = false
		return nil, err
	}
	s.hold = h
	go func() {
		defer close(h.done)
		lockKeep(h, s.client, &s.opts, func(ctx context.Context, index uint64, w time.Duration) (bool, uint64, error) {
			pairs, meta, err := s.client.KV.List(ctx, s.prefix, WaitIndex(index), WaitTime(w))
			if err != nil {
				return true, index, err
			}
			st, _, live, err := s.parse(pairs)
			if err != nil {
				return false, 0, err
			}
			return st.Holders[h.session] && live[h.session], meta.Index, nil
		})
	}()
	return h.ctx, nil
}

// parse reads a listing of the prefix: the .lock state and its pair (nil
// when missing), and the sessions of the live contender keys.
func (s *Semaphore) parse(pairs []*KVPair) (semaphoreState, *KVPair, map[string]bool, error) {
	var st semaphoreState
	var lockPair *KVPair
	live := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		if p.Key == s.prefix+semaphoreLockKey {
			lockPair = p
			continue
		}
		if p.Session != "" {
			live[p.Session] = true
		}
	}
	if lockPair != nil && len(lockPair.Value) > 0 {
		if err := json.Unmarshal(lockPair.Value, &st); err != nil {
			return st, nil, nil, fmt.Errorf("consul: semaphore %s: bad %s key: %w", s.prefix, semaphoreLockKey, err)
		}
	}
	if st.Holders == nil {
		st.Holders = make(map[string]bool)
	}
	if lockPair != nil && st.Limit != 0 && st.Limit != s.limit {
		return st, nil, nil, &ArgumentError{Arg: "limit", Reason: fmt.Sprintf("semaphore %s has limit %d, not %d", s.prefix, st.Limit, s.limit)}
	}
	return st, lockPair, live, nil
}

func (s *Semaphore) attempt(ctx context.Context, sid string, wait bool) (bool, uint64, error) {
	contender := s.prefix + sid
	var bo lockBackoff
	for {
		ok, err := s.client.KV.Acquire(ctx, contender, s.opts.Value, sid)
		if err == nil && ok {
			break
		}
		if err == nil {
			err = fmt.Errorf("consul: semaphore %s: contender key %s refused", s.prefix, contender)
		}
		if err := bo.wait(ctx, err); err != nil {
			return false, 0, err
		}
	}
	bo.reset()
	var index uint64
	for {
		var opts []Option
		if index > 0 {
			opts = []Option{WaitIndex(index), WaitTime(s.opts.WaitTime)}
		}
		pairs, meta, err := s.client.KV.List(ctx, s.prefix, opts...)
		if err != nil {
			if err := bo.wait(ctx, err); err != nil {
				return false, 0, err
			}
			continue
		}
		bo.reset()
		st, lockPair, live, err := s.parse(pairs)
		if err != nil {
			return false, 0, err
		}
		// Prune the holders whose contender key is gone or unlocked.
		for h := range st.Holders {
			if !live[h] {
				delete(st.Holders, h)
			}
		}
		if st.Holders[sid] {
			return true, meta.Index, nil
		}
		if len(st.Holders) >= s.limit {
			if !wait {
				return false, 0, ErrLockHeld
			}
			index = lockNextIndex(index, meta.Index)
			continue
		}
		st.Holders[sid] = true
		st.Limit = s.limit
		body, err := json.Marshal(st)
		if err != nil {
			return false, 0, err
		}
		var cas uint64
		if lockPair != nil {
			cas = lockPair.ModifyIndex
		}
		ok, err := s.client.KV.PutCAS(ctx, s.prefix+semaphoreLockKey, body, cas)
		if err != nil {
			if err := bo.wait(ctx, err); err != nil {
				return false, 0, err
			}
		} else if ok {
			return true, meta.Index, nil
		}
		// Someone else changed the state: read it again at once.
		index = 0
	}
}

// Release gives the slot back: it removes the session from the holders,
// deletes its contender key, stops renewing and destroys the session it
// created. The context returned by Acquire ends. Releasing a semaphore not
// held returns ErrLockNotHeld; after a loss, call Release before acquiring
// again.
func (s *Semaphore) Release(ctx context.Context) error {
	s.mu.Lock()
	h := s.hold
	if h == nil {
		s.mu.Unlock()
		return ErrLockNotHeld
	}
	s.hold = nil
	s.busy = false
	s.mu.Unlock()
	h.cancel(nil)
	<-h.done

	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var pair *KVPair
		pair, _, err = s.client.KV.Get(ctx, s.prefix+semaphoreLockKey)
		if err != nil || pair == nil {
			break
		}
		var st semaphoreState
		if err = json.Unmarshal(pair.Value, &st); err != nil || !st.Holders[h.session] {
			err = nil
			break
		}
		delete(st.Holders, h.session)
		body, merr := json.Marshal(st)
		if merr != nil {
			err = merr
			break
		}
		var ok bool
		if ok, err = s.client.KV.PutCAS(ctx, s.prefix+semaphoreLockKey, body, pair.ModifyIndex); err != nil || ok {
			break
		}
	}
	if derr := s.client.KV.Delete(ctx, s.prefix+h.session); err == nil {
		err = derr
	}
	if h.own {
		if derr := s.client.Session.Destroy(ctx, h.session); err == nil {
			err = derr
		}
	}
	return err
}
