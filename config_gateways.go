package consul

import (
	"encoding/json"
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
