// Package bench runs the same Consul operations with this library
// (github.com/goconsul/consul), with HashiCorp's official client
// (github.com/hashicorp/consul/api) and with a bare net/http request whose
// answer is thrown away unparsed (the floor), against a replay server of
// recorded agent answers and against a real agent. See BENCHMARKS.md at the
// repository root.
package bench
