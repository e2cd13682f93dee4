package consul

import (
	"encoding/json"
	"fmt"
	"time"
)

// --- ingress-gateway ---

// IngressGatewayConfigEntry is an ingress-gateway entry: the listeners of
// an ingress gateway and the services each one exposes.
type IngressGatewayConfigEntry struct {
	ConfigEntryHeader
	TLS       IngressGatewayTLS        `json:",omitempty"`
	Listeners []IngressGatewayListener `json:",omitempty"`
	Defaults  *IngressGatewayDefaults  `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e IngressGatewayConfigEntry) MarshalJSON() ([]byte, error) {
	type alias IngressGatewayConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindIngressGateway, alias(e)})
}

func (*IngressGatewayConfigEntry) configKind() string { return ConfigKindIngressGateway }

// IngressGatewayTLS is the TLS of a gateway or of one listener.
type IngressGatewayTLS struct {
	Enabled       bool               `json:",omitempty"`
	SDS           *IngressGatewaySDS `json:",omitempty"`
	TLSMinVersion string             `json:",omitempty"` // e.g. "TLSv1_2"
	TLSMaxVersion string             `json:",omitempty"`
	CipherSuites  []string           `json:",omitempty"`
}

// IngressGatewaySDS names certificates served by an SDS cluster.
type IngressGatewaySDS struct {
	ClusterName  string `json:",omitempty"`
	CertResource string `json:",omitempty"`
}

// IngressGatewayDefaults are the limits of every service of the gateway.
type IngressGatewayDefaults struct {
	MaxConnections        uint32                    `json:",omitempty"`
	MaxPendingRequests    uint32                    `json:",omitempty"`
	MaxConcurrentRequests uint32                    `json:",omitempty"`
	PassiveHealthCheck    *ConfigPassiveHealthCheck `json:",omitempty"`
}

// IngressGatewayListener is one port of the gateway.
type IngressGatewayListener struct {
	Port     int
	Protocol string                  `json:",omitempty"` // "tcp" (default), "http", "http2" or "grpc"
	TLS      *IngressGatewayTLS      `json:",omitempty"`
	Services []IngressGatewayService `json:",omitempty"`
}

// IngressGatewayService is a service exposed on a listener.
type IngressGatewayService struct {
	Name                  string
	Namespace             string                     `json:",omitempty"`
	Partition             string                     `json:",omitempty"`
	Hosts                 []string                   `json:",omitempty"`
	TLS                   *IngressGatewayServiceTLS  `json:",omitempty"`
	RequestHeaders        *ConfigHTTPHeaderModifiers `json:",omitempty"`
	ResponseHeaders       *ConfigHTTPHeaderModifiers `json:",omitempty"`
	MaxConnections        uint32                     `json:",omitempty"`
	MaxPendingRequests    uint32                     `json:",omitempty"`
	MaxConcurrentRequests uint32                     `json:",omitempty"`
	PassiveHealthCheck    *ConfigPassiveHealthCheck  `json:",omitempty"`
	Meta                  map[string]string          `json:",omitempty"`
}

// IngressGatewayServiceTLS is the TLS of one exposed service.
type IngressGatewayServiceTLS struct {
	SDS *IngressGatewaySDS `json:",omitempty"`
}

// --- terminating-gateway ---

// TerminatingGatewayConfigEntry is a terminating-gateway entry: the
// services outside the mesh that a terminating gateway reaches.
type TerminatingGatewayConfigEntry struct {
	ConfigEntryHeader
	Services []TerminatingGatewayService `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e TerminatingGatewayConfigEntry) MarshalJSON() ([]byte, error) {
	type alias TerminatingGatewayConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindTerminatingGateway, alias(e)})
}

func (*TerminatingGatewayConfigEntry) configKind() string { return ConfigKindTerminatingGateway }

// TerminatingGatewayService is a linked service, with the TLS files the
// gateway uses to reach it.
type TerminatingGatewayService struct {
	Name                   string
	Namespace              string `json:",omitempty"`
	Partition              string `json:",omitempty"`
	CAFile                 string `json:",omitempty"`
	CertFile               string `json:",omitempty"`
	KeyFile                string `json:",omitempty"`
	SNI                    string `json:",omitempty"`
	DisableAutoHostRewrite bool   `json:",omitempty"`
}

// --- what the kinds of the API gateway share ---

