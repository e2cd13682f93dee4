package consul

import (
	"context"
	"net/http"
)

// CatalogService reads and writes the catalog of nodes and services: /v1/catalog/.
//
// The catalog is the cluster-wide registry kept by the servers. Most
// programs register their services with their local agent (client.Services,
// client.Agent), which keeps the catalog in sync; Register and Deregister
// write the catalog directly, for external nodes and services that no agent
// runs on.
type CatalogService service

// CatalogRegistration is the body of Catalog.Register (Consul's
// RegisterRequest): a node and, optionally, one service and checks on it.
type CatalogRegistration struct {
	// ID is the node's UUID; empty keeps the node's current ID or leaves
	// it unset.
	ID string `json:",omitempty"`
	// Node is the node's name. Required.
	Node string
	// Address is the node's address. Required unless SkipNodeUpdate.
	Address string `json:",omitempty"`
	// Datacenter to register in; empty means the call's Datacenter option,
	// then the client's Config.Datacenter, then the agent's own.
	Datacenter      string            `json:",omitempty"`
	TaggedAddresses map[string]string `json:",omitempty"`
	NodeMeta        map[string]string `json:",omitempty"`
	Locality        *Locality         `json:",omitempty"`
	// Service registers (or updates) one service instance on the node. Its
	// Service (name) is required; an empty ID means the name.
	Service *NodeService `json:",omitempty"`
	// Check registers one check; Checks registers several. A check's Node
	// defaults to the registration's Node and its Status to critical.
	Check  *HealthCheck   `json:",omitempty"`
	Checks []*HealthCheck `json:",omitempty"`
	// SkipNodeUpdate leaves an existing node's address and metadata
	// untouched, for registering services or checks only.
	SkipNodeUpdate bool   `json:",omitempty"`
	Namespace      string `json:",omitempty"`
	Partition      string `json:",omitempty"`
}

// CatalogDeregistration is the body of Catalog.Deregister (Consul's
// DeregisterRequest). With only Node set, the node and everything on it is
// removed; with ServiceID, only that service (and its checks); with
// CheckID, only that check.
type CatalogDeregistration struct {
	// Node is the node's name. Required.
	Node string
	// Datacenter to deregister from; empty means the call's Datacenter
	// option, then the client's Config.Datacenter, then the agent's own.
	Datacenter string `json:",omitempty"`
	ServiceID  string `json:",omitempty"`
	CheckID    string `json:",omitempty"`
	Namespace  string `json:",omitempty"`
	Partition  string `json:",omitempty"`
}

// CatalogNode is a node with its services, keyed by service ID
// (GET /v1/catalog/node/:node).
type CatalogNode struct {
	Node     *Node
	Services map[string]*NodeService
}

// CatalogNodeServiceList is a node with its services as a list
// (GET /v1/catalog/node-services/:node).
type CatalogNodeServiceList struct {
	Node     *Node
	Services []*NodeService
}

// CatalogServiceName is a service's name with its enterprise scope, as
// gateway associations name their gateway and service.
type CatalogServiceName struct {
	Name      string
	Namespace string `json:",omitempty"`
	Partition string `json:",omitempty"`
}

// CatalogGatewayService is one service a gateway routes to: an
// association made by an ingress-gateway or terminating-gateway config
// entry (GET /v1/catalog/gateway-services/:gateway).
type CatalogGatewayService struct {
	Gateway     CatalogServiceName
	Service     CatalogServiceName
	GatewayKind ServiceKind
	// Port, Protocol and Hosts are set for ingress gateways' listeners.
	Port     int      `json:",omitempty"`
	Protocol string   `json:",omitempty"`
	Hosts    []string `json:",omitempty"`
	// CAFile, CertFile, KeyFile and SNI are set for terminating gateways'
	// TLS origination.
	CAFile   string `json:",omitempty"`
	CertFile string `json:",omitempty"`
	KeyFile  string `json:",omitempty"`
	SNI      string `json:",omitempty"`
	// FromWildcard is true when the association comes from a "*" service
	// of the config entry.
	FromWildcard bool `json:",omitempty"`
	// ServiceKind is "service" or "destination" for terminating gateways.
	ServiceKind     string `json:",omitempty"`
	AutoHostRewrite bool   `json:",omitempty"`
	CreateIndex     uint64 `json:",omitempty"`
	ModifyIndex     uint64 `json:",omitempty"`
}

