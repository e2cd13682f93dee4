// Package exampleagent gives the example programs their client: the agent
// at $CONSUL_HTTP_ADDR (and the other CONSUL_* variables), or a throwaway
// one started with consultest.
package exampleagent

import (
	"log"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
)

// Connect returns a client of $CONSUL_HTTP_ADDR, or of a throwaway agent,
// and a func that stops that agent (a no-op for $CONSUL_HTTP_ADDR). It exits
// the program on error.
func Connect() (*consul.Client, func()) {
	cfg, err := consul.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	stop := func() {}
	if cfg.Address == "" {
		srv, err := consultest.Start(consultest.Config{})
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("started consul %s (%s) at %s", srv.Version, srv.Binary, srv.Address)
		cfg.Address, stop = srv.Address, func() { srv.Close() }
	}
	client, err := consul.NewClient(cfg)
	if err != nil {
		stop()
		log.Fatal(err)
	}
	return client, stop
}
