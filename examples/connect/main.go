// Command connect runs two Connect-native services, web and db, in one
// process against the local agent: db serves HTTP over mutual TLS with a
// certificate of Consul's CA, and admits callers by the intentions; web
// calls it by name (https://db.service.consul/) with its own certificate.
// With an intention allowing web to db the call succeeds; once it is
// replaced by a deny, web's new connections are refused.
//
//	go run ./examples/connect
//
// With CONSUL_HTTP_ADDR set it uses that agent (Connect must be enabled
// on it, and the intentions for web and db are replaced); otherwise it
// starts a throwaway one with consultest.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
	"github.com/goconsul/consul/discovery"
	"github.com/goconsul/consul/examples/internal/exampleagent"
)

func main() {
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, stop := exampleagent.Connect()
	defer stop()
	if err := run(ctx, client); err != nil {
		log.Print(err)
		cancel()
		stop()
		log.Fatal("failed")
	}
}

func run(ctx context.Context, client *consul.Client) error {
	// The server: db. Its identity is ready before it serves, so that no
	// client ever meets a server without a certificate.
	db, err := connect.NewService(ctx, client, "db", connect.WithAuthorizeCacheTTL(time.Second))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.WaitReady(ctx); err != nil {
		return err
	}
	fmt.Printf("db: certificate %s for %s, valid until %s\n", db.Leaf().SerialNumber, db.ID(), db.Leaf().ValidBefore.Format(time.RFC3339))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller, _ := connect.PeerServiceID(r.TLS) // verified and authorized by the handshake
			fmt.Fprintf(w, "hello %s, from db", caller.Service)
		}),
		TLSConfig:         db.ServerTLSConfig(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected below
	}
	go srv.ServeTLS(l, "", "")
	defer srv.Close()

	// Registered as Connect-native, so that Dial finds it through
	// /v1/health/connect/db.
	reg, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{
		Name: "db", Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
		Connect: &consul.AgentServiceConnect{Native: true},
	}, discovery.WithTTL(5*time.Second), discovery.WithDrainPeriod(0))
	if err != nil {
		return err
	}
	defer reg.Close()

	// The client: web.
	web, err := connect.NewService(ctx, client, "web")
	if err != nil {
		return err
	}
	defer web.Close()
	hc := web.HTTPClient()
	call := func() (string, error) {
		hc.CloseIdleConnections() // a new connection, so that a new handshake is authorized
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://db.service.consul/", nil)
		if err != nil {
			return "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	// Deny everything to db but web.
	for _, ixn := range []*consul.Intention{
		{SourceName: "*", DestinationName: "db", Action: consul.IntentionDeny},
		{SourceName: "web", DestinationName: "db", Action: consul.IntentionAllow},
	} {
		if _, err := client.Connect.PutIntention(ctx, ixn); err != nil {
			return err
		}
	}
	fmt.Println("intentions: * -> db deny, web -> db allow")
	// db's instance becomes healthy with its first heartbeat.
	var body string
	for {
		body, err = call()
		if err == nil || !errors.Is(err, connect.ErrNoInstances) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	fmt.Printf("web -> db: %s\n", body)

	if _, err := client.Connect.PutIntention(ctx, &consul.Intention{SourceName: "web", DestinationName: "db", Action: consul.IntentionDeny}); err != nil {
		return err
	}
	fmt.Println("intentions: web -> db deny")
	start := time.Now()
	for {
		if _, err := call(); err != nil {
			fmt.Printf("web -> db refused after %s: %v\n", time.Since(start).Round(100*time.Millisecond), err)
			break
		}
		if time.Since(start) > 10*time.Second {
			return errors.New("web was not refused within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
