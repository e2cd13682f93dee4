// Command lock runs four workers that take turns in a critical section
// guarded by a consul.Lock, then shows TryLock and a lost lock.
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
	opts := &consul.LockOptions{SessionTTL: 10 * time.Second, LockDelay: consul.NoLockDelay}

	var wg sync.WaitGroup
	for w := 1; w <= 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := consul.NewLock(client, key, opts)
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

	a, _ := consul.NewLock(client, key, opts)
	b, _ := consul.NewLock(client, key, opts)
	held, err := a.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := b.TryLock(ctx); errors.Is(err, consul.ErrLockHeld) {
		fmt.Println("TryLock while held:", err)
	}
	pair, _, err := client.KV.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("destroying the holder's session...")
	if err := client.Session.Destroy(ctx, pair.Session); err != nil {
		log.Fatal(err)
	}
	<-held.Done()
	fmt.Println("the holder's context ended:", context.Cause(held))
	_ = a.Unlock(ctx)
	_ = client.KV.Delete(ctx, key)
}
