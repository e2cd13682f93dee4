// Command tour walks through the library the way aioconsul's tutorial does,
// against a real Consul agent, printing each step.
//
//	go run ./examples/tour
//
// With CONSUL_HTTP_ADDR set (and the other CONSUL_* variables the consul CLI
// reads) it uses that agent; otherwise it starts a throwaway one with
// consultest, building the consul binary from its Go module the first time
// (minutes, with progress on stderr; the tour's 5-minute budget starts only
// when the agent is ready). CONSUL_VERSION picks another supported version.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
)

// tour is one section of the tour; each lives in its own file.
type tour struct {
	name string
	run  func(ctx context.Context, t *tourEnv) error
}

// tourEnv is what every section gets: the client and the agent's facts.
type tourEnv struct {
	client *consul.Client
	agent  *consultest.Server // nil when running against CONSUL_HTTP_ADDR
	prefix string             // a KV prefix and name prefix private to this run
}

// sections runs in order.
var sections = []tour{
	{"status", tourStatus},
	{"members", tourMembers},
	{"kv", tourKV},
	{"kv transactions", tourTxn},
	{"sessions and locks", tourSession},
	{"catalog", tourCatalog},
	{"events", tourEvent},
	{"health checks", tourHealth},
	{"network coordinates", tourCoordinate},
	{"operator", tourOperator},
	{"watches, locks, elections and caches", tourWatch},
	{"agent", tourAgent},
	{"services", tourServices},
	{"checks", tourChecks},
	{"acl", tourACL},
	{"prepared queries", tourQuery},
	{"config entries", tourConfigEntries},
	{"service mesh: CA and intentions", tourConnect},
	{"snapshots", tourSnapshot},
	{"cluster peering", tourPeering},
}

func main() {
	log.SetFlags(0)
	env := &tourEnv{prefix: fmt.Sprintf("tour-%d", time.Now().Unix())}
	cfg, err := consul.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	if cfg.Address == "" {
		// No time limit here: on a cold machine consultest first builds
		// the consul binary from its Go module, which takes minutes and
		// reports its progress on stderr.
		step("CONSUL_HTTP_ADDR is not set: starting a local agent with consultest")
		srv, err := consultest.Start(consultest.Config{})
		if err != nil {
			log.Fatal(err)
		}
		defer srv.Close()
		env.agent = srv
		cfg.Address = srv.Address
		step("agent: consul %s (%s), API at %s", srv.Version, srv.Binary, srv.Address)
	}
	env.client, err = consul.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	step("client for %s", env.client.Address())

	// The tour's own time budget starts once the agent is ready.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	for _, s := range sections {
		fmt.Printf("\n== %s ==\n", s.name)
		if err := s.run(ctx, env); err != nil {
			log.Printf("tour: %s: %v", s.name, err)
			cancel()
			if env.agent != nil {
				env.agent.Close()
			}
			os.Exit(1)
		}
	}
	fmt.Println("\ntour complete")
}

// step prints one thing the tour does or sees.
func step(format string, args ...any) {
	fmt.Printf("  - "+format+"\n", args...)
}
