package consul

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
)

// ServicesService manages the services registered on the local agent: /v1/agent/service/ and /v1/agent/services.
//
// aioconsul's services.register, items, disable, enable and deregister are
// Register, List, EnableMaintenance, DisableMaintenance and Deregister here.
// Note the inversion: aioconsul's disable(service) puts the service in
// maintenance, which is EnableMaintenance.
type ServicesService service

// AgentServiceRegistration is a service to register on the local agent
// (Consul's ServiceDefinition).
type AgentServiceRegistration struct {
	// Kind is empty for a typical service, or a proxy or gateway kind.
	Kind ServiceKind
	// ID of the instance on this agent; empty means Name.
	ID string
	// Name of the service; required.
	Name            string
	Tags            []string
	Address         string
	TaggedAddresses map[string]ServiceAddress
	Meta            map[string]string
	Port            int
	SocketPath      string
	// Weights are the DNS SRV weights when passing and warning; nil means
	// Consul's default of {1, 1}.
	Weights           *Weights
	EnableTagOverride bool
	// Locality is the cloud region and zone the instance runs in.
	Locality *Locality
	// Check and Checks are the service's health checks; their IDs are sent
	// as Consul's CheckID, and an empty ID lets Consul name them
	// "service:<id>" (":1", ":2"... with several). Their Name may be empty.
	Check  *AgentCheckRegistration
	Checks []*AgentCheckRegistration
	// Proxy configures a connect-proxy or gateway Kind.
	Proxy *ServiceProxy
	// Connect makes the service Connect-native or gives it a sidecar.
	Connect *AgentServiceConnect
	// Token is the ACL token the agent uses for the service's anti-entropy
	// syncs (not the token of this call).
	Token     string
	Namespace string
	Partition string
}

// AgentServiceConnect is the Connect part of a service registration.
type AgentServiceConnect struct {
	// Native marks a service that speaks Connect itself.
	Native bool `json:",omitempty"`
	// SidecarService registers a sidecar proxy with the service; an empty
	// registration takes Consul's defaults for everything.
	SidecarService *AgentServiceRegistration `json:",omitempty"`
}

// agentServiceWire is the registration as Consul reads it; everything
// optional is left out, since Consul refuses unknown fields and the
// Enterprise-only ones on community agents.
type agentServiceWire struct {
	Kind              ServiceKind               `json:",omitempty"`
	ID                string                    `json:",omitempty"`
	Name              string                    `json:",omitempty"`
	Tags              []string                  `json:",omitempty"`
	Address           string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string         `json:",omitempty"`
	Port              int                       `json:",omitempty"`
	SocketPath        string                    `json:",omitempty"`
	Weights           *Weights                  `json:",omitempty"`
	EnableTagOverride bool                      `json:",omitempty"`
	Locality          *Locality                 `json:",omitempty"`
	Check             *agentServiceCheck        `json:",omitempty"`
	Checks            []agentServiceCheck       `json:",omitempty"`
	Proxy             *ServiceProxy             `json:",omitempty"`
	Connect           *AgentServiceConnect      `json:",omitempty"`
	Token             string                    `json:",omitempty"`
	Namespace         string                    `json:",omitempty"`
	Partition         string                    `json:",omitempty"`
}

// MarshalJSON writes the registration as PUT /v1/agent/service/register
// reads it. Hand-written, not generated: its checks go in their service
// shape (agentServiceCheck).
func (r AgentServiceRegistration) MarshalJSON() ([]byte, error) {
	w := agentServiceWire{
		Kind: r.Kind, ID: r.ID, Name: r.Name, Tags: r.Tags, Address: r.Address,
		TaggedAddresses: r.TaggedAddresses, Meta: r.Meta, Port: r.Port, SocketPath: r.SocketPath,
		Weights: r.Weights, EnableTagOverride: r.EnableTagOverride, Locality: r.Locality, Proxy: r.Proxy,
		Connect: r.Connect, Token: r.Token, Namespace: r.Namespace, Partition: r.Partition,
	}
	if r.Check != nil {
		w.Check = &agentServiceCheck{r.Check}
	}
	for _, c := range r.Checks {
		if c != nil {
			w.Checks = append(w.Checks, agentServiceCheck{c})
		}
	}
	return json.Marshal(w)
}

