// Command cache keeps a KV prefix in memory with consul.NewKVCache and
// reads it without requests, while a writer changes it.
//
//	go run ./examples/cache
//
// With CONSUL_HTTP_ADDR set it uses that agent; otherwise it starts a
// throwaway one with consultest.
package main

import (
	"context"
	"fmt"
	"log"
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
	prefix := fmt.Sprintf("example-cache-%d/", time.Now().UnixNano())
	if err := client.KV.Put(ctx, prefix+"feature/dark-mode", []byte("off")); err != nil {
		log.Fatal(err)
	}

	cache, err := consul.NewKVCache(ctx, client, prefix)
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	if err := cache.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	p, _ := cache.Get(prefix + "feature/dark-mode")
	fmt.Printf("dark-mode is %s (from memory)\n", p.Value)

	// Subscribers see each change; the cache serves the latest meanwhile.
	sctx, sstop := context.WithCancel(ctx)
	defer sstop()
	go func() {
		for u, err := range cache.Subscribe(sctx) {
			if err != nil {
				log.Printf("cache: %v (serving the last data)", err)
				continue
			}
			fmt.Printf("cache now holds %d key(s) at index %d\n", len(u.Value), u.Meta.Index)
		}
	}()
	if err := client.KV.Put(ctx, prefix+"feature/dark-mode", []byte("on")); err != nil {
		log.Fatal(err)
	}
	if err := client.KV.Put(ctx, prefix+"feature/beta", []byte("yes")); err != nil {
		log.Fatal(err)
	}
	for {
		if p, ok := cache.Get(prefix + "feature/beta"); ok {
			d, _ := cache.Get(prefix + "feature/dark-mode")
			fmt.Printf("dark-mode is %s, beta is %s (from memory)\n", d.Value, p.Value)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = client.KV.DeleteTree(ctx, prefix)
}