// ConfigResourceReference names a configuration entry, or a section of one
// (a listener of a gateway): a route's parent gateway, a listener's
// certificate, the subject of a status condition.
type ConfigResourceReference struct {
	// Kind is the entry's kind. Left empty, Consul fills in the usual one:
	// api-gateway for a route's parent, inline-certificate for a
	// listener's certificate.
	Kind string `json:",omitempty"`
	Name string
	// SectionName picks a part of the entry, e.g. one listener of a
	// gateway; empty means all of it.
	SectionName string `json:",omitempty"`
	// Partition and Namespace are Consul Enterprise's; Consul CE refuses
	// them.
	Partition string `json:",omitempty"`
	Namespace string `json:",omitempty"`
}

// ConfigEntryStatus is the state that Consul's controllers report on an
// api-gateway, http-route or tcp-route entry, updated in the background
// after each write (which moves the entry's ModifyIndex again). It is
// Consul's to write: Put ignores it.
type ConfigEntryStatus struct {
	Conditions []ConfigEntryCondition `json:",omitempty"`
}

// ConfigEntryCondition is one fact of a status, about the entry or one of
// the resources it references, e.g. Type "Accepted" with Status "True", or
// Type "Bound" with Status "False", Reason "FailedToBind" and a Message.
type ConfigEntryCondition struct {
	Type    string
	Status  string // "True", "False" or "Unknown"
	Reason  string `json:",omitempty"`
	Message string `json:",omitempty"`
	// Resource is what the condition is about; Consul sends a zero
	// reference for the entry itself.
	Resource           *ConfigResourceReference `json:",omitempty"`
	LastTransitionTime *time.Time               `json:",omitempty"`
}

// --- api-gateway ---

// APIGatewayConfigEntry is an api-gateway entry: the listeners of an API
// gateway, to which http-route and tcp-route entries attach. It needs at
// least one listener.
//
// Consul lower-cases listener protocols and gives certificate references
// without a Kind the kind inline-certificate. Consul writes the gateway's
// Status, and the bound-api-gateway entry of the same name (read as a
// *RawConfigEntry).
type APIGatewayConfigEntry struct {
	ConfigEntryHeader
	Listeners []APIGatewayListener `json:",omitempty"`
	// Status is read-only (see ConfigEntryStatus); nil on entries built
	// by hand.
	Status *ConfigEntryStatus `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e APIGatewayConfigEntry) MarshalJSON() ([]byte, error) {
	type alias APIGatewayConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindAPIGateway, alias(e)})
}

func (*APIGatewayConfigEntry) configKind() string { return ConfigKindAPIGateway }

// APIGatewayListener is one port of an API gateway. Listeners sharing a
// port must share their hostname and protocol.
type APIGatewayListener struct {
	// Name is unique in the gateway: lower-case letters, digits, '-' and
	// '.'.
	Name string
	// Hostname restricts the listener to a host ("*.example.com" is a
	// wildcard of the left-most label); empty means every host. A tcp
	// listener has none.
	Hostname string `json:",omitempty"`
	Port     int
	// Protocol is "http" or "tcp".
	Protocol string
	TLS      APIGatewayTLS
	// Override and Default are the policies of the listener and of its
	// routes: Override wins over the routes', Default yields to them.
	// Their JWT requirement is Consul Enterprise's: Consul CE refuses it,
	// and takes only empty policies.
	Override *APIGatewayPolicy `json:",omitempty"`
	Default  *APIGatewayPolicy `json:",omitempty"`
	// MaxRequestHeadersKB bounds the size of request headers, in KiB; nil
	// means Envoy's default. Consul 1.21 and newer take it; older ones
	// refuse it (invalid config key).
	MaxRequestHeadersKB *uint32 `json:",omitempty"`
}

// APIGatewayTLS is the TLS of a listener: the certificates it serves
// (inline-certificate or file-system-certificate entries), the TLS
// versions ("TLSv1_2"...) and the cipher suites it accepts.
type APIGatewayTLS struct {
	Certificates []ConfigResourceReference `json:",omitempty"`
	MinVersion   string                    `json:",omitempty"`
	MaxVersion   string                    `json:",omitempty"`
	CipherSuites []string                  `json:",omitempty"`
}

// APIGatewayPolicy is a listener's policy: the JWT a request must carry
// (Consul Enterprise), with an intention's JWT requirement's shape.
type APIGatewayPolicy struct {
	JWT *ServiceIntentionsJWT `json:",omitempty"`
}

// --- http-route ---

// HTTPRouteConfigEntry is an http-route entry: HTTP routing rules of the
// API gateway listeners it attaches to (its Parents). The services it
// routes to must speak HTTP (their service-defaults protocol http, http2 or
// grpc) for Consul to accept the route.
//
// Consul gives parents without a Kind the kind api-gateway, upper-cases
// match methods, gives a match without a path the path prefix "/", and
// (before Consul 1.22) a service without a weight the weight 1.
type HTTPRouteConfigEntry struct {
	ConfigEntryHeader
	Parents []ConfigResourceReference `json:",omitempty"`
	Rules   []HTTPRouteRule           `json:",omitempty"`
	// Hostnames restricts the route to these hosts (no wildcard); empty
	// means the listener's.
	Hostnames []string `json:",omitempty"`
	// Status is read-only (see ConfigEntryStatus).
	Status *ConfigEntryStatus `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e HTTPRouteConfigEntry) MarshalJSON() ([]byte, error) {
	type alias HTTPRouteConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindHTTPRoute, alias(e)})
}

