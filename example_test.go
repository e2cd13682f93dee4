package consul_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/goconsul/consul"
)

func ExampleNewClient() {
	cfg, err := consul.ConfigFromEnv() // CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ...
	if err != nil {
		log.Fatal(err)
	}
	cfg.Datacenter = "dc1"
	client, err := consul.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	leader, _, err := client.Status.Leader(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", leader)
}

func ExampleKVService_Get() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	pair, meta, err := client.KV.Get(ctx, "app/config")
	switch {
	case err != nil:
		log.Fatal(err)
	case pair == nil:
		fmt.Println("not set yet; block on index", meta.Index)
	default:
		fmt.Printf("%s = %s\n", pair.Key, pair.Value)
	}

	// A blocking read: returns when the key changes or after 30s.
	pair, meta, err = client.KV.Get(ctx, "app/config", consul.WaitIndex(meta.Index), consul.WaitTime(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	_ = pair
	fmt.Println("index now", meta.Index)
}

func ExampleKVService_PutCAS() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	for {
		pair, _, err := client.KV.Get(ctx, "counter")
		if err != nil {
			log.Fatal(err)
		}
		var index uint64 // 0: create only if absent
		next := []byte("1")
		if pair != nil {
			index = pair.ModifyIndex
			next = append(pair.Value, '+')
		}
		ok, err := client.KV.PutCAS(ctx, "counter", next, index)
		if err != nil {
			log.Fatal(err)
		}
		if ok {
			return
		}
		// Someone else wrote in between: read again.
	}
}

func ExampleTxn() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	results, _, err := client.Txn.New().
		CheckNotExists("app/lock").
		Set("app/config", []byte("v2")).
		Get("app/config").
		Execute(ctx)
	var txErr *consul.TxnError
	if errors.As(err, &txErr) {
		for _, e := range txErr.Errors {
			fmt.Printf("operation %d failed: %s\n", e.OpIndex, e.What)
		}
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", results[1].KV.Value)
}

func ExampleSessionService_Create() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	id, err := client.Session.Create(ctx, &consul.SessionEntry{
		Name:      "worker-lock",
		TTL:       15 * time.Second,
		LockDelay: consul.NoLockDelay,
		Behavior:  consul.SessionRelease,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Session.Destroy(ctx, id)

	held, err := client.KV.Acquire(ctx, "service/worker/leader", []byte("me"), id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", held)
}
