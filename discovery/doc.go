// Package discovery is service discovery for Go programs on top of the
// consul package: what go-kit's sd/consul and the Consul registries of
// go-kratos and go-micro do on top of the official client, tested against
// real agents.
//
//   - Register registers a service with the local agent and keeps its TTL
//     check passing in the background; it re-registers the service when the
//     agent lost it, takes status updates, and on Close (or when its context
//     ends) drains: the service turns critical (or goes into maintenance),
//     stays so for a drain period so that watchers drop it, and is
//     deregistered.
//   - NewInstances keeps the healthy instances of a service in memory with
//     a blocking query shared by every user of the same query on the same
//     *consul.Client, and picks one per call with Next (round-robin, random,
//     nearest, or weighted by the instances' Consul Weights). The last
//     known set is served while Consul is unreachable.
//   - NewTransport (an http.RoundTripper) and NewDialer (a DialContext)
//     resolve hosts of the form <service>.service.consul through Instances,
//     and retry a failed connection on another instance where that is
//     safe.
//
// The gRPC resolver for consul:// targets is in the module
// github.com/goconsul/consul/grpcresolver, so that this module depends on
// nothing but the standard library and the consul package.
//
// Background activity (heartbeat failures, re-registrations, drains,
// retries, watch errors) is logged to the client's Logger (nil: silent),
// never with a token.
package discovery

import "errors"

// Errors of the package, matched with errors.Is.
var (
	// ErrNoInstances is Next's error when the set of healthy instances is
	// empty (or every instance was already tried).
	ErrNoInstances = errors.New("discovery: no healthy instance")
	// ErrNotReady is Next's error before the first answer of the watch.
	ErrNotReady = errors.New("discovery: instances not known yet")
	// ErrClosed is the error of a status update sent through a
	// Registration that is draining or closed.
	ErrClosed = errors.New("discovery: registration closed")
)