func (*HTTPRouteConfigEntry) configKind() string { return ConfigKindHTTPRoute }

func (e *HTTPRouteConfigEntry) configCheck(typ string) error {
	check := func(field string, f *HTTPRouteFilters) error {
		if f.TimeoutFilter == nil {
			return nil
		}
		if err := configCheckDuration(field+".TimeoutFilter.RequestTimeout", f.TimeoutFilter.RequestTimeout); err != nil {
			return err
		}
		return configCheckDuration(field+".TimeoutFilter.IdleTimeout", f.TimeoutFilter.IdleTimeout)
	}
	for i := range e.Rules {
		r := &e.Rules[i]
		if err := check(fmt.Sprintf("%s.Rules[%d].Filters", typ, i), &r.Filters); err != nil {
			return err
		}
		for j := range r.Services {
			if err := check(fmt.Sprintf("%s.Rules[%d].Services[%d].Filters", typ, i, j), &r.Services[j].Filters); err != nil {
				return err
			}
		}
	}
	return nil
}

// HTTPRouteRule is one rule: requests that match any of Matches (all
// requests when there is none) go to Services, after the filters.
type HTTPRouteRule struct {
	Filters         HTTPRouteFilters
	ResponseFilters HTTPRouteResponseFilters
	Matches         []HTTPRouteMatch   `json:",omitempty"`
	Services        []HTTPRouteService `json:",omitempty"`
}

// HTTPRouteFilters change a request before it is routed: its headers, its
// path, its retries and timeouts.
type HTTPRouteFilters struct {
	Headers       []ConfigHTTPHeaderModifiers `json:",omitempty"`
	URLRewrite    *HTTPRouteURLRewrite        `json:",omitempty"`
	RetryFilter   *HTTPRouteRetryFilter       `json:",omitempty"`
	TimeoutFilter *HTTPRouteTimeoutFilter     `json:",omitempty"`
	// JWT is Consul Enterprise's: Consul CE refuses it.
	JWT *ServiceIntentionsJWT `json:",omitempty"`
}

// HTTPRouteResponseFilters change the headers of a response.
type HTTPRouteResponseFilters struct {
	Headers []ConfigHTTPHeaderModifiers `json:",omitempty"`
}

// HTTPRouteURLRewrite replaces the matched path prefix with Path.
type HTTPRouteURLRewrite struct {
	Path string `json:",omitempty"`
}

// HTTPRouteRetryFilter retries failed requests: NumRetries times, on the
// conditions of RetryOn (Envoy's "reset", "5xx"...), on these status codes,
// and on connection failures.
type HTTPRouteRetryFilter struct {
	NumRetries            uint32   `json:",omitempty"`
	RetryOn               []string `json:",omitempty"`
	RetryOnStatusCodes    []uint32 `json:",omitempty"`
	RetryOnConnectFailure bool     `json:",omitempty"`
}

// HTTPRouteTimeoutFilter bounds a request (RequestTimeout) and its idle
// time (IdleTimeout); zero means Envoy's default.
type HTTPRouteTimeoutFilter struct {
	RequestTimeout time.Duration `json:",omitempty"`
	IdleTimeout    time.Duration `json:",omitempty"`
}

// MarshalJSON writes the timeouts in Consul's "15s" form.
func (f HTTPRouteTimeoutFilter) MarshalJSON() ([]byte, error) {
	type alias HTTPRouteTimeoutFilter
	return json.Marshal(struct {
		alias
		RequestTimeout duration `json:",omitempty"`
		IdleTimeout    duration `json:",omitempty"`
	}{alias(f), duration(f.RequestTimeout), duration(f.IdleTimeout)})
}

