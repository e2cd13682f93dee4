// Package grpcresolver is a gRPC name resolver for consul:// targets,
// built on the healthy instances of package
// github.com/goconsul/consul/discovery: the addresses come from a blocking
// query that every resolver (and every discovery.Instances) of the same
// query on the same consul client shares, and each change is pushed to
// gRPC as it happens; there is no polling.
//
// Importing the package registers the resolver for the "consul" scheme:
//
//	import _ "github.com/goconsul/consul/grpcresolver"
//
//	conn, err := grpc.NewClient("consul://127.0.0.1:8500/greeter?tag=v2&dc=dc2&passing=true",
//		grpc.WithTransportCredentials(insecure.NewCredentials()),
//		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`))
//
// A target is consul://[agent-host:port]/service?params. An empty
// authority (consul:///greeter) means the agent of the CONSUL_HTTP_ADDR
// environment (and the other CONSUL_* variables consul.ConfigFromEnv
// reads), or 127.0.0.1:8500. The parameters are those of discovery.Query:
//
//	tag=v2          only instances with the tag (repeat it for several)
//	dc=dc2          another datacenter
//	passing=true    only instances whose checks all pass; without it,
//	                instances in warning are kept too (never critical ones)
//	near=_agent     Consul's order by round trip time from a node
//	filter=expr     a filter expression on the service entries
//	peer=name       the instances a cluster peer exports
//
// Any other parameter fails the dial. To use a client of your own (a
// token, TLS), pass NewBuilder(client) with grpc.WithResolvers.
//
// It works with gRPC's pick_first (the default) and round_robin policies.
// Each endpoint carries its instance's Consul weight (Weights.Passing, or
// Weights.Warning for an instance in warning) as an attribute, read with
// Weight, for a balancer that weighs endpoints (gRPC's own policies do
// not read it). While Consul is
// unreachable the last set of addresses stays in use; when a service has
// no healthy instance, gRPC gets an empty set and fails RPCs with
// Unavailable (or holds those that wait for ready).
package grpcresolver

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"
)

// Scheme is the target scheme the resolver serves.
const Scheme = "consul"

func init() {
	resolver.Register(&Builder{})
}

// Builder builds the resolvers of consul:// targets. Its zero value, the
// one registered for the scheme, makes one consul client per agent
// address from the environment (consul.ConfigFromEnv), shared by every
// target of that agent.
type Builder struct {
	client *consul.Client // nil: one client per authority

	mu      sync.Mutex
	clients map[string]*consul.Client
}

// NewBuilder returns a Builder whose resolvers use client; pass it to
// grpc.WithResolvers. A target's authority must then be empty or the
// client's own address.
func NewBuilder(client *consul.Client) *Builder {
	return &Builder{client: client}
}

// Scheme returns "consul".
func (b *Builder) Scheme() string { return Scheme }

// clientFor returns the consul client of a target's authority.
func (b *Builder) clientFor(authority string) (*consul.Client, error) {
	if b.client != nil {
		if authority != "" && !namesAgentOf(b.client, authority) {
			return nil, fmt.Errorf("grpcresolver: the target's agent %q is not one of the builder's client's (%s)", authority, strings.Join(b.client.Agents(), ", "))
		}
		return b.client, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.clients[authority]; c != nil {
		return c, nil
	}
	cfg, err := consul.ConfigFromEnv()
	if err != nil {
		return nil, fmt.Errorf("grpcresolver: %w", err)
	}
	if authority != "" {
		if strings.HasPrefix(cfg.Address, "https://") && cfg.Scheme == "" {
			// The environment's agent is HTTPS: so is the one the
			// target names, never plain HTTP with the token in clear.
			cfg.Scheme = "https"
		}
		cfg.Address = authority
	}
	c, err := consul.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("grpcresolver: %w", err)
	}
	if b.clients == nil {
		b.clients = map[string]*consul.Client{}
	}
	b.clients[authority] = c
	return c, nil
}

// namesAgentOf reports whether authority ("host:port") is one of client's
// agents, whatever the one in use now (after a failover) or the path
// prefix.
func namesAgentOf(client *consul.Client, authority string) bool {
	for _, a := range client.Agents() {
		if u, err := url.Parse(a); err == nil && u.Host == authority {
			return true
		}
	}
	return false
}

