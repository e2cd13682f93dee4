package consul

import (
	"strings"
	"time"
)

// The shared discovery types: nodes, service instances and health checks,
// as the agent, catalog, health and prepared-query endpoints return them.
// (The types of every call, Option and Meta, are in typing.go.)

// HealthStatus is the status of a health check, or the aggregated status
// of a service instance: passing, warning or critical, and maintenance for
// an instance or node in maintenance mode.
type HealthStatus string

// The health statuses.
const (
	HealthPassing  HealthStatus = "passing"
	HealthWarning  HealthStatus = "warning"
	HealthCritical HealthStatus = "critical"
	// HealthMaintenance is the aggregated status of an instance or a node
	// in maintenance mode (whose maintenance check is critical).
	HealthMaintenance HealthStatus = "maintenance"
	// HealthAny is no status: a filter of Health.ListChecksInState only,
	// for the checks in every state.
	HealthAny HealthStatus = "any"
)

// ServiceKind is the kind of a service; the empty kind is a typical service.
type ServiceKind string

// The service kinds of Consul 1.19.
const (
	ServiceKindTypical            ServiceKind = ""
	ServiceKindConnectProxy       ServiceKind = "connect-proxy"
	ServiceKindMeshGateway        ServiceKind = "mesh-gateway"
	ServiceKindTerminatingGateway ServiceKind = "terminating-gateway"
	ServiceKindIngressGateway     ServiceKind = "ingress-gateway"
	ServiceKindAPIGateway         ServiceKind = "api-gateway"
	ServiceKindDestination        ServiceKind = "destination"
)

// Locality is where a node or service runs, as its cloud region and zone.
type Locality struct {
	Region string `json:",omitempty"`
	Zone   string `json:",omitempty"`
}

// Node is a node of the catalog.
type Node struct {
	ID              string `json:",omitempty"`
	Node            string
	Address         string
	Datacenter      string            `json:",omitempty"`
	Partition       string            `json:",omitempty"`
	PeerName        string            `json:",omitempty"`
	TaggedAddresses map[string]string `json:",omitempty"`
	Meta            map[string]string `json:",omitempty"`
	Locality        *Locality         `json:",omitempty"`
	CreateIndex     uint64            `json:",omitempty"`
	ModifyIndex     uint64            `json:",omitempty"`
}

// ServiceAddress is one of a service's tagged addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// Weights are a service instance's DNS SRV weights by health.
type Weights struct {
	Passing int
	Warning int
}

// ServiceProxy is the proxy configuration of a connect-proxy service.
type ServiceProxy struct {
	DestinationServiceName string          `json:",omitempty"`
	DestinationServiceID   string          `json:",omitempty"`
	LocalServiceAddress    string          `json:",omitempty"`
	LocalServicePort       int             `json:",omitempty"`
	LocalServiceSocketPath string          `json:",omitempty"`
	Mode                   string          `json:",omitempty"`
	Config                 map[string]any  `json:",omitempty"`
	Upstreams              []ProxyUpstream `json:",omitempty"`
}

// ProxyUpstream is one upstream of a connect proxy.
type ProxyUpstream struct {
	DestinationType      string         `json:",omitempty"`
	DestinationNamespace string         `json:",omitempty"`
	DestinationPartition string         `json:",omitempty"`
	DestinationPeer      string         `json:",omitempty"`
	DestinationName      string         `json:",omitempty"`
	Datacenter           string         `json:",omitempty"`
	LocalBindAddress     string         `json:",omitempty"`
	LocalBindPort        int            `json:",omitempty"`
	Config               map[string]any `json:",omitempty"`
}

// ServiceConnect says whether a service is Connect-native.
type ServiceConnect struct {
	Native bool `json:",omitempty"`
}

