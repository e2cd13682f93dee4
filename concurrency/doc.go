// Package concurrency builds coordination primitives on Consul sessions
// and the KV store, in the manner of etcd's client/v3/concurrency: a
// self-renewing Session, and Lock, Semaphore and Election held with one.
// It uses only the public API of the root package
// (github.com/goconsul/consul).
//
// # Sessions
//
// A Session is a Consul session renewed in the background every TTL/2. It
// ends (Done is closed, Err says why) when Consul says it is gone, when no
// renewal was confirmed within its TTL, or when it is closed; whatever is
// held with it is lost then. Lock, Semaphore and Election create a session
// per acquisition unless LockOptions.Session shares one.
//
// # Holds
//
// Lock, Acquire and Campaign return a context that ends when the hold is
// lost (its context.Cause matches ErrLockLost) or released. It ends no
// later than the session's TTL after the last renewal Consul confirmed,
// whatever the agent answers in between, and Consul waits twice the TTL
// before it gives the key to anyone else: two holders never overlap. The
// sessions are tied to no health check unless SessionOptions names some,
// and then need a lock-delay of at least their TTL, which keeps everyone
// else out for that long after Consul invalidated the session on a
// failed check. The
// held key stays watched: a hold ends within one blocking round when its
// key is taken, released, deleted or overwritten. Its own writes are told
// from anyone else's by the key's ModifyIndex, not by its content: a
// write by someone else ends the hold even when it puts back the same
// value and flags, and an answer older than the hold's own last write
// (Election.Proclaim) ends nothing. What someone else wrote over a held
// key is left in place, by the loss and by the release: the key is
// unlocked before the session that held it is closed, so that a session
// with the delete behavior does not take it along.
//
// # Markers
//
// Every key a primitive writes carries its marker in the KV Flags
// (LockFlags, SemaphoreFlags, ElectionFlags). A primitive refuses, with a
// *KeyConflictError matching ErrKeyConflict, a key or prefix holding
// another primitive's marker or plain data, and writes nothing to it.
//
// # Fencing
//
// A process can be paused for longer than any TTL. Fence the writes done
// under a hold with a transaction that checks the hold's session, which
// Consul refuses once the session no longer holds the key:
//
//	_, _, err := client.Txn.New().
//		CheckSession(lock.Key(), lock.Session()).
//		Set("jobs/nightly/result", result).
//		Execute(ctx)
//	if errors.Is(err, consul.ErrConflict) {
//		// the lock was lost: nothing was written
//	}
//
// Index returns a token that grows with each acquisition, for systems
// that refuse a token below the highest they saw.
//
// # Background activity
//
// Renewal failures (Warn), losses of sessions, locks, semaphore slots and
// leaderships (Error) and the errors of the watches of keys (Warn) go to
// the client's Logger (consul.Config.Logger), never with a token.
package concurrency