// validate refuses a registration Consul would refuse, naming the field.
func (r *AgentServiceRegistration) validate(prefix string, sidecar bool) error {
	if r.Name == "" && !sidecar {
		return argError(prefix+".Name", "empty")
	}
	if r.Port < 0 || r.Port > 65535 {
		return argError(prefix+".Port", "out of range: %d", r.Port)
	}
	if r.Weights != nil && r.Weights.Passing < 1 {
		return argError(prefix+".Weights.Passing", "must be at least 1, got %d", r.Weights.Passing)
	}
	if r.Weights != nil && r.Weights.Warning < 0 {
		return argError(prefix+".Weights.Warning", "negative")
	}
	if r.Check != nil {
		if err := r.Check.validate(prefix+".Check", true); err != nil {
			return err
		}
	}
	for i, c := range r.Checks {
		if c == nil {
			continue
		}
		if err := c.validate(prefix+".Checks["+strconv.Itoa(i)+"]", true); err != nil {
			return err
		}
	}
	if r.Connect != nil && r.Connect.SidecarService != nil {
		if sidecar {
			return argError(prefix+".Connect.SidecarService", "a sidecar cannot have a sidecar")
		}
		if err := r.Connect.SidecarService.validate(prefix+".Connect.SidecarService", true); err != nil {
			return err
		}
	}
	return nil
}

// AgentServiceHealth is a local service instance with its checks and their
// aggregated status, as the agent's local health endpoints return it.
type AgentServiceHealth struct {
	// AggregatedStatus is the worst status of Checks: HealthPassing,
	// HealthWarning, HealthCritical or HealthMaintenance.
	AggregatedStatus HealthStatus
	Service          *NodeService
	Checks           []*HealthCheck
}

var epServicesList = endpoint{name: "Services.List", method: http.MethodGet, route: "/v1/agent/services", opts: oFilter | oEnt, read: true}

// List returns the services registered on the local agent, by service ID
// (aioconsul's services.items): GET /v1/agent/services. It takes Filter;
// no service returns an empty map. It does not block.
func (s *ServicesService) List(ctx context.Context, opts ...Option) (map[string]*NodeService, *Meta, error) {
	out := map[string]*NodeService{}
	meta, err := s.client.call(ctx, &epServicesList, "/v1/agent/services", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = map[string]*NodeService{}
	}
	return out, meta, nil
}

var epServicesGet = endpoint{name: "Services.Get", method: http.MethodGet, route: "/v1/agent/service/:serviceID", opts: oHash | oEnt, read: true, notFoundOK: true}

// Get returns one service of the local agent by its ID: GET
// /v1/agent/service/:id. An ID the agent does not know returns (nil, meta,
// nil).
//
// It supports hash-based blocking: pass WaitHash(meta.ContentHash) (and
// WaitTime) to wait until the service changes. A service ID that is not
// one path segment (empty, "." or "..", with a '/' or a control character)
// is refused before sending.
func (s *ServicesService) Get(ctx context.Context, serviceID string, opts ...Option) (*NodeService, *Meta, error) {
	path, err := buildPath("/v1/agent/service/{serviceID}", serviceID)
	if err != nil {
		return nil, nil, err
	}
	var out *NodeService
	meta, err := s.client.call(ctx, &epServicesGet, path, nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

var epServicesRegister = endpoint{name: "Services.Register", method: http.MethodPut, route: "/v1/agent/service/register", opts: oEnt | 1<<optReplaceChecks}

// Register adds a service to the local agent, or replaces the service of
// the same ID (aioconsul's services.register): PUT
// /v1/agent/service/register. An empty Name, a bad port or weights, or a
// bad check (see ChecksService.Register) is refused before sending.
//
// Checks registered earlier with the service are kept unless they are
// listed again; ServicesReplaceChecks() removes those that are not.
func (s *ServicesService) Register(ctx context.Context, reg *AgentServiceRegistration, opts ...Option) error {
	if reg == nil {
		return argError("AgentServiceRegistration", "nil")
	}
	if err := reg.validate("AgentServiceRegistration", false); err != nil {
		return err
	}
	_, err := s.client.call(ctx, &epServicesRegister, "/v1/agent/service/register", nil, reg, opts, nil)
	return err
}

// ServicesReplaceChecks makes Services.Register remove the service's checks
// that the registration does not list (?replace-existing-checks).
func ServicesReplaceChecks() Option {
	return routeOption(optReplaceChecks, "replace-existing-checks", "true")
}

var epServicesDeregister = endpoint{name: "Services.Deregister", method: http.MethodPut, route: "/v1/agent/service/deregister/:serviceID", opts: oEnt}

// Deregister removes a service and its checks from the local agent
// (aioconsul's services.deregister): PUT /v1/agent/service/deregister/:id.
// An ID the agent does not know is a *StatusError matching ErrNotFound; an
// ID that is not one path segment is refused before sending.
func (s *ServicesService) Deregister(ctx context.Context, serviceID string, opts ...Option) error {
	path, err := buildPath("/v1/agent/service/deregister/{serviceID}", serviceID)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epServicesDeregister, path, nil, nil, opts, nil)
	return err
}

var epServicesEnableMaintenance = endpoint{name: "Services.EnableMaintenance", method: http.MethodPut, route: "/v1/agent/service/maintenance/:serviceID", opts: oEnt}

// EnableMaintenance puts a local service in maintenance mode with a reason
// (aioconsul's services.disable): PUT
// /v1/agent/service/maintenance/:id?enable=true&reason=. The agent adds a
// critical "_service_maintenance:<id>" check, so the service leaves DNS and
// healthy lists. An unknown ID is a *StatusError matching ErrNotFound; an
// ID that is not one path segment is refused before sending.
func (s *ServicesService) EnableMaintenance(ctx context.Context, serviceID, reason string, opts ...Option) error {
	return s.maintenance(ctx, &epServicesEnableMaintenance, serviceID, true, reason, opts)
}

var epServicesDisableMaintenance = endpoint{name: "Services.DisableMaintenance", method: http.MethodPut, route: "/v1/agent/service/maintenance/:serviceID", opts: oEnt}

// DisableMaintenance takes a local service out of maintenance mode
// (aioconsul's services.enable, whose reason Consul ignores): PUT
// /v1/agent/service/maintenance/:id?enable=false. An unknown ID is a
// *StatusError matching ErrNotFound; an ID that is not one path segment is
// refused before sending.
func (s *ServicesService) DisableMaintenance(ctx context.Context, serviceID string, opts ...Option) error {
	return s.maintenance(ctx, &epServicesDisableMaintenance, serviceID, false, "", opts)
}

func (s *ServicesService) maintenance(ctx context.Context, e *endpoint, serviceID string, enable bool, reason string, opts []Option) error {
	path, err := buildPath("/v1/agent/service/maintenance/{serviceID}", serviceID)
	if err != nil {
		return err
	}
	ps := []param{{"enable", strconv.FormatBool(enable)}}
	if reason != "" {
		ps = append(ps, param{"reason", reason})
	}
	_, err = s.client.call(ctx, e, path, ps, nil, opts, nil)
	return err
}

// The status codes of the local health endpoints, each with a JSON body.
var servicesHealthStatuses = []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}

