package consul

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// DiscoveryChainOptions are the inputs of a discovery chain compilation.
// The overrides are what an upstream of a proxy may set.
type DiscoveryChainOptions struct {
	// EvaluateInDatacenter compiles the chain as seen from this datacenter
	// (?compile-dc=); empty means the agent's.
	EvaluateInDatacenter string
	// OverrideMeshGateway, OverrideProtocol and OverrideConnectTimeout
	// replace what the entries say. Setting any of them makes the read a
	// POST with them in its body.
	OverrideMeshGateway    ConfigMeshGateway
	OverrideProtocol       string
	OverrideConnectTimeout time.Duration
}

var epConfigDiscoveryChain = endpoint{name: "ConfigEntries.GetDiscoveryChain", method: http.MethodGet, route: "/v1/discovery-chain/:service", opts: oRead | oMaxStale | oCached | oEnt, read: true}

var epConfigDiscoveryChainPost = endpoint{name: "ConfigEntries.GetDiscoveryChain", method: http.MethodPost, route: "/v1/discovery-chain/:service", opts: oRead | oMaxStale | oCached | oEnt, read: true}

// GetDiscoveryChain compiles the discovery chain of a service from its
// service-defaults, router, splitter and resolver entries:
// GET /v1/discovery-chain/:service, or POST with the overrides of opt when
// it sets any. A nil opt compiles with no override.
//
// A service without any entry still has a chain (its default resolver), so
// there is no 404 case. A service name that is not one path segment is
// refused before sending. It supports blocking, consistency and Cached
// options.
func (s *ConfigEntriesService) GetDiscoveryChain(ctx context.Context, service string, opt *DiscoveryChainOptions, opts ...Option) (*CompiledDiscoveryChain, *Meta, error) {
	path, err := buildPath("/v1/discovery-chain/{service}", service)
	if err != nil {
		return nil, nil, err
	}
	e, ps, body := &epConfigDiscoveryChain, []param(nil), any(nil)
	if opt != nil {
		if opt.OverrideConnectTimeout < 0 {
			return nil, nil, argError("DiscoveryChainOptions.OverrideConnectTimeout", "negative duration %s", opt.OverrideConnectTimeout)
		}
		if err := configCheckMeshGatewayMode("DiscoveryChainOptions.OverrideMeshGateway.Mode", opt.OverrideMeshGateway.Mode); err != nil {
			return nil, nil, err
		}
		if opt.EvaluateInDatacenter != "" {
			ps = []param{{"compile-dc", opt.EvaluateInDatacenter}}
		}
		if opt.OverrideMeshGateway.Mode != "" || opt.OverrideProtocol != "" || opt.OverrideConnectTimeout != 0 {
			e = &epConfigDiscoveryChainPost
			overrides := configChainOverrides{
				OverrideProtocol:       opt.OverrideProtocol,
				OverrideConnectTimeout: duration(opt.OverrideConnectTimeout),
			}
			if opt.OverrideMeshGateway.Mode != "" {
				overrides.OverrideMeshGateway = &opt.OverrideMeshGateway
			}
			body = overrides
		}
	}
	var out struct{ Chain *CompiledDiscoveryChain }
	meta, err := s.client.call(ctx, e, path, ps, body, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out.Chain, meta, nil
}

// configChainOverrides is the body of POST /v1/discovery-chain/:service.
type configChainOverrides struct {
	OverrideMeshGateway    *ConfigMeshGateway `json:",omitempty"`
	OverrideProtocol       string             `json:",omitempty"`
	OverrideConnectTimeout duration           `json:",omitempty"`
}

// --- service-router ---

// ServiceRouterConfigEntry is a service-router entry: L7 routes of a
// service (whose protocol must be http, http2 or grpc) to other services
// or subsets. The first route that matches wins.
type ServiceRouterConfigEntry struct {
	ConfigEntryHeader
	Routes []ServiceRouterRoute `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ServiceRouterConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ServiceRouterConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindServiceRouter, alias(e)})
}

func (*ServiceRouterConfigEntry) configKind() string { return ConfigKindServiceRouter }

func (e *ServiceRouterConfigEntry) configCheck(typ string) error {
	for i, r := range e.Routes {
		if d := r.Destination; d != nil {
			field := fmt.Sprintf("%s.Routes[%d].Destination.", typ, i)
			if err := configCheckDuration(field+"RequestTimeout", d.RequestTimeout); err != nil {
				return err
			}
			if err := configCheckDuration(field+"IdleTimeout", d.IdleTimeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// ServiceRouterRoute is one route: what it matches and where it goes.
type ServiceRouterRoute struct {
	Match       *ServiceRouterMatch       `json:",omitempty"`
	Destination *ServiceRouterDestination `json:",omitempty"`
}

// ServiceRouterMatch is what a route matches.
type ServiceRouterMatch struct {
	HTTP *ServiceRouterHTTPMatch `json:",omitempty"`
}

// ServiceRouterHTTPMatch matches HTTP requests; at most one of the Path
// fields may be set.
type ServiceRouterHTTPMatch struct {
	PathExact       string                         `json:",omitempty"`
	PathPrefix      string                         `json:",omitempty"`
	PathRegex       string                         `json:",omitempty"`
	CaseInsensitive bool                           `json:",omitempty"`
	Header          []ServiceRouterHeaderMatch     `json:",omitempty"`
	QueryParam      []ServiceRouterQueryParamMatch `json:",omitempty"`
	Methods         []string                       `json:",omitempty"`
}

// ServiceRouterHeaderMatch matches one request header.
type ServiceRouterHeaderMatch struct {
	Name    string
	Present bool   `json:",omitempty"`
	Exact   string `json:",omitempty"`
	Prefix  string `json:",omitempty"`
	Suffix  string `json:",omitempty"`
	Regex   string `json:",omitempty"`
	Invert  bool   `json:",omitempty"`
}

// ServiceRouterQueryParamMatch matches one query parameter.
type ServiceRouterQueryParamMatch struct {
	Name    string
	Present bool   `json:",omitempty"`
	Exact   string `json:",omitempty"`
	Regex   string `json:",omitempty"`
}

// ServiceRouterDestination is where a matching request goes; an empty
// Service means the router's own service.
type ServiceRouterDestination struct {
	Service               string                     `json:",omitempty"`
	ServiceSubset         string                     `json:",omitempty"`
	Namespace             string                     `json:",omitempty"`
	Partition             string                     `json:",omitempty"`
	PrefixRewrite         string                     `json:",omitempty"`
	RequestTimeout        time.Duration              `json:",omitempty"`
	IdleTimeout           time.Duration              `json:",omitempty"`
	NumRetries            uint32                     `json:",omitempty"`
	RetryOnConnectFailure bool                       `json:",omitempty"`
	RetryOn               []string                   `json:",omitempty"`
	RetryOnStatusCodes    []uint32                   `json:",omitempty"`
	RequestHeaders        *ConfigHTTPHeaderModifiers `json:",omitempty"`
	ResponseHeaders       *ConfigHTTPHeaderModifiers `json:",omitempty"`
}

// MarshalJSON writes the timeouts in Consul's "15s" form.
func (d ServiceRouterDestination) MarshalJSON() ([]byte, error) {
	type alias ServiceRouterDestination
	return json.Marshal(struct {
		alias
		RequestTimeout duration `json:",omitempty"`
		IdleTimeout    duration `json:",omitempty"`
	}{alias(d), duration(d.RequestTimeout), duration(d.IdleTimeout)})
}

// UnmarshalJSON reads the timeouts as strings or nanoseconds.
func (d *ServiceRouterDestination) UnmarshalJSON(b []byte) error {
	type alias ServiceRouterDestination
	w := struct {
		*alias
		RequestTimeout duration
		IdleTimeout    duration
	}{alias: (*alias)(d)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d.RequestTimeout, d.IdleTimeout = time.Duration(w.RequestTimeout), time.Duration(w.IdleTimeout)
	return nil
}

// --- service-splitter ---

// ServiceSplitterConfigEntry is a service-splitter entry: it splits the
// traffic of a service between services or subsets by weight (the weights
// add up to 100).
type ServiceSplitterConfigEntry struct {
	ConfigEntryHeader
	Splits []ServiceSplitterSplit `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ServiceSplitterConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ServiceSplitterConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindServiceSplitter, alias(e)})
}

