package consul

import "encoding/json"

// ProxyConfigGlobal is the only name a proxy-defaults entry may have.
const ProxyConfigGlobal = "global"

// --- service-defaults ---

// ServiceDefaultsConfigEntry is a service-defaults entry: the defaults of
// every instance of one service, its protocol first.
type ServiceDefaultsConfigEntry struct {
	ConfigEntryHeader
	// Protocol is "tcp" (the default), "http", "http2" or "grpc".
	Protocol string `json:",omitempty"`
	// Mode is the proxy mode: "" (default), "direct" or "transparent".
	Mode             string                 `json:",omitempty"`
	TransparentProxy ConfigTransparentProxy `json:",omitempty"`
	// MutualTLSMode is "" (default), "strict" or "permissive".
	MutualTLSMode             string                 `json:",omitempty"`
	MeshGateway               ConfigMeshGateway      `json:",omitempty"`
	Expose                    ConfigExpose           `json:",omitempty"`
	ExternalSNI               string                 `json:",omitempty"`
	UpstreamConfig            *ConfigUpstreams       `json:",omitempty"`
	Destination               *ConfigDestination     `json:",omitempty"`
	MaxInboundConnections     int                    `json:",omitempty"`
	LocalConnectTimeoutMs     int                    `json:",omitempty"`
	LocalRequestTimeoutMs     int                    `json:",omitempty"`
	BalanceInboundConnections string                 `json:",omitempty"`
	RateLimits                *ConfigRateLimits      `json:",omitempty"`
	EnvoyExtensions           []ConfigEnvoyExtension `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ServiceDefaultsConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ServiceDefaultsConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindServiceDefaults, alias(e)})
}

func (*ServiceDefaultsConfigEntry) configKind() string { return ConfigKindServiceDefaults }

func (e *ServiceDefaultsConfigEntry) configCheck(typ string) error {
	return configCheckMeshGatewayMode(typ+".MeshGateway.Mode", e.MeshGateway.Mode)
}

// --- proxy-defaults ---

// ProxyConfigEntry is the proxy-defaults entry: the defaults of every
// proxy. Its Name must be ProxyConfigGlobal ("global").
type ProxyConfigEntry struct {
	ConfigEntryHeader
	// Config is opaque proxy configuration, e.g. {"protocol": "http"}.
	Config               map[string]any                       `json:",omitempty"`
	Mode                 string                               `json:",omitempty"`
	TransparentProxy     ConfigTransparentProxy               `json:",omitempty"`
	MutualTLSMode        string                               `json:",omitempty"`
	MeshGateway          ConfigMeshGateway                    `json:",omitempty"`
	Expose               ConfigExpose                         `json:",omitempty"`
	AccessLogs           ConfigAccessLogs                     `json:",omitempty"`
	EnvoyExtensions      []ConfigEnvoyExtension               `json:",omitempty"`
	FailoverPolicy       *ServiceResolverFailoverPolicy       `json:",omitempty"`
	PrioritizeByLocality *ServiceResolverPrioritizeByLocality `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ProxyConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ProxyConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindProxyDefaults, alias(e)})
}

func (*ProxyConfigEntry) configKind() string { return ConfigKindProxyDefaults }

func (e *ProxyConfigEntry) configCheck(typ string) error {
	return configCheckMeshGatewayMode(typ+".MeshGateway.Mode", e.MeshGateway.Mode)
}

// --- types of service-defaults and proxy-defaults ---

// ConfigExpose exposes paths of a service through its sidecar proxy without
// mTLS, e.g. for health checks or metrics.
type ConfigExpose struct {
	// Checks exposes the HTTP and gRPC checks of the service.
	Checks bool               `json:",omitempty"`
	Paths  []ConfigExposePath `json:",omitempty"`
}

// ConfigExposePath is one exposed path.
type ConfigExposePath struct {
	ListenerPort    int    `json:",omitempty"`
	Path            string `json:",omitempty"`
	LocalPathPort   int    `json:",omitempty"`
	Protocol        string `json:",omitempty"`
	ParsedFromCheck bool   `json:",omitempty"`
}

// ConfigAccessLogs configures the access logs of Envoy proxies.
type ConfigAccessLogs struct {
	Enabled             bool   `json:",omitempty"`
	DisableListenerLogs bool   `json:",omitempty"`
	Type                string `json:",omitempty"` // "file", "stdout" or "stderr"
	Path                string `json:",omitempty"`
	JSONFormat          string `json:",omitempty"`
	TextFormat          string `json:",omitempty"`
}

// ConfigUpstreams is the upstream configuration of service-defaults: the
// defaults of every upstream and overrides for some of them.
type ConfigUpstreams struct {
	Overrides []*ConfigUpstream `json:",omitempty"`
	Defaults  *ConfigUpstream   `json:",omitempty"`
}

// ConfigUpstream configures how a service's proxy reaches an upstream. Name,
// Namespace, Partition and Peer identify the upstream in overrides only.
type ConfigUpstream struct {
	Name                       string                    `json:",omitempty"`
	Namespace                  string                    `json:",omitempty"`
	Partition                  string                    `json:",omitempty"`
	Peer                       string                    `json:",omitempty"`
	EnvoyListenerJSON          string                    `json:",omitempty"`
	EnvoyClusterJSON           string                    `json:",omitempty"`
	Protocol                   string                    `json:",omitempty"`
	ConnectTimeoutMs           int                       `json:",omitempty"`
	Limits                     *ConfigUpstreamLimits     `json:",omitempty"`
	PassiveHealthCheck         *ConfigPassiveHealthCheck `json:",omitempty"`
	MeshGateway                ConfigMeshGateway         `json:",omitempty"`
	BalanceOutboundConnections string                    `json:",omitempty"`
}

// ConfigUpstreamLimits are connection limits of a proxy towards an
// upstream; nil means Envoy's default.
type ConfigUpstreamLimits struct {
	MaxConnections        *int `json:",omitempty"`
	MaxPendingRequests    *int `json:",omitempty"`
	MaxConcurrentRequests *int `json:",omitempty"`
}

// through a terminating gateway in transparent proxy mode.
type ConfigDestination struct {
	Addresses []string `json:",omitempty"`
	Port      int      `json:",omitempty"`
}

// ConfigRateLimits limits the inbound requests of each instance of a
// service (Consul Enterprise).
type ConfigRateLimits struct {
	InstanceLevel ConfigInstanceRateLimits
}

// ConfigInstanceRateLimits are the per-instance limits, with overrides per
// route.
type ConfigInstanceRateLimits struct {
	RequestsPerSecond int                     `json:",omitempty"`
	RequestsMaxBurst  int                     `json:",omitempty"`
	Routes            []ConfigRouteRateLimits `json:",omitempty"`
}

// ConfigRouteRateLimits are the limits of requests matching one path.
type ConfigRouteRateLimits struct {
	PathExact         string `json:",omitempty"`
	PathPrefix        string `json:",omitempty"`
	PathRegex         string `json:",omitempty"`
	RequestsPerSecond int    `json:",omitempty"`
	RequestsMaxBurst  int    `json:",omitempty"`
}