// parseTarget reads the service and the query of a target.
func parseTarget(u url.URL) (discovery.Query, error) {
	var q discovery.Query
	q.Service = strings.TrimPrefix(u.Path, "/")
	if q.Service == "" && u.Opaque != "" {
		// consul:name: as escaped in the target, as a path is.
		s, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return q, fmt.Errorf("grpcresolver: target %q: %w", u.String(), err)
		}
		q.Service = s
	}
	if q.Service == "" || strings.Contains(q.Service, "/") {
		return q, fmt.Errorf("grpcresolver: target %q: want consul://[agent]/service", u.String())
	}
	params, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return q, fmt.Errorf("grpcresolver: target %q: %w", u.String(), err)
	}
	for k, vs := range params {
		last := vs[len(vs)-1]
		if k != "passing" && slices.Contains(vs, "") {
			// An empty tag would select every instance.
			return q, fmt.Errorf("grpcresolver: target %q: empty %s", u.String(), k)
		}
		switch k {
		case "tag":
			q.Tags = vs
		case "dc":
			q.Datacenter = last
		case "passing":
			if last == "" {
				q.PassingOnly = true
				continue
			}
			if q.PassingOnly, err = strconv.ParseBool(last); err != nil {
				return q, fmt.Errorf("grpcresolver: target %q: passing=%q: want true or false", u.String(), last)
			}
		case "near":
			q.Near = last
		case "filter":
			q.Filter = last
		case "peer":
			q.Peer = last
		default:
			return q, fmt.Errorf("grpcresolver: target %q: unknown parameter %q (want tag, dc, passing, near, filter or peer)", u.String(), k)
		}
	}
	return q, nil
}

// Build starts resolving target: it watches the healthy instances of the
// target's service and pushes each new set of addresses to cc. A target
// that does not parse, or whose agent address is not valid, is an error.
func (b *Builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	q, err := parseTarget(target.URL)
	if err != nil {
		return nil, err
	}
	client, err := b.clientFor(target.URL.Host)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in, err := discovery.NewInstances(ctx, client, q)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("grpcresolver: %w", err)
	}
	r := &consulResolver{cc: cc, in: in, cancel: cancel, done: make(chan struct{}), service: q.Service, logger: client.Logger()}
	go r.run(ctx)
	return r, nil
}

type consulResolver struct {
	cc      resolver.ClientConn
	in      *discovery.Instances
	cancel  context.CancelFunc
	done    chan struct{}
	service string
	logger  *slog.Logger
}

func (r *consulResolver) run(ctx context.Context) {
	defer close(r.done)
	updated := false
	for set, err := range r.in.Subscribe(ctx) {
		if err != nil {
			// With a set, the last one stays in use; before the first,
			// gRPC learns why there is none.
			if !updated {
				r.cc.ReportError(fmt.Errorf("grpcresolver: instances of %q: %w", r.service, err))
			}
			continue
		}
		updated = true
		// A watch-based resolver can ignore UpdateState's error: the next
		// change brings the next state. An empty set is an error there,
		// and fails the RPCs with Unavailable, as it should.
		if err := r.cc.UpdateState(state(set)); err != nil && len(set) > 0 && r.logger != nil {
			r.logger.LogAttrs(ctx, slog.LevelWarn, "grpcresolver: gRPC refused the addresses",
				slog.String("service", r.service), slog.String("error", err.Error()))
		}
	}
}

// ResolveNow does nothing: every change is pushed as it happens.
func (r *consulResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the resolver's watch.
func (r *consulResolver) Close() {
	r.cancel()
	<-r.done
	r.in.Close()
}

// weightKey is the attribute key of an endpoint's weight.
type weightKey struct{}

// state is the resolver state of a set of instances: one endpoint per
// instance, at its host:port, with its weight as an attribute of the
// endpoint; and the same addresses as Addresses, for policies that still
// read those.
func state(set []*discovery.Instance) resolver.State {
	s := resolver.State{
		Endpoints: make([]resolver.Endpoint, len(set)),
		Addresses: make([]resolver.Address, len(set)),
	}
	for i, inst := range set {
		s.Addresses[i] = resolver.Address{Addr: inst.HostPort()}
		s.Endpoints[i] = resolver.Endpoint{
			Addresses:  []resolver.Address{{Addr: inst.HostPort()}},
			Attributes: attributes.New(weightKey{}, uint32(inst.Weight)),
		}
	}
	return s
}

// Weight returns the Consul weight of an endpoint made by this resolver,
// from its attributes (resolver.Endpoint.Attributes), and whether it has
// one.
func Weight(attrs *attributes.Attributes) (uint32, bool) {
	w, ok := attrs.Value(weightKey{}).(uint32)
	return w, ok
}