func (*ServiceSplitterConfigEntry) configKind() string { return ConfigKindServiceSplitter }

// ServiceSplitterSplit is one share of the traffic.
type ServiceSplitterSplit struct {
	// Weight is the share in percent, e.g. 90 or 0.5.
	Weight          float32
	Service         string                     `json:",omitempty"`
	ServiceSubset   string                     `json:",omitempty"`
	Namespace       string                     `json:",omitempty"`
	Partition       string                     `json:",omitempty"`
	RequestHeaders  *ConfigHTTPHeaderModifiers `json:",omitempty"`
	ResponseHeaders *ConfigHTTPHeaderModifiers `json:",omitempty"`
}

// --- service-resolver ---

// ServiceResolverConfigEntry is a service-resolver entry: which instances
// of a service are reached (subsets), redirects, failover, load balancing
// and timeouts.
type ServiceResolverConfigEntry struct {
	ConfigEntryHeader
	DefaultSubset string                             `json:",omitempty"`
	Subsets       map[string]ServiceResolverSubset   `json:",omitempty"`
	Redirect      *ServiceResolverRedirect           `json:",omitempty"`
	Failover      map[string]ServiceResolverFailover `json:",omitempty"`
	// PrioritizeByLocality prefers instances of the caller's locality.
	PrioritizeByLocality *ServiceResolverPrioritizeByLocality `json:",omitempty"`
	// ConnectTimeout is how long a proxy waits to open a connection to an
	// instance; zero means Consul's default of 5s.
	ConnectTimeout time.Duration `json:",omitempty"`
	// RequestTimeout bounds HTTP requests; zero means Envoy's default.
	RequestTimeout time.Duration                `json:",omitempty"`
	LoadBalancer   *ServiceResolverLoadBalancer `json:",omitempty"`
}