// NodeService is one service instance on a node (Consul's NodeService): the
// agent's services, a node's services in the catalog, and the Service of a
// health ServiceEntry.
type NodeService struct {
	Kind              ServiceKind `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string                  `json:",omitempty"`
	Address           string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string         `json:",omitempty"`
	Port              int                       `json:",omitempty"`
	SocketPath        string                    `json:",omitempty"`
	Weights           *Weights                  `json:",omitempty"`
	EnableTagOverride bool                      `json:",omitempty"`
	Locality          *Locality                 `json:",omitempty"`
	Proxy             *ServiceProxy             `json:",omitempty"`
	Connect           *ServiceConnect           `json:",omitempty"`
	PeerName          string                    `json:",omitempty"`
	Namespace         string                    `json:",omitempty"`
	Partition         string                    `json:",omitempty"`
	Datacenter        string                    `json:",omitempty"`
	// ContentHash is set by the agent's own service endpoints.
	ContentHash string `json:",omitempty"`
	CreateIndex uint64 `json:",omitempty"`
	ModifyIndex uint64 `json:",omitempty"`
}

// ServiceNode is one instance of a service as the catalog lists it
// (GET /v1/catalog/service/:name): the node's fields and the service's,
// flattened.
type ServiceNode struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              ServiceKind
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceWeights           Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceSocketPath        string
	ServiceEnableTagOverride bool
	ServiceProxy             *ServiceProxy   `json:",omitempty"`
	ServiceConnect           *ServiceConnect `json:",omitempty"`
	ServiceLocality          *Locality       `json:",omitempty"`
	PeerName                 string          `json:",omitempty"`
	Namespace                string          `json:",omitempty"`
	Partition                string          `json:",omitempty"`
	CreateIndex              uint64
	ModifyIndex              uint64
}

// HealthCheck is a check and its current status (Consul's HealthCheck).
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      HealthStatus // HealthPassing, HealthWarning or HealthCritical
	Notes       string       `json:",omitempty"`
	Output      string       `json:",omitempty"`
	ServiceID   string       `json:",omitempty"`
	ServiceName string       `json:",omitempty"`
	ServiceTags []string
	Type        string `json:",omitempty"`
	// Interval and Timeout come from the check's definition.
	Interval    time.Duration          `json:",omitempty"`
	Timeout     time.Duration          `json:",omitempty"`
	ExposedPort int                    `json:",omitempty"`
	PeerName    string                 `json:",omitempty"`
	Definition  *HealthCheckDefinition `json:",omitempty"`
	Namespace   string                 `json:",omitempty"`
	Partition   string                 `json:",omitempty"`
	CreateIndex uint64                 `json:",omitempty"`
	ModifyIndex uint64                 `json:",omitempty"`
}

// HealthCheckDefinition is how a check is run, as the catalog stores it.
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	DisableRedirects               bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	H2PingUseTLS                   bool                `json:",omitempty"`
	OSService                      string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	OutputMaxSize                  uint                `json:",omitempty"`
	Interval                       time.Duration       `json:",omitempty"`
	Timeout                        time.Duration       `json:",omitempty"`
	TTL                            time.Duration       `json:",omitempty"`
	DeregisterCriticalServiceAfter time.Duration       `json:",omitempty"`
}

// ServiceEntry is one healthy-or-not instance of a service with its node
// and checks (GET /v1/health/service/:name, prepared query results).
type ServiceEntry struct {
	Node    *Node
	Service *NodeService
	Checks  []*HealthCheck
}

// AggregatedStatus returns the worst status of the entry's checks:
// maintenance, critical, warning, then passing (also for no check).
func (e *ServiceEntry) AggregatedStatus() HealthStatus {
	return aggregateStatus(e.Checks)
}

func aggregateStatus(checks []*HealthCheck) HealthStatus {
	var warning, critical, maint bool
	for _, c := range checks {
		id := c.CheckID
		if id == "_node_maintenance" || strings.HasPrefix(id, "_service_maintenance:") {
			maint = true
			continue
		}
		switch c.Status {
		case HealthWarning:
			warning = true
		case HealthCritical:
			critical = true
		case HealthMaintenance:
			maint = true
		}
	}
	switch {
	case maint:
		return HealthMaintenance
	case critical:
		return HealthCritical
	case warning:
		return HealthWarning
	}
	return HealthPassing
}
