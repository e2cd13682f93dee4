// Command watch watches a KV prefix with consul.Watch while another
// goroutine writes under it, then shares one watch among many watchers.
//
//	go run ./examples/watch
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
	prefix := fmt.Sprintf("example-watch-%d/", time.Now().UnixNano())

	// The writer: five values, one every 200ms.
	go func() {
		for i := 1; i <= 5; i++ {
			time.Sleep(200 * time.Millisecond)
			if err := client.KV.Put(ctx, prefix+"config", []byte(fmt.Sprintf("version %d", i))); err != nil {
				log.Print(err)
			}
		}
	}()

	// The watch: each new state of the prefix, until the fifth version.
	for u, err := range consul.Watch(ctx, consul.Bind(client.KV.List, prefix), consul.WatchDistinct()) {
		if err != nil {
			log.Printf("watch: %v (retrying)", err)
			continue
		}
		fmt.Printf("index %d: %d key(s)", u.Meta.Index, len(u.Value))
		for _, p := range u.Value {
			fmt.Printf(" %s=%q", p.Key, p.Value)
		}
		fmt.Println()
		if len(u.Value) > 0 && string(u.Value[0].Value) == "version 5" {
			break
		}
	}

	// Shared: 100 watchers of one key, one blocking request to the agent.
	g := consul.NewWatchGroup(func(key string) consul.BlockingRead[*consul.KVPair] {
		return consul.Bind(client.KV.Get, key)
	})
	var wg sync.WaitGroup
	wctx, wstop := context.WithCancel(ctx)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u, err := range g.Watch(wctx, prefix+"config") {
				if err == nil && u.Value != nil && string(u.Value.Value) == "final" {
					return
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Printf("100 watchers share %d loop(s)\n", g.Len())
	if err := client.KV.Put(ctx, prefix+"config", []byte("final")); err != nil {
		log.Fatal(err)
	}
	wg.Wait()
	wstop()
	fmt.Println("all 100 watchers saw \"final\"")
	_ = client.KV.DeleteTree(ctx, prefix)
}
