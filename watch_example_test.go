package consul_test

import (
	"context"
	"fmt"
	"log"

	"github.com/goconsul/consul"
)

// Each watch is one line: Bind the argument of a read, or pass a read
// without arguments as it is.
func ExampleWatch() {
	client, _ := consul.NewClient(consul.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	_ = consul.Watch(ctx, consul.Bind(client.KV.List, "app/config/"))                               // a KV prefix
	_ = consul.Watch(ctx, consul.Bind(client.Health.ListServiceInstances, "web", consul.Passing())) // a service's healthy instances
	_ = consul.Watch(ctx, client.Catalog.ListServices)                                              // the catalog's services
	_ = consul.Watch(ctx, client.Catalog.ListNodes)                                                 // the catalog's nodes
	_ = consul.Watch(ctx, consul.Bind(client.Health.ListChecksInState, consul.HealthCritical))      // checks in a state
	_ = consul.Watch(ctx, consul.Bind(client.Event.List, "deploy"))                                 // user events

	for u, err := range consul.Watch(ctx, consul.Bind(client.KV.Get, "app/leader"), consul.WatchDistinct()) {
		if err != nil {
			log.Printf("watch: %v (backing off, then retrying)", err)
			continue
		}
		if u.Value == nil {
			fmt.Println("no leader key yet")
			continue
		}
		fmt.Printf("leader is %s (index %d)\n", u.Value.Value, u.Meta.Index)
	}
}

// Many watchers of one query share one blocking request.
func ExampleNewWatchGroup() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	// One group per process (or per client): the healthy instances of a
	// service, by name.
	healthy := consul.NewWatchGroup(func(service string) consul.BlockingRead[[]*consul.ServiceEntry] {
		return consul.Bind(client.Health.ListServiceInstances, service, consul.Passing())
	})

	for i := 0; i < 3; i++ {
		go func() {
			for u, err := range healthy.Watch(ctx, "db") {
				if err == nil {
					fmt.Printf("watcher %d: %d healthy db instances\n", i, len(u.Value))
				}
			}
		}()
	}
}

func ExampleNewHealthCache() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	cache, err := consul.NewHealthCache(ctx, client, consul.HealthCacheQuery{Service: "web", Tags: []string{"v2"}, PassingOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	if err := cache.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(cache.Addresses()) // from memory, kept fresh by one watch
}
