// Command lock runs four workers that take turns in a critical section
// guarded by a concurrency.Lock, then shows TryLock, a fenced write and a
// lost lock.
//
//	go run ./examples/lock
//
// With CONSUL_HTTP_ADDR set it uses that agent; otherwise it starts a
// throwaway one with consultest.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/goconsul/consul/examples/internal/exampleagent"
)

func main() {
	log.SetFlags(0)
	client, stop := exampleagent.Connect()
	defer stop()
	// The minute starts once the agent is ready (its first build takes minutes).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := fmt.Sprintf("example-lock-%d/leader", time.Now().UnixNano())
	opts := &concurrency.LockOptions{SessionOptions: &concurrency.SessionOptions{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay}}

	var wg sync.WaitGroup
	for w := 1; w <= 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := concurrency.NewLock(client, key, opts)
			if err != nil {
				log.Fatal(err)
			}
			for round := 1; round <= 2; round++ {
				held, err := l.Lock(ctx)
				if err != nil {
					log.Fatal(err)
				}
				fmt.Printf("worker %d holds the lock (round %d)\n", w, round)
				select {
				case <-held.Done():
					log.Printf("worker %d lost the lock: %v", w, context.Cause(held))
				case <-time.After(100 * time.Millisecond):
				}
				if err := l.Unlock(ctx); err != nil {
					log.Fatal(err)
				}
			}
		}()
	}
	wg.Wait()

	a, _ := concurrency.NewLock(client, key, opts)
	b, _ := concurrency.NewLock(client, key, opts)
	held, err := a.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := b.TryLock(ctx); errors.Is(err, concurrency.ErrLockHeld) {
		fmt.Println("TryLock while held:", err)
	}
	// A write fenced by the lock: Consul applies it only while the
	// holder's session holds the key.
	sid := a.Session()
	fenced := func() error {
		_, _, err := client.Txn.New().CheckSession(key, sid).Set(key+"-result", []byte("done")).Execute(ctx)
		return err
	}
	fmt.Println("fenced write while held:", fenced(), "(token", a.Index(), "wrote it)")
	fmt.Println("destroying the holder's session...")
	if err := client.Session.Destroy(ctx, sid); err != nil {
		log.Fatal(err)
	}
	<-held.Done()
	fmt.Println("the holder's context ended:", context.Cause(held))
	fmt.Println("fenced write by the stale holder:", fenced())
	_ = a.Unlock(ctx)
	_ = a.Destroy(ctx)
	_ = client.KV.Delete(ctx, key+"-result")
}
