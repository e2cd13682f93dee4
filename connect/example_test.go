package connect_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
)

// A Connect-native HTTP server: it presents db's certificate, and admits
// the callers the intentions allow.
func ExampleService_ServerTLSConfig() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	db, err := connect.NewService(ctx, client, "db")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.WaitReady(ctx); err != nil { // before serving: handshakes fail until then
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller, _ := connect.PeerServiceID(r.TLS)
			fmt.Fprintf(w, "hello %s", caller.Service)
		}),
		TLSConfig:         db.ServerTLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	l, err := net.Listen("tcp", ":8443")
	if err != nil {
		log.Fatal(err)
	}
	// Register it with Connect: &consul.AgentServiceConnect{Native: true}
	// (see the discovery package's Register), then:
	log.Fatal(srv.ServeTLS(l, "", ""))
}

// A client calls a Connect service by name, over mutual TLS.
func ExampleService_HTTPClient() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	web, err := connect.NewService(ctx, client, "web")
	if err != nil {
		log.Fatal(err)
	}
	defer web.Close()
	resp, err := web.HTTPClient().Get("https://db.service.consul/rows") // waits for web's certificate
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

// Any protocol over mutual TLS: Dial returns a *tls.Conn whose peer
// proved it is db.
func ExampleService_Dial() {
	client, _ := consul.NewClient(consul.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	web, err := connect.NewService(ctx, client, "web")
	if err != nil {
		log.Fatal(err)
	}
	defer web.Close()
	conn, err := web.Dial(ctx, "db")
	if err != nil {
		log.Fatal(err) // connect.ErrNoInstances, a *connect.PeerCertError...
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PING\r\n")
}
