// Command election runs three candidates for leader; each leads for a
// moment and resigns, while an observer prints every leader it sees.
//
//	go run ./examples/election
//
// With CONSUL_HTTP_ADDR set it uses that agent; otherwise it starts a
// throwaway one with consultest.
package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

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
	key := fmt.Sprintf("example-election-%d/leader", time.Now().UnixNano())

	observer, err := concurrency.NewElection(client, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	octx, ostop := context.WithCancel(ctx)
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		for leader, err := range observer.Observe(octx) {
			switch {
			case err != nil:
				log.Printf("observe: %v", err)
			case leader == nil:
				fmt.Println("observer: no leader")
			default:
				fmt.Printf("observer: leader is %s\n", leader.Value)
			}
		}
	}()

	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := concurrency.NewElection(client, key, &concurrency.LockOptions{SessionOptions: &concurrency.SessionOptions{TTL: 10 * time.Second}})
			if err != nil {
				log.Fatal(err)
			}
			me := fmt.Sprintf("candidate-%d", i)
			term, err := e.Campaign(ctx, []byte(me))
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s: elected\n", me)
			select {
			case <-term.Done():
				fmt.Printf("%s: lost leadership: %v\n", me, context.Cause(term))
			case <-time.After(500 * time.Millisecond):
			}
			if err := e.Resign(ctx); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s: resigned\n", me)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	ostop()
	<-observed
	_ = observer.Destroy(ctx)
}
