// Command ours is the smallest program that creates a client of this
// library and reads one key: its binary size is the library's weight.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/goconsul/consul"
)

func main() {
	client, err := consul.NewClient(consul.Config{Address: os.Getenv("CONSUL_HTTP_ADDR")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pair, _, err := client.KV.Get(context.Background(), "app/config")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if pair != nil {
		fmt.Printf("%s\n", pair.Value)
	}
}