var epServicesGetHealthByID = endpoint{name: "Services.GetHealthByID", method: http.MethodGet, route: "/v1/agent/health/service/id/:serviceID", opts: oEnt, read: true, notFoundOK: true, okStatuses: servicesHealthStatuses}

// GetHealthByID returns a local service instance with its checks and their
// aggregated status: GET /v1/agent/health/service/id/:id. Consul encodes
// the status in the answer's code (200 passing, 429 warning, 503 critical
// or maintenance); all three are results here, not errors. An ID the agent
// does not know returns (nil, meta, nil); an ID that is not one path
// segment is refused before sending. It does not block.
func (s *ServicesService) GetHealthByID(ctx context.Context, serviceID string, opts ...Option) (*AgentServiceHealth, *Meta, error) {
	path, err := buildPath("/v1/agent/health/service/id/{serviceID}", serviceID)
	if err != nil {
		return nil, nil, err
	}
	var out *AgentServiceHealth
	meta, err := s.client.call(ctx, &epServicesGetHealthByID, path, nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

var epServicesGetHealthByName = endpoint{name: "Services.GetHealthByName", method: http.MethodGet, route: "/v1/agent/health/service/name/:name", opts: oEnt, read: true, notFoundOK: true, okStatuses: servicesHealthStatuses}

// GetHealthByName returns the aggregated status of every local instance of a
// service, and the instances with their checks: GET
// /v1/agent/health/service/name/:name. The status is the worst of the
// instances' (maintenance, critical, warning, then passing); 429 and 503
// answers are results here, not errors. A name with no local instance
// returns "", an empty slice and a nil error; a name that is not one path
// segment is refused before sending. It does not block.
func (s *ServicesService) GetHealthByName(ctx context.Context, name string, opts ...Option) (HealthStatus, []*AgentServiceHealth, *Meta, error) {
	path, err := buildPath("/v1/agent/health/service/name/{name}", name)
	if err != nil {
		return "", nil, nil, err
	}
	var out []*AgentServiceHealth
	meta, err := s.client.call(ctx, &epServicesGetHealthByName, path, nil, nil, opts, &out)
	if err != nil {
		return "", nil, meta, err
	}
	if len(out) == 0 {
		return "", []*AgentServiceHealth{}, meta, nil
	}
	return servicesWorstStatus(out), out, meta, nil
}

// servicesWorstStatus ranks maintenance over critical over warning over
// passing.
func servicesWorstStatus(list []*AgentServiceHealth) HealthStatus {
	rank := func(s HealthStatus) int {
		switch s {
		case HealthPassing:
			return 0
		case HealthWarning:
			return 1
		case HealthCritical:
			return 2
		case HealthMaintenance:
			return 3
		}
		return 2 // an unknown status counts as critical
	}
	worst := HealthPassing
	for _, h := range list {
		if h != nil && rank(h.AggregatedStatus) > rank(worst) {
			worst = h.AggregatedStatus
		}
	}
	return worst
}