// MarshalJSON adds the Kind and writes the timeouts in Consul's "15s" form.
func (e ServiceResolverConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ServiceResolverConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
		ConnectTimeout duration `json:",omitempty"`
		RequestTimeout duration `json:",omitempty"`
	}{ConfigKindServiceResolver, alias(e), duration(e.ConnectTimeout), duration(e.RequestTimeout)})
}

func (*ServiceResolverConfigEntry) configKind() string { return ConfigKindServiceResolver }

func (e *ServiceResolverConfigEntry) configCheck(typ string) error {
	if err := configCheckDuration(typ+".ConnectTimeout", e.ConnectTimeout); err != nil {
		return err
	}
	return configCheckDuration(typ+".RequestTimeout", e.RequestTimeout)
}

// UnmarshalJSON reads the timeouts as strings or nanoseconds.
func (e *ServiceResolverConfigEntry) UnmarshalJSON(b []byte) error {
	type alias ServiceResolverConfigEntry
	w := struct {
		*alias
		ConnectTimeout duration
		RequestTimeout duration
	}{alias: (*alias)(e)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	e.ConnectTimeout, e.RequestTimeout = time.Duration(w.ConnectTimeout), time.Duration(w.RequestTimeout)
	return nil
}

// ServiceResolverSubset is a named subset of a service's instances.
type ServiceResolverSubset struct {
	// Filter is a filter expression on the instances, e.g.
	// `Service.Meta.version == v2`.
	Filter      string `json:",omitempty"`
	OnlyPassing bool   `json:",omitempty"`
}

// ServiceResolverRedirect sends all the traffic of a service elsewhere.
type ServiceResolverRedirect struct {
	Service       string `json:",omitempty"`
	ServiceSubset string `json:",omitempty"`
	Namespace     string `json:",omitempty"`
	Partition     string `json:",omitempty"`
	Datacenter    string `json:",omitempty"`
	Peer          string `json:",omitempty"`
	SamenessGroup string `json:",omitempty"`
}

// ServiceResolverFailover is where traffic goes when no instance of a
// subset (or "*" for any) is healthy.
type ServiceResolverFailover struct {
	Service       string                          `json:",omitempty"`
	ServiceSubset string                          `json:",omitempty"`
	Namespace     string                          `json:",omitempty"`
	Datacenters   []string                        `json:",omitempty"`
	Targets       []ServiceResolverFailoverTarget `json:",omitempty"`
	Policy        *ServiceResolverFailoverPolicy  `json:",omitempty"`
	SamenessGroup string                          `json:",omitempty"`
}

// ServiceResolverFailoverTarget is one failover destination.
type ServiceResolverFailoverTarget struct {
	Service       string `json:",omitempty"`
	ServiceSubset string `json:",omitempty"`
	Partition     string `json:",omitempty"`
	Namespace     string `json:",omitempty"`
	Datacenter    string `json:",omitempty"`
	Peer          string `json:",omitempty"`
}

// ServiceResolverFailoverPolicy orders failover targets: Mode "default" or
// "order-by-locality", with Regions.
type ServiceResolverFailoverPolicy struct {
	Mode    string   `json:",omitempty"`
	Regions []string `json:",omitempty"`
}

// ServiceResolverPrioritizeByLocality: Mode "none" or "failover".
type ServiceResolverPrioritizeByLocality struct {
	Mode string `json:",omitempty"`
}

// ServiceResolverLoadBalancer picks the load balancing policy: "",
// "random", "round_robin", "least_request", "ring_hash" or "maglev".
type ServiceResolverLoadBalancer struct {
	Policy             string                       `json:",omitempty"`
	RingHashConfig     *ServiceResolverRingHash     `json:",omitempty"`
	LeastRequestConfig *ServiceResolverLeastRequest `json:",omitempty"`
	HashPolicies       []ServiceResolverHashPolicy  `json:",omitempty"`
}

// ServiceResolverRingHash sizes the ring of the ring_hash policy.
type ServiceResolverRingHash struct {
	MinimumRingSize uint64 `json:",omitempty"`
	MaximumRingSize uint64 `json:",omitempty"`
}

// ServiceResolverLeastRequest configures the least_request policy.
type ServiceResolverLeastRequest struct {
	ChoiceCount uint32 `json:",omitempty"`
}

// ServiceResolverHashPolicy is one input of the hash of ring_hash and
// maglev: a header, cookie or query parameter (Field and FieldValue), or
// the source IP.
type ServiceResolverHashPolicy struct {
	Field        string                       `json:",omitempty"` // "header", "cookie" or "query_parameter"
	FieldValue   string                       `json:",omitempty"`
	CookieConfig *ServiceResolverCookieConfig `json:",omitempty"`
	SourceIP     bool                         `json:",omitempty"`
	Terminal     bool                         `json:",omitempty"`
}

// ServiceResolverCookieConfig configures a hashed cookie that the proxy
// generates when absent.
type ServiceResolverCookieConfig struct {
	Session bool          `json:",omitempty"`
	TTL     time.Duration `json:",omitempty"`
	Path    string        `json:",omitempty"`
}

// MarshalJSON writes TTL in Consul's "15s" form.
func (c ServiceResolverCookieConfig) MarshalJSON() ([]byte, error) {
	type alias ServiceResolverCookieConfig
	return json.Marshal(struct {
		alias
		TTL duration `json:",omitempty"`
	}{alias(c), duration(c.TTL)})
}

// UnmarshalJSON reads TTL as a string or nanoseconds.
func (c *ServiceResolverCookieConfig) UnmarshalJSON(b []byte) error {
	type alias ServiceResolverCookieConfig
	w := struct {
		*alias
		TTL duration
	}{alias: (*alias)(c)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	c.TTL = time.Duration(w.TTL)
	return nil
}

// --- discovery chain ---

// CompiledDiscoveryChain is the discovery chain of a service as Consul
// compiled it: a graph from StartNode through routers and splitters to
// resolvers, whose targets are sets of instances.
type CompiledDiscoveryChain struct {
	ServiceName string
	Namespace   string
	Partition   string
	Datacenter  string
	// CustomizationHash is set when overrides changed the chain.
	CustomizationHash string `json:",omitempty"`
	// Default is true when no entry shaped the chain.
	Default         bool                   `json:",omitempty"`
	Protocol        string                 `json:",omitempty"`
	ServiceMeta     map[string]string      `json:",omitempty"`
	EnvoyExtensions []ConfigEnvoyExtension `json:",omitempty"`
	// StartNode is the key in Nodes where the chain starts.
	StartNode string `json:",omitempty"`
	// Nodes by name, e.g. "resolver:web.default.default.dc1".
	Nodes map[string]*DiscoveryGraphNode `json:",omitempty"`
	// Targets by ID, e.g. "web.default.default.dc1".
	Targets          map[string]*DiscoveryTarget `json:",omitempty"`
	AutoVirtualIPs   []string
	ManualVirtualIPs []string
}

// DiscoveryGraphNode is a router, splitter or resolver of a chain (Type).
type DiscoveryGraphNode struct {
	Type         string // "router", "splitter" or "resolver"
	Name         string
	Routes       []*DiscoveryRoute            `json:",omitempty"`
	Splits       []*DiscoverySplit            `json:",omitempty"`
	Resolver     *DiscoveryResolver           `json:",omitempty"`
	LoadBalancer *ServiceResolverLoadBalancer `json:",omitempty"`
}

// DiscoveryRoute is a compiled route and the node it leads to.
type DiscoveryRoute struct {
	Definition           *ServiceRouterRoute                  `json:",omitempty"`
	NextNode             string                               `json:",omitempty"`
	PrioritizeByLocality *ServiceResolverPrioritizeByLocality `json:",omitempty"`
}

// DiscoverySplit is a compiled split and the node it leads to.
type DiscoverySplit struct {
	Definition *ServiceSplitterSplit `json:",omitempty"`
	Weight     float32               `json:",omitempty"`
	NextNode   string                `json:",omitempty"`
}

// DiscoveryResolver is a compiled resolver: its target and failover.
type DiscoveryResolver struct {
	// Default is true when no service-resolver entry exists.
	Default        bool               `json:",omitempty"`
	ConnectTimeout time.Duration      `json:",omitempty"`
	RequestTimeout time.Duration      `json:",omitempty"`
	Target         string             `json:",omitempty"`
	Failover       *DiscoveryFailover `json:",omitempty"`
}

// MarshalJSON writes the timeouts in Consul's "15s" form.
func (r DiscoveryResolver) MarshalJSON() ([]byte, error) {
	type alias DiscoveryResolver
	return json.Marshal(struct {
		alias
		ConnectTimeout duration `json:",omitempty"`
		RequestTimeout duration `json:",omitempty"`
	}{alias(r), duration(r.ConnectTimeout), duration(r.RequestTimeout)})
}

// UnmarshalJSON reads the timeouts as strings or nanoseconds (Consul sends
// ConnectTimeout as "5s" and RequestTimeout as nanoseconds).
func (r *DiscoveryResolver) UnmarshalJSON(b []byte) error {
	type alias DiscoveryResolver
	w := struct {
		*alias
		ConnectTimeout duration
		RequestTimeout duration
	}{alias: (*alias)(r)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.ConnectTimeout, r.RequestTimeout = time.Duration(w.ConnectTimeout), time.Duration(w.RequestTimeout)
	return nil
}

// DiscoveryFailover lists the targets to fail over to, in order.
type DiscoveryFailover struct {
	Targets []string                       `json:",omitempty"`
	Policy  *ServiceResolverFailoverPolicy `json:",omitempty"`
	Regions []string                       `json:",omitempty"`
}

// DiscoveryLocality is a region and zone.
type DiscoveryLocality struct {
	Region string `json:",omitempty"`
	Zone   string `json:",omitempty"`
}

// DiscoveryTarget is a set of instances a chain can end at: a service (or
// subset) in a namespace, partition, datacenter or peer.
type DiscoveryTarget struct {
	ID                   string                               `json:",omitempty"`
	Service              string                               `json:",omitempty"`
	ServiceSubset        string                               `json:",omitempty"`
	Namespace            string                               `json:",omitempty"`
	Partition            string                               `json:",omitempty"`
	Datacenter           string                               `json:",omitempty"`
	Peer                 string                               `json:",omitempty"`
	Locality             *DiscoveryLocality                   `json:",omitempty"`
	MeshGateway          ConfigMeshGateway                    `json:",omitempty"`
	Subset               ServiceResolverSubset                `json:",omitempty"`
	TransparentProxy     ConfigTransparentProxy               `json:",omitempty"`
	ConnectTimeout       time.Duration                        `json:",omitempty"`
	External             bool                                 `json:",omitempty"`
	SNI                  string                               `json:",omitempty"`
	Name                 string                               `json:",omitempty"`
	PrioritizeByLocality *ServiceResolverPrioritizeByLocality `json:",omitempty"`
}

// MarshalJSON writes ConnectTimeout in Consul's "5s" form.
func (t DiscoveryTarget) MarshalJSON() ([]byte, error) {
	type alias DiscoveryTarget
	return json.Marshal(struct {
		alias
		ConnectTimeout duration `json:",omitempty"`
	}{alias(t), duration(t.ConnectTimeout)})
}

// UnmarshalJSON reads ConnectTimeout as a string or nanoseconds.
func (t *DiscoveryTarget) UnmarshalJSON(b []byte) error {
	type alias DiscoveryTarget
	w := struct {
		*alias
		ConnectTimeout duration
	}{alias: (*alias)(t)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t.ConnectTimeout = time.Duration(w.ConnectTimeout)
	return nil
}