// catalogDatacenter returns the datacenter a write body must carry: Consul's
// catalog register and deregister ignore ?dc= and read the body's
// Datacenter, so an empty one is filled from the options and the client.
func (s *CatalogService) catalogDatacenter(opts []Option) (string, error) {
	var o callOptions
	if err := s.client.resolve(opts, &o); err != nil {
		return "", err
	}
	return o.dc, nil
}

// Register registers a node, and optionally a service and checks on it,
// directly in the catalog: PUT /v1/catalog/register.
//
// A nil registration, an empty Node, an empty Address without
// SkipNodeUpdate, or a Service without a name is refused before sending.
// An empty Datacenter is filled from the Datacenter option or the client's
// default (Consul reads it from the body, not from ?dc=); reg itself is not
// modified. Consul answers true on success, so only the error is returned.
func (s *CatalogService) Register(ctx context.Context, reg *CatalogRegistration, opts ...Option) error {
	if reg == nil {
		return argError("CatalogRegistration", "nil")
	}
	if reg.Node == "" {
		return argError("CatalogRegistration.Node", "empty")
	}
	if reg.Address == "" && !reg.SkipNodeUpdate {
		return argError("CatalogRegistration.Address", "empty (set SkipNodeUpdate to register on an existing node only)")
	}
	if reg.Service != nil && reg.Service.Service == "" {
		return argError("CatalogRegistration.Service.Service", "empty")
	}
	if reg.Check != nil && reg.Check.CheckID == "" && reg.Check.Name == "" {
		return argError("CatalogRegistration.Check.CheckID", "empty, and no Name")
	}
	for i, c := range reg.Checks {
		if c == nil {
			return argError("CatalogRegistration.Checks", "nil check at %d", i)
		}
		if c.CheckID == "" && c.Name == "" {
			return argError("CatalogRegistration.Checks.CheckID", "empty, and no Name at %d", i)
		}
	}
	body := *reg
	if body.Datacenter == "" {
		dc, err := s.catalogDatacenter(opts)
		if err != nil {
			return err
		}
		body.Datacenter = dc
	}
	_, err := s.client.write(ctx, http.MethodPut, "/v1/catalog/register", nil, &body, opts, nil)
	return err
}

// Deregister removes a node, a service or a check from the catalog:
// PUT /v1/catalog/deregister. See CatalogDeregistration for what is
// removed. Removing something that does not exist is not an error.
//
// A nil deregistration or an empty Node is refused before sending. An
// empty Datacenter is filled as in Register.
func (s *CatalogService) Deregister(ctx context.Context, dereg *CatalogDeregistration, opts ...Option) error {
	if dereg == nil {
		return argError("CatalogDeregistration", "nil")
	}
	if dereg.Node == "" {
		return argError("CatalogDeregistration.Node", "empty")
	}
	body := *dereg
	if body.Datacenter == "" {
		dc, err := s.catalogDatacenter(opts)
		if err != nil {
			return err
		}
		body.Datacenter = dc
	}
	_, err := s.client.write(ctx, http.MethodPut, "/v1/catalog/deregister", nil, &body, opts, nil)
	return err
}

// ListDatacenters lists the known datacenters, nearest first by round trip
// time as the WAN coordinates estimate it: GET /v1/catalog/datacenters.
// It is not a blocking query; Cached is supported.
func (s *CatalogService) ListDatacenters(ctx context.Context, opts ...Option) ([]string, *Meta, error) {
	var out []string
	meta, err := s.client.get(ctx, "/v1/catalog/datacenters", nil, opts, &out)
	return out, meta, err
}

// ListNodes lists the nodes of the catalog: GET /v1/catalog/nodes. Near sorts
// them by round trip time from a node ("_agent" for the answering agent;
// Consul 0.7's "_self" is gone), NodeMeta and Filter select them. It
// supports blocking and consistency options.
func (s *CatalogService) ListNodes(ctx context.Context, opts ...Option) ([]*Node, *Meta, error) {
	var out []*Node
	meta, err := s.client.get(ctx, "/v1/catalog/nodes", nil, opts, &out)
	return out, meta, err
}

