package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
)

func ExampleNewLock() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	lock, err := concurrency.NewLock(client, "jobs/nightly/lock", &concurrency.LockOptions{Value: []byte("worker-1")})
	if err != nil {
		log.Fatal(err)
	}
	held, err := lock.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock(context.Background())
	// Do the work with held as its context: it ends if the lock is lost.
	_ = held
}

// A write fenced by the lock: Consul refuses it once the lock is lost,
// even if this process was paused for longer than the session's TTL.
func ExampleLock_fencedWrite() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	lock, _ := concurrency.NewLock(client, "jobs/nightly/lock", nil)
	if _, err := lock.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock(context.Background())
	_, _, err := client.Txn.New().
		CheckSession(lock.Key(), lock.Session()).
		Set("jobs/nightly/result", []byte("done")).
		Execute(ctx)
	if errors.Is(err, consul.ErrConflict) {
		log.Print("the lock was lost: nothing was written")
	}
	// Or hand the token to a system that refuses a token below the
	// highest it saw.
	fmt.Println("fencing token:", lock.Index())
}

// Several primitives share one session, renewed in the background: they
// all end with it.
func ExampleNewSession() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	s, err := concurrency.NewSession(ctx, client, &concurrency.SessionOptions{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(context.Background()) // destroys it, releasing its keys
	opts := &concurrency.LockOptions{Session: s}
	a, _ := concurrency.NewLock(client, "jobs/a/lock", opts)
	b, _ := concurrency.NewLock(client, "jobs/b/lock", opts)
	if _, err := a.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := b.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	<-s.Done()
	fmt.Println("session ended:", s.Err())
}

func ExampleNewSemaphore() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	sem, err := concurrency.NewSemaphore(client, "service/batch/slots", 3, nil)
	if err != nil {
		log.Fatal(err)
	}
	slot, err := sem.Acquire(ctx) // at most 3 holders at once
	if err != nil {
		log.Fatal(err)
	}
	defer sem.Release(context.Background())
	_ = slot // ends if the slot is lost
}

func ExampleNewElection() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	e, err := concurrency.NewElection(client, "service/api/leader", nil)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for leader, err := range e.Observe(ctx) {
			if err == nil && leader != nil {
				fmt.Printf("leader: %s\n", leader.Value)
			}
		}
	}()
	term, err := e.Campaign(ctx, []byte("10.0.0.7:8080"))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Resign(context.Background())
	<-term.Done() // lead until leadership is lost
}

// A primitive never takes a key it did not write.
func ExampleKeyConflictError() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	l, _ := concurrency.NewLock(client, "app/config", nil)
	_, err := l.Lock(ctx)
	var ke *concurrency.KeyConflictError
	if errors.As(err, &ke) {
		fmt.Printf("%s holds %s\n", ke.Key, ke.Holds) // app/config holds plain data
	}
}
