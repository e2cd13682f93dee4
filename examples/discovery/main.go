// Command discovery runs two services, alpha and beta, that find each
// other through the local agent with the discovery package: each serves
// HTTP on a loopback port, registers itself with a TTL check kept alive in
// the background, and calls the other by name
// (http://<name>.service.consul/) through a discovery.Transport. At the
// end each drains (its watchers drop it) and deregisters.
//
//	go run ./examples/discovery
//
// With CONSUL_HTTP_ADDR set it uses that agent; otherwise it starts a
// throwaway one with consultest.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
	"github.com/goconsul/consul/examples/internal/exampleagent"
)

func main() {
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, stop := exampleagent.Connect()
	defer stop()

	// Names of their own, so that runs against a shared agent do not meet.
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	alpha, beta := "alpha-"+suffix, "beta-"+suffix

	// Both keep serving until both made their calls, as two long-running
	// programs would.
	var called sync.WaitGroup
	called.Add(2)
	var wg sync.WaitGroup
	for _, pair := range [][2]string{{alpha, beta}, {beta, alpha}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx, client, pair[0], pair[1], &called); err != nil {
				log.Printf("%s: %v", pair[0], err)
				cancel()
			}
		}()
	}
	wg.Wait()
}

// run is one service: name serves, registers, and calls peer three times.
func run(ctx context.Context, client *consul.Client, name, peer string, called *sync.WaitGroup) error {
	var once sync.Once
	done := func() { once.Do(called.Done) }
	defer done()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s at %s", name, l.Addr())
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	defer srv.Close()

	reg, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{
		Name: name, Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
	}, discovery.WithTTL(5*time.Second), discovery.WithDrainPeriod(500*time.Millisecond))
	if err != nil {
		return err
	}
	defer func() {
		if err := reg.Close(); err != nil { // drains, then deregisters
			log.Printf("%s: %v", name, err)
		}
		fmt.Printf("%s: drained and deregistered\n", name)
	}()
	fmt.Printf("%s: registered, check %s %s\n", name, reg.CheckID(), reg.State().Status)

	tr := discovery.NewTransport(client)
	defer tr.Close()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	// Wait until the peer has a healthy instance.
	host := peer + ".service.consul"
	instances, _, err := tr.Instances(host)
	if err != nil {
		return err
	}
	for set, err := range instances.Subscribe(ctx) {
		if err == nil && len(set) > 0 {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	for i := range 3 {
		resp, err := hc.Get("http://" + host + "/")
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("%s -> %s #%d: %s\n", name, peer, i+1, body)
	}
	done()
	called.Wait()
	return nil
}
