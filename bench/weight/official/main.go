// Command official is the same program with the official client
// (github.com/hashicorp/consul/api).
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/consul/api"
)

func main() {
	cfg := api.DefaultConfig()
	if addr := os.Getenv("CONSUL_HTTP_ADDR"); addr != "" {
		cfg.Address = addr
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pair, _, err := client.KV().Get("app/config", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if pair != nil {
		fmt.Printf("%s\n", pair.Value)
	}
}