// ListServices lists the services of the catalog, each with the union of its
// instances' tags: GET /v1/catalog/services. NodeMeta and Filter select
// them. It supports blocking, consistency and Cached options.
func (s *CatalogService) ListServices(ctx context.Context, opts ...Option) (map[string][]string, *Meta, error) {
	var out map[string][]string
	meta, err := s.client.get(ctx, "/v1/catalog/services", nil, opts, &out)
	return out, meta, err
}

// ListServiceInstances lists the instances of a service, whatever their health:
// GET /v1/catalog/service/:name. Tag keeps instances with a tag (repeat it
// to require all of several tags), Near sorts by round trip time, NodeMeta
// and Filter select. A service with no instance is an empty list. A name
// that is not one path segment (empty, "." or "..", with a '/' or a control
// character) is refused before sending. It supports blocking, consistency
// and Cached options. For healthy instances use Health.ListServiceInstances.
func (s *CatalogService) ListServiceInstances(ctx context.Context, name string, opts ...Option) ([]*ServiceNode, *Meta, error) {
	return s.serviceNodes(ctx, "/v1/catalog/service/{service}", name, opts)
}

// ListConnectInstances lists the Connect-capable instances of a service: its
// sidecar proxies and Connect-native instances: GET
// /v1/catalog/connect/:service. It takes the same options as
// ListServiceInstances. A name that is not one path segment is refused
// before sending.
func (s *CatalogService) ListConnectInstances(ctx context.Context, service string, opts ...Option) ([]*ServiceNode, *Meta, error) {
	return s.serviceNodes(ctx, "/v1/catalog/connect/{service}", service, opts)
}

// serviceNodes reads the instances of a service at route, whose one
// placeholder takes the name.
func (s *CatalogService) serviceNodes(ctx context.Context, route, name string, opts []Option) ([]*ServiceNode, *Meta, error) {
	path, err := buildPath(route, name)
	if err != nil {
		return nil, nil, err
	}
	var out []*ServiceNode
	meta, err := s.client.get(ctx, path, nil, opts, &out)
	return out, meta, err
}

// GetNode reads a node and its services: GET /v1/catalog/node/:node.
//
// A node that does not exist returns (nil, meta, nil) (Consul answers 200
// with null), so that a caller can block on a node that is not registered
// yet. A name that is not one path segment (empty, "." or "..", with a '/'
// or a control character) is refused before sending. It supports blocking
// and consistency options.
func (s *CatalogService) GetNode(ctx context.Context, node string, opts ...Option) (*CatalogNode, *Meta, error) {
	path, err := buildPath("/v1/catalog/node/{node}", node)
	if err != nil {
		return nil, nil, err
	}
	var out *CatalogNode
	meta, err := s.client.getOptional(ctx, path, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil || out.Node == nil {
		return nil, meta, nil
	}
	return out, meta, nil
}

// GetNodeServices reads a node and its services as a list:
// GET /v1/catalog/node-services/:node. Filter selects services.
//
// A node that does not exist returns (nil, meta, nil) (Consul answers 200
// with a null Node). A name that is not one path segment is refused before
// sending. It supports blocking and consistency options.
func (s *CatalogService) GetNodeServices(ctx context.Context, node string, opts ...Option) (*CatalogNodeServiceList, *Meta, error) {
	path, err := buildPath("/v1/catalog/node-services/{node}", node)
	if err != nil {
		return nil, nil, err
	}
	var out *CatalogNodeServiceList
	meta, err := s.client.getOptional(ctx, path, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil || out.Node == nil {
		return nil, meta, nil
	}
	return out, meta, nil
}

// ListGatewayServices lists the services an ingress or terminating gateway
// routes to, as its config entry associates them:
// GET /v1/catalog/gateway-services/:gateway. A gateway with no
// association (or no config entry) is an empty list. A name that is not
// one path segment is refused before sending. It supports blocking and
// consistency options.
func (s *CatalogService) ListGatewayServices(ctx context.Context, gateway string, opts ...Option) ([]*CatalogGatewayService, *Meta, error) {
	path, err := buildPath("/v1/catalog/gateway-services/{gateway}", gateway)
	if err != nil {
		return nil, nil, err
	}
	var out []*CatalogGatewayService
	meta, err := s.client.get(ctx, path, nil, opts, &out)
	if err == nil && out == nil {
		out = []*CatalogGatewayService{} // Consul answers null for none
	}
	return out, meta, err
}