// UnmarshalJSON reads the timeouts as strings or nanoseconds (Consul
// answers with nanoseconds); a timeout the input leaves out keeps its
// value.
func (f *HTTPRouteTimeoutFilter) UnmarshalJSON(b []byte) error {
	type alias HTTPRouteTimeoutFilter
	w := struct {
		*alias
		RequestTimeout duration
		IdleTimeout    duration
	}{(*alias)(f), duration(f.RequestTimeout), duration(f.IdleTimeout)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	f.RequestTimeout, f.IdleTimeout = time.Duration(w.RequestTimeout), time.Duration(w.IdleTimeout)
	return nil
}

// HTTPRouteMatch matches requests by headers, method, path and query, all
// of which must match.
type HTTPRouteMatch struct {
	Headers []HTTPRouteHeaderMatch `json:",omitempty"`
	// Method is an HTTP method ("GET"...); empty matches any.
	Method string `json:",omitempty"`
	// Path is the path to match; a zero Path is the prefix "/".
	Path  HTTPRoutePathMatch
	Query []HTTPRouteQueryMatch `json:",omitempty"`
}

// HTTPRouteHeaderMatch matches a request header: Match is "exact",
// "prefix", "suffix", "regex" (Value) or "present".
type HTTPRouteHeaderMatch struct {
	Match string
	Name  string
	Value string `json:",omitempty"`
}

// HTTPRoutePathMatch matches the path: Match is "exact", "prefix" (Value
// then starts with '/') or "regex".
type HTTPRoutePathMatch struct {
	Match string `json:",omitempty"`
	Value string `json:",omitempty"`
}

// HTTPRouteQueryMatch matches a query parameter: Match is "exact",
// "regex" (Value) or "present".
type HTTPRouteQueryMatch struct {
	Match string
	Name  string
	Value string `json:",omitempty"`
}

// HTTPRouteService is a service a rule routes to, with its share of the
// traffic (Weight, relative to the rule's other services) and filters of
// its own.
type HTTPRouteService struct {
	Name            string
	Weight          int `json:",omitempty"`
	Filters         HTTPRouteFilters
	ResponseFilters HTTPRouteResponseFilters
	// Partition and Namespace are Consul Enterprise's.
	Partition string `json:",omitempty"`
	Namespace string `json:",omitempty"`
}

// --- tcp-route ---

// TCPRouteConfigEntry is a tcp-route entry: it sends the connections of
// the API gateway listeners it attaches to (its Parents) to one service.
// Consul gives parents without a Kind the kind api-gateway.
type TCPRouteConfigEntry struct {
	ConfigEntryHeader
	Parents []ConfigResourceReference `json:",omitempty"`
	// Services holds the service to route to: Consul takes at most one.
	Services []TCPRouteService `json:",omitempty"`
	// Status is read-only (see ConfigEntryStatus).
	Status *ConfigEntryStatus `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e TCPRouteConfigEntry) MarshalJSON() ([]byte, error) {
	type alias TCPRouteConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindTCPRoute, alias(e)})
}

func (*TCPRouteConfigEntry) configKind() string { return ConfigKindTCPRoute }

// TCPRouteService is the service a tcp-route sends connections to.
type TCPRouteService struct {
	Name string
	// Partition and Namespace are Consul Enterprise's.
	Partition string `json:",omitempty"`
	Namespace string `json:",omitempty"`
}

// --- inline-certificate ---

// InlineCertificateConfigEntry is an inline-certificate entry: a
// certificate and its private key, in PEM, for API gateway listeners.
// Consul checks that they parse, that they match, that an RSA key has at
// least 2048 bits and that the certificate's names are DNS names.
//
// Consul stores the private key in its state and returns it to whoever may
// read the entry (mesh:read).
type InlineCertificateConfigEntry struct {
	ConfigEntryHeader
	Certificate string `json:",omitempty"`
	PrivateKey  string `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e InlineCertificateConfigEntry) MarshalJSON() ([]byte, error) {
	type alias InlineCertificateConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindInlineCertificate, alias(e)})
}

func (*InlineCertificateConfigEntry) configKind() string { return ConfigKindInlineCertificate }

// --- file-system-certificate ---

// FileSystemCertificateConfigEntry is a file-system-certificate entry: the
// paths of a certificate and its private key (PEM files) on the gateway's
// machine, which the gateway reads and watches. Consul does not check the
// paths when the entry is written.
type FileSystemCertificateConfigEntry struct {
	ConfigEntryHeader
	Certificate string `json:",omitempty"`
	PrivateKey  string `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e FileSystemCertificateConfigEntry) MarshalJSON() ([]byte, error) {
	type alias FileSystemCertificateConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindFileSystemCertificate, alias(e)})
}

func (*FileSystemCertificateConfigEntry) configKind() string {
	return ConfigKindFileSystemCertificate
}
