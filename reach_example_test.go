package consul_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/goconsul/consul"
)

// A transaction that registers a node, a service with its check and the
// service's configuration in the KV store, all or nothing.
func ExampleTxn_SetService() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	results, _, err := client.Txn.New().
		SetNode(&consul.Node{Node: "db-1", Address: "10.0.0.7"}).
		SetService("db-1", &consul.NodeService{ID: "pg-1", Service: "postgres", Port: 5432, Tags: []string{"primary"}}).
		SetCheck(&consul.HealthCheck{Node: "db-1", CheckID: "pg-1:tcp", Name: "postgres TCP", ServiceID: "pg-1",
			Status: consul.HealthPassing, Definition: &consul.HealthCheckDefinition{TCP: "10.0.0.7:5432"}}).
		Set("config/postgres/primary", []byte("pg-1")).
		Execute(ctx)
	var txErr *consul.TxnError
	if errors.As(err, &txErr) {
		for _, e := range txErr.Errors {
			fmt.Printf("operation %d failed: %s\n", e.OpIndex, e.What) // nothing was applied
		}
		return
	}
	if err != nil {
		log.Fatal(err) // an *consul.ArgumentError names a bad operation by its index, before sending
	}
	svc := results[1].Service
	fmt.Println("registered", svc.ID, "at index", svc.ModifyIndex)

	// Later: move the tag only if nobody changed the service meanwhile.
	svc.Tags = []string{"replica"}
	_, _, err = client.Txn.New().SetServiceCAS("db-1", svc, svc.ModifyIndex).Execute(ctx)
	if err != nil {
		log.Fatal(err)
	}
}

// A watch plan of Consul's format, as `consul watch` configurations and the
// agent's "watches" stanza write it, run in a Go loop.
func ExampleParseWatchPlan() {
	client, _ := consul.NewClient(consul.Config{})
	plan, err := consul.ParseWatchPlan([]byte(`{
		"type": "service",
		"service": "redis",
		"tag": ["bar", "foo"],
		"passingonly": true
	}`))
	if err != nil {
		log.Fatal(err) // names the key at fault: consul: invalid watch plan "tag": ...
	}
	for u, err := range plan.Watch(context.Background(), client) {
		if err != nil {
			log.Print(err) // retried after a backoff; a permanent error ends the loop
			continue
		}
		for _, e := range u.Value.Instances {
			fmt.Println(e.Node.Address, e.Service.Port)
		}
	}
}
