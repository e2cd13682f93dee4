package discovery_test

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
)

// A service registers itself, reports its health, and drains on shutdown.
func ExampleRegister() {
	client, _ := consul.NewClient(consul.Config{})
	ctx, stop := context.WithCancel(context.Background()) // the service's lifetime
	defer stop()

	reg, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{
		Name: "web", ID: "web-1", Address: "10.0.0.7", Port: 8080, Tags: []string{"v2"},
	}, discovery.WithTTL(10*time.Second), discovery.WithDrainPeriod(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close() // critical for 5s, so that clients move away, then deregistered

	// The heartbeat keeps the check passing; report trouble when there is.
	_ = reg.Warn(ctx, "cache cold")
	_ = reg.Pass(ctx, "ready")
	log.Printf("%s: %+v", reg.ID(), reg.State())
}

// Many goroutines pick an instance per call; they share one watch.
func ExampleNewInstances() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	db, err := discovery.NewInstances(ctx, client, discovery.Query{Service: "db", Tags: []string{"primary"}, PassingOnly: true},
		discovery.WithPicker(discovery.Weighted))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	inst, err := db.Next() // no request, no allocation; never a critical instance
	if err != nil {
		log.Fatal(err) // discovery.ErrNoInstances: nothing healthy
	}
	conn, err := net.Dial("tcp", inst.HostPort())
	if err == nil {
		conn.Close()
	}
}

// An HTTP client that calls services by name.
func ExampleNewTransport() {
	client, _ := consul.NewClient(consul.Config{})
	tr := discovery.NewTransport(client) // RoundRobin, 2 retries for idempotent requests
	defer tr.Close()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := hc.Get("http://web.service.consul/hello") // or v2.web.service.dc2.consul
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

// A DialContext for clients that are not HTTP.
func ExampleNewDialer() {
	client, _ := consul.NewClient(consul.Config{})
	d := discovery.NewDialer(client)
	defer d.Close()
	conn, err := d.DialContext(context.Background(), "tcp", "redis.service.consul:6379")
	if err != nil {
		log.Fatal(err)
	}
	conn.Close()
}
