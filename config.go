package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The kinds of configuration entries Consul 1.19 knows. Typed structs exist
// for the common ones (see DecodeConfigEntry); the others are read and
// written as *RawConfigEntry.
const (
	ConfigKindServiceDefaults          = "service-defaults"
	ConfigKindProxyDefaults            = "proxy-defaults"
	ConfigKindServiceRouter            = "service-router"
	ConfigKindServiceSplitter          = "service-splitter"
	ConfigKindServiceResolver          = "service-resolver"
	ConfigKindIngressGateway           = "ingress-gateway"
	ConfigKindTerminatingGateway       = "terminating-gateway"
	ConfigKindServiceIntentions        = "service-intentions"
	ConfigKindMesh                     = "mesh"
	ConfigKindExportedServices         = "exported-services"
	ConfigKindSamenessGroup            = "sameness-group"
	ConfigKindAPIGateway               = "api-gateway"
	ConfigKindBoundAPIGateway          = "bound-api-gateway"
	ConfigKindHTTPRoute                = "http-route"
	ConfigKindTCPRoute                 = "tcp-route"
	ConfigKindInlineCertificate        = "inline-certificate"
	ConfigKindFileSystemCertificate    = "file-system-certificate"
	ConfigKindControlPlaneRequestLimit = "control-plane-request-limit"
	ConfigKindJWTProvider              = "jwt-provider"
)

// ProxyConfigGlobal is the only name a proxy-defaults entry may have.
const ProxyConfigGlobal = "global"

// MeshConfigName is the name of the one mesh entry (of each partition).
const MeshConfigName = "mesh"

// ConfigEntry is a configuration entry of any kind: one of the typed
// structs of this package (*ServiceDefaultsConfigEntry,
// *ServiceResolverConfigEntry...) or a *RawConfigEntry for kinds without
// one. Each of them embeds a ConfigEntryHeader, whose Header method is the
// interface's only method.
//
// A type of your own may implement it too, by embedding ConfigEntryHeader;
// its JSON must then be the entry as Consul's HTTP API takes it, Kind
// included.
type ConfigEntry interface {
	// Header returns the fields every entry has: kind, name, partition,
	// namespace, meta and Raft indexes.
	Header() *ConfigEntryHeader
}

// ConfigEntryHeader holds the fields every configuration entry has. Every
// entry type of this package embeds it, so that they read as the entry's
// own fields (entry.Name, entry.ModifyIndex) and keep their place in the
// entry's JSON, and it implements ConfigEntry once for all of them.
//
// Build an entry with it by name:
//
//	&consul.ServiceDefaultsConfigEntry{
//		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"},
//		Protocol:          "http",
//	}
type ConfigEntryHeader struct {
	// Kind is the entry's kind (ConfigKindServiceDefaults...). Entries read
	// from Consul have it. A typed struct always writes its own kind and
	// needs no Kind; a Kind of another kind is refused before sending. A
	// RawConfigEntry must have one.
	Kind string `json:",omitempty"`
	// Name is the entry's name: a service's name for the service-* kinds,
	// ProxyConfigGlobal for proxy-defaults, MeshConfigName for mesh (which
	// a MeshConfigEntry reads as such and never sends).
	Name string
	// Partition and Namespace (Consul Enterprise) place the entry.
	Partition string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	// Meta is free metadata.
	Meta map[string]string `json:",omitempty"`
	// CreateIndex and ModifyIndex are Consul's Raft indexes of the entry,
	// set on entries read from Consul; pass ModifyIndex to PutCAS or
	// DeleteCAS.
	CreateIndex uint64 `json:",omitempty"`
	ModifyIndex uint64 `json:",omitempty"`
}

// Header returns h itself: an entry embedding a ConfigEntryHeader
// implements ConfigEntry with it.
func (h *ConfigEntryHeader) Header() *ConfigEntryHeader { return h }

// ConfigEntriesService manages configuration entries (/v1/config) and reads
// what Consul compiles from them: discovery chains (/v1/discovery-chain/)
// and exported services (/v1/exported-services).
//
// Entries are polymorphic by kind: Get and List return ConfigEntry values
// whose dynamic type is picked by DecodeConfigEntry, so a type switch reads
// them:
//
//	entry, _, err := client.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, "web")
//	if sd, ok := entry.(*consul.ServiceDefaultsConfigEntry); ok {
//		fmt.Println(sd.Protocol)
//	}
type ConfigEntriesService service

// Put creates or replaces a configuration entry: PUT /v1/config. The
// entry's kind and name are refused before sending when empty (a mesh
// entry's name is always "mesh"). An entry Consul did not store is an
// error.
func (s *ConfigEntriesService) Put(ctx context.Context, entry ConfigEntry, opts ...Option) error {
	ok, err := s.apply(ctx, entry, nil, opts)
	if err == nil && !ok {
		return fmt.Errorf("consul: PUT /v1/config: the entry was not applied")
	}
	return err
}

// PutCAS writes a configuration entry only if its ModifyIndex is still
// index: PUT /v1/config?cas=index. An index of 0 writes only if the entry
// does not exist yet. It returns false, and no error, when the index did not
// match. Consul skips writing an entry identical to the stored one and then
// returns true whatever the index.
func (s *ConfigEntriesService) PutCAS(ctx context.Context, entry ConfigEntry, index uint64, opts ...Option) (bool, error) {
	return s.apply(ctx, entry, []param{{"cas", strconv.FormatUint(index, 10)}}, opts)
}

func (s *ConfigEntriesService) apply(ctx context.Context, entry ConfigEntry, ps []param, opts []Option) (bool, error) {
	if err := configCheckEntry(entry); err != nil {
		return false, err
	}
	var ok bool
	_, err := s.client.write(ctx, http.MethodPut, "/v1/config", ps, entry, opts, &ok)
	return ok, err
}

// Get reads one configuration entry: GET /v1/config/:kind/:name. The value
// is the typed struct of its kind (see DecodeConfigEntry).
//
// An entry that does not exist returns (nil, meta, nil): meta.Index can be
// passed to WaitIndex to block until it is created. A kind or name that is
// not one path segment (empty, "." or "..", with a '/' or a control
// character) is refused before sending. Get supports blocking and
// consistency options.
func (s *ConfigEntriesService) Get(ctx context.Context, kind, name string, opts ...Option) (ConfigEntry, *Meta, error) {
	path, err := configEntryPath(kind, name)
	if err != nil {
		return nil, nil, err
	}
	var raw json.RawMessage
	meta, err := s.client.getOptional(ctx, path, nil, opts, &raw)
	if err != nil || len(raw) == 0 {
		return nil, meta, err
	}
	entry, err := DecodeConfigEntry(raw)
	if err != nil {
		return nil, meta, fmt.Errorf("consul: GET %s: %w", path, err)
	}
	return entry, meta, nil
}

// List reads every configuration entry of one kind: GET /v1/config/:kind.
// No entry of the kind returns an empty slice; an unknown kind is a
// *StatusError (Consul answers 500); a kind that is not one path segment is
// refused before sending. It supports blocking and consistency options.
func (s *ConfigEntriesService) List(ctx context.Context, kind string, opts ...Option) ([]ConfigEntry, *Meta, error) {
	path, err := buildPath("/v1/config/{kind}", kind)
	if err != nil {
		return nil, nil, err
	}
	var raws []json.RawMessage
	meta, err := s.client.get(ctx, path, nil, opts, &raws)
	if err != nil {
		return nil, meta, err
	}
	out := make([]ConfigEntry, 0, len(raws))
	for i, raw := range raws {
		entry, err := DecodeConfigEntry(raw)
		if err != nil {
			return nil, meta, fmt.Errorf("consul: GET %s: entry %d: %w", path, i, err)
		}
		out = append(out, entry)
	}
	return out, meta, nil
}

// Delete deletes a configuration entry: DELETE /v1/config/:kind/:name.
// Deleting an entry that does not exist is not an error. A kind or name
// that is not one path segment is refused before sending.
func (s *ConfigEntriesService) Delete(ctx context.Context, kind, name string, opts ...Option) error {
	path, err := configEntryPath(kind, name)
	if err != nil {
		return err
	}
	_, err = s.client.write(ctx, http.MethodDelete, path, nil, nil, opts, nil)
	return err
}

// DeleteCAS deletes a configuration entry only if its ModifyIndex is still
// index: DELETE /v1/config/:kind/:name?cas=index. It returns false, and no
// error, when the index did not match. Consul reports true for an entry that
// does not exist (there is nothing left to delete). A kind or name that is
// not one path segment is refused before sending.
func (s *ConfigEntriesService) DeleteCAS(ctx context.Context, kind, name string, index uint64, opts ...Option) (bool, error) {
	path, err := configEntryPath(kind, name)
	if err != nil {
		return false, err
	}
	var ok bool
	_, err = s.client.write(ctx, http.MethodDelete, path, []param{{"cas", strconv.FormatUint(index, 10)}}, nil, opts, &ok)
	return ok, err
}

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
	r := request{method: http.MethodGet, path: path, read: true}
	if opt != nil {
		if opt.OverrideConnectTimeout < 0 {
			return nil, nil, argError("DiscoveryChainOptions.OverrideConnectTimeout", "negative duration %s", opt.OverrideConnectTimeout)
		}
		if err := configCheckMeshGatewayMode("DiscoveryChainOptions.OverrideMeshGateway.Mode", opt.OverrideMeshGateway.Mode); err != nil {
			return nil, nil, err
		}
		if opt.EvaluateInDatacenter != "" {
			r.params = []param{{"compile-dc", opt.EvaluateInDatacenter}}
		}
		if opt.OverrideMeshGateway.Mode != "" || opt.OverrideProtocol != "" || opt.OverrideConnectTimeout != 0 {
			r.method = http.MethodPost
			body := configChainOverrides{
				OverrideProtocol:       opt.OverrideProtocol,
				OverrideConnectTimeout: duration(opt.OverrideConnectTimeout),
			}
			if opt.OverrideMeshGateway.Mode != "" {
				body.OverrideMeshGateway = &opt.OverrideMeshGateway
			}
			r.body = body
		}
	}
	var out struct{ Chain *CompiledDiscoveryChain }
	meta, err := s.client.call(ctx, r, opts, &out)
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

// ResolvedExportedService is a service exported from this partition, with
// wildcards and sameness groups of the exported-services entries resolved
// into its consumers.
type ResolvedExportedService struct {
	Service   string
	Partition string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	Consumers ResolvedExportedConsumers
}

// ResolvedExportedConsumers are the peers and partitions a service is
// exported to.
type ResolvedExportedConsumers struct {
	Peers      []string `json:",omitempty"`
	Partitions []string `json:",omitempty"`
}

// ListExportedServices lists the services exported from the partition (the
// client's, or the one of a Partition option): GET /v1/exported-services.
// Nothing exported returns an empty slice. It supports blocking and
// consistency options.
func (s *ConfigEntriesService) ListExportedServices(ctx context.Context, opts ...Option) ([]ResolvedExportedService, *Meta, error) {
	var out []ResolvedExportedService
	meta, err := s.client.get(ctx, "/v1/exported-services", nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []ResolvedExportedService{}
	}
	return out, meta, nil
}

// --- validation and paths ---

// configEntryPath is the path of one entry, /v1/config/:kind/:name.
func configEntryPath(kind, name string) (string, error) {
	return buildPath("/v1/config/{kind}/{name}", kind, name)
}

// configCheckEntry refuses an entry that Consul would refuse for want of a
// kind or a name, or whose durations are negative.
func configCheckEntry(entry ConfigEntry) error {
	if entry == nil {
		return argError("entry", "nil")
	}
	if v := reflect.ValueOf(entry); v.Kind() == reflect.Pointer && v.IsNil() {
		return argError("entry", "nil %T", entry)
	}
	typ := strings.TrimPrefix(strings.TrimPrefix(fmt.Sprintf("%T", entry), "*"), "consul.")
	h := entry.Header()
	if h == nil {
		return argError(typ+".Header()", "nil")
	}
	switch kind := configTypedKind(entry); {
	case kind == "" && h.Kind == "":
		return argError(typ+".Kind", "empty")
	case kind != "" && h.Kind != "" && h.Kind != kind:
		return argError(typ+".Kind", "%q is not the kind of a %s (%s)", h.Kind, typ, kind)
	}
	if _, mesh := entry.(*MeshConfigEntry); !mesh && h.Name == "" {
		return argError(typ+".Name", "empty")
	}
	switch e := entry.(type) {
	case *ServiceResolverConfigEntry:
		if e.ConnectTimeout < 0 {
			return argError(typ+".ConnectTimeout", "negative duration %s", e.ConnectTimeout)
		}
		if e.RequestTimeout < 0 {
			return argError(typ+".RequestTimeout", "negative duration %s", e.RequestTimeout)
		}
	case *ServiceRouterConfigEntry:
		for i, r := range e.Routes {
			if d := r.Destination; d != nil {
				if d.RequestTimeout < 0 {
					return argError(fmt.Sprintf("%s.Routes[%d].Destination.RequestTimeout", typ, i), "negative duration %s", d.RequestTimeout)
				}
				if d.IdleTimeout < 0 {
					return argError(fmt.Sprintf("%s.Routes[%d].Destination.IdleTimeout", typ, i), "negative duration %s", d.IdleTimeout)
				}
			}
		}
	case *ServiceDefaultsConfigEntry:
		return configCheckMeshGatewayMode(typ+".MeshGateway.Mode", e.MeshGateway.Mode)
	case *ProxyConfigEntry:
		return configCheckMeshGatewayMode(typ+".MeshGateway.Mode", e.MeshGateway.Mode)
	}
	return nil
}

// configTypedKind is the kind a typed struct of this package always
// writes, or "" for a RawConfigEntry and types of other packages, whose
// kind is their Header's.
func configTypedKind(entry ConfigEntry) string {
	switch entry.(type) {
	case *ServiceDefaultsConfigEntry:
		return ConfigKindServiceDefaults
	case *ProxyConfigEntry:
		return ConfigKindProxyDefaults
	case *ServiceRouterConfigEntry:
		return ConfigKindServiceRouter
	case *ServiceSplitterConfigEntry:
		return ConfigKindServiceSplitter
	case *ServiceResolverConfigEntry:
		return ConfigKindServiceResolver
	case *IngressGatewayConfigEntry:
		return ConfigKindIngressGateway
	case *TerminatingGatewayConfigEntry:
		return ConfigKindTerminatingGateway
	case *ServiceIntentionsConfigEntry:
		return ConfigKindServiceIntentions
	case *MeshConfigEntry:
		return ConfigKindMesh
	case *ExportedServicesConfigEntry:
		return ConfigKindExportedServices
	case *SamenessGroupConfigEntry:
		return ConfigKindSamenessGroup
	}
	return ""
}

func configCheckMeshGatewayMode(field, mode string) error {
	switch mode {
	case "", "none", "local", "remote":
		return nil
	}
	return argError(field, "unknown mode %q (want \"\", none, local or remote)", mode)
}

// --- decoding by kind ---

// DecodeConfigEntry decodes one configuration entry from the JSON of
// Consul's HTTP API, picking the struct by its Kind: service-defaults gives
// a *ServiceDefaultsConfigEntry, proxy-defaults a *ProxyConfigEntry,
// service-router, service-splitter and service-resolver a
// *ServiceRouterConfigEntry, *ServiceSplitterConfigEntry and
// *ServiceResolverConfigEntry, ingress-gateway and terminating-gateway an
// *IngressGatewayConfigEntry and a *TerminatingGatewayConfigEntry,
// service-intentions a *ServiceIntentionsConfigEntry, mesh a
// *MeshConfigEntry, exported-services an *ExportedServicesConfigEntry,
// sameness-group a *SamenessGroupConfigEntry, and every other kind a
// *RawConfigEntry that keeps all of the JSON.
func DecodeConfigEntry(data []byte) (ConfigEntry, error) {
	var head struct {
		Kind  string
		Kind2 string `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode config entry: %w", err)
	}
	kind := head.Kind
	if kind == "" {
		kind = head.Kind2
	}
	var entry ConfigEntry
	switch kind {
	case "":
		return nil, fmt.Errorf("decode config entry: no Kind")
	case ConfigKindServiceDefaults:
		entry = &ServiceDefaultsConfigEntry{}
	case ConfigKindProxyDefaults:
		entry = &ProxyConfigEntry{}
	case ConfigKindServiceRouter:
		entry = &ServiceRouterConfigEntry{}
	case ConfigKindServiceSplitter:
		entry = &ServiceSplitterConfigEntry{}
	case ConfigKindServiceResolver:
		entry = &ServiceResolverConfigEntry{}
	case ConfigKindIngressGateway:
		entry = &IngressGatewayConfigEntry{}
	case ConfigKindTerminatingGateway:
		entry = &TerminatingGatewayConfigEntry{}
	case ConfigKindServiceIntentions:
		entry = &ServiceIntentionsConfigEntry{}
	case ConfigKindMesh:
		entry = &MeshConfigEntry{}
	case ConfigKindExportedServices:
		entry = &ExportedServicesConfigEntry{}
	case ConfigKindSamenessGroup:
		entry = &SamenessGroupConfigEntry{}
	default:
		entry = &RawConfigEntry{}
	}
	if err := json.Unmarshal(data, entry); err != nil {
		return nil, fmt.Errorf("decode %s config entry: %w", kind, err)
	}
	return entry, nil
}

// RawConfigEntry is a configuration entry of a kind without a typed struct
// here (api-gateway, http-route, tcp-route, inline-certificate,
// jwt-provider, control-plane-request-limit...), or of any kind when you
// want the JSON as is.
//
// Fields holds the whole entry as Consul sends it (numbers as json.Number,
// so that they round-trip exactly). When it is written, Fields is sent with
// Kind and Name set from the struct fields, and Namespace, Partition and
// Meta too when they are set.
type RawConfigEntry struct {
	ConfigEntryHeader
	// Fields is the entry as JSON fields, e.g. {"Listeners": [...]}.
	Fields map[string]any
}

// MarshalJSON writes Fields with the struct's Kind, Name, Namespace,
// Partition and Meta over them.
func (e RawConfigEntry) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.Fields)+5)
	for k, v := range e.Fields {
		m[k] = v
	}
	m["Kind"] = e.Kind
	if e.Name != "" {
		m["Name"] = e.Name
	}
	if e.Namespace != "" {
		m["Namespace"] = e.Namespace
	}
	if e.Partition != "" {
		m["Partition"] = e.Partition
	}
	if e.Meta != nil {
		m["Meta"] = e.Meta
	}
	return json.Marshal(m)
}

// UnmarshalJSON keeps every field in Fields and copies the common ones to
// the struct.
func (e *RawConfigEntry) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return err
	}
	var h ConfigEntryHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return err
	}
	*e = RawConfigEntry{ConfigEntryHeader: h, Fields: fields}
	return nil
}

// --- types shared by several kinds ---

// ConfigMeshGateway says how traffic to other datacenters and peers goes
// through mesh gateways. Mode is "" (inherit), "none", "local" or "remote".
type ConfigMeshGateway struct {
	Mode string `json:",omitempty"`
}

// ConfigTransparentProxy configures transparent proxying.
type ConfigTransparentProxy struct {
	OutboundListenerPort int  `json:",omitempty"`
	DialedDirectly       bool `json:",omitempty"`
}

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

// ConfigEnvoyExtension is an Envoy extension applied to proxies.
type ConfigEnvoyExtension struct {
	Name          string
	Required      bool           `json:",omitempty"`
	Arguments     map[string]any `json:",omitempty"`
	ConsulVersion string         `json:",omitempty"`
	EnvoyVersion  string         `json:",omitempty"`
}

// ConfigHTTPHeaderModifiers adds, sets and removes HTTP headers.
type ConfigHTTPHeaderModifiers struct {
	Add    map[string]string `json:",omitempty"`
	Set    map[string]string `json:",omitempty"`
	Remove []string          `json:",omitempty"`
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

// ConfigPassiveHealthCheck is outlier detection: how upstream instances are
// removed from the load balancing pool.
type ConfigPassiveHealthCheck struct {
	Interval                time.Duration
	MaxFailures             uint32  `json:",omitempty"`
	EnforcingConsecutive5xx *uint32 `json:",omitempty"`
	MaxEjectionPercent      *uint32 `json:",omitempty"`
	BaseEjectionTime        *time.Duration
}

// MarshalJSON writes the durations in Consul's "10s" form.
func (c ConfigPassiveHealthCheck) MarshalJSON() ([]byte, error) {
	type alias ConfigPassiveHealthCheck
	w := struct {
		alias
		Interval         duration  `json:",omitempty"`
		BaseEjectionTime *duration `json:",omitempty"`
	}{alias: alias(c), Interval: duration(c.Interval)}
	if c.BaseEjectionTime != nil {
		d := duration(*c.BaseEjectionTime)
		w.BaseEjectionTime = &d
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads durations as strings or nanoseconds.
func (c *ConfigPassiveHealthCheck) UnmarshalJSON(b []byte) error {
	type alias ConfigPassiveHealthCheck
	w := struct {
		*alias
		Interval         duration
		BaseEjectionTime *duration
	}{alias: (*alias)(c)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	c.Interval = time.Duration(w.Interval)
	c.BaseEjectionTime = nil
	if w.BaseEjectionTime != nil {
		d := time.Duration(*w.BaseEjectionTime)
		c.BaseEjectionTime = &d
	}
	return nil
}

// ConfigDestination is the address of a service outside the mesh, reached
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

// --- service-intentions ---

// ServiceIntentionsConfigEntry is a service-intentions entry: every
// intention whose destination is the service Name ("*" for all).
type ServiceIntentionsConfigEntry struct {
	ConfigEntryHeader
	Sources []*ServiceIntentionsSource `json:",omitempty"`
	JWT     *ServiceIntentionsJWT      `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ServiceIntentionsConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ServiceIntentionsConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindServiceIntentions, alias(e)})
}

// ServiceIntentionsSource is one intention: a source and either an Action
// (L4) or Permissions (L7).
type ServiceIntentionsSource struct {
	Name          string
	Namespace     string `json:",omitempty"`
	Partition     string `json:",omitempty"`
	Peer          string `json:",omitempty"`
	SamenessGroup string `json:",omitempty"`
	// Action is "allow" or "deny"; empty when Permissions are set.
	Action      string                         `json:",omitempty"`
	Permissions []*ServiceIntentionsPermission `json:",omitempty"`
	// Precedence is computed by Consul; it is ignored on writes.
	Precedence int `json:",omitempty"`
	// Type is "consul" (the default).
	Type             string            `json:",omitempty"`
	Description      string            `json:",omitempty"`
	LegacyID         string            `json:",omitempty"`
	LegacyMeta       map[string]string `json:",omitempty"`
	LegacyCreateTime *time.Time        `json:",omitempty"`
	LegacyUpdateTime *time.Time        `json:",omitempty"`
}

// ServiceIntentionsPermission is an L7 rule: an action for the requests
// that match.
type ServiceIntentionsPermission struct {
	Action string                           // "allow" or "deny"
	HTTP   *ServiceIntentionsHTTPPermission `json:",omitempty"`
	JWT    *ServiceIntentionsJWT            `json:",omitempty"`
}

// ServiceIntentionsHTTPPermission matches HTTP requests.
type ServiceIntentionsHTTPPermission struct {
	PathExact  string                              `json:",omitempty"`
	PathPrefix string                              `json:",omitempty"`
	PathRegex  string                              `json:",omitempty"`
	Header     []ServiceIntentionsHeaderPermission `json:",omitempty"`
	Methods    []string                            `json:",omitempty"`
}

// ServiceIntentionsHeaderPermission matches one request header.
type ServiceIntentionsHeaderPermission struct {
	Name    string
	Present bool   `json:",omitempty"`
	Exact   string `json:",omitempty"`
	Prefix  string `json:",omitempty"`
	Suffix  string `json:",omitempty"`
	Regex   string `json:",omitempty"`
	Invert  bool   `json:",omitempty"`
}

// ServiceIntentionsJWT requires a JWT from one of the providers.
type ServiceIntentionsJWT struct {
	Providers []*ServiceIntentionsJWTProvider `json:",omitempty"`
}

// ServiceIntentionsJWTProvider names a jwt-provider entry and the claims
// to verify.
type ServiceIntentionsJWTProvider struct {
	Name         string                       `json:",omitempty"`
	VerifyClaims []*ServiceIntentionsJWTClaim `json:",omitempty"`
}

// ServiceIntentionsJWTClaim is a claim (by its JSON path) and its value.
type ServiceIntentionsJWTClaim struct {
	Path  []string `json:",omitempty"`
	Value string   `json:",omitempty"`
}

// --- mesh ---

// MeshConfigEntry is the mesh entry: mesh-wide settings. There is one per
// partition and its name is always MeshConfigName ("mesh"): Consul's mesh
// entry has no Name field, so Name is never sent, and an entry read is
// given MeshConfigName.
type MeshConfigEntry struct {
	ConfigEntryHeader
	TransparentProxy                 MeshConfigTransparentProxy `json:",omitempty"`
	AllowEnablingPermissiveMutualTLS bool                       `json:",omitempty"`
	ValidateClusters                 bool                       `json:",omitempty"`
	TLS                              *MeshConfigTLS             `json:",omitempty"`
	HTTP                             *MeshConfigHTTP            `json:",omitempty"`
	Peering                          *MeshConfigPeering         `json:",omitempty"`
}

// MarshalJSON adds the Kind and leaves Name out (Consul refuses it).
func (e MeshConfigEntry) MarshalJSON() ([]byte, error) {
	type alias MeshConfigEntry
	return json.Marshal(struct {
		Kind string
		// Name hides the header's Name: nil, and so never written.
		Name *struct{} `json:",omitempty"`
		alias
	}{Kind: ConfigKindMesh, alias: alias(e)})
}

// UnmarshalJSON reads the entry and sets Name to MeshConfigName, which
// Consul does not send.
func (e *MeshConfigEntry) UnmarshalJSON(b []byte) error {
	type alias MeshConfigEntry
	if err := json.Unmarshal(b, (*alias)(e)); err != nil {
		return err
	}
	e.Name = MeshConfigName
	return nil
}

// MeshConfigTransparentProxy: MeshDestinationsOnly keeps transparent
// proxies from reaching anything outside the mesh.
type MeshConfigTransparentProxy struct {
	MeshDestinationsOnly bool
}

// MeshConfigTLS is the TLS of proxies' incoming and outgoing connections.
type MeshConfigTLS struct {
	Incoming *MeshConfigDirectionalTLS `json:",omitempty"`
	Outgoing *MeshConfigDirectionalTLS `json:",omitempty"`
}

// MeshConfigDirectionalTLS bounds TLS versions ("TLSv1_2"...) and ciphers.
type MeshConfigDirectionalTLS struct {
	TLSMinVersion string   `json:",omitempty"`
	TLSMaxVersion string   `json:",omitempty"`
	CipherSuites  []string `json:",omitempty"`
}

// MeshConfigHTTP is the HTTP settings of the mesh.
type MeshConfigHTTP struct {
	SanitizeXForwardedClientCert bool
}

// MeshConfigPeering is the peering settings of the mesh.
type MeshConfigPeering struct {
	PeerThroughMeshGateways bool
}

// --- exported-services ---

// ExportedServicesConfigEntry is an exported-services entry: the services
// a partition makes available to peers and other partitions. On Consul CE
// its Name must be "default".
type ExportedServicesConfigEntry struct {
	ConfigEntryHeader
	Services []ExportedService `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ExportedServicesConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ExportedServicesConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindExportedServices, alias(e)})
}

// ExportedService is a service ("*" for all) and who may consume it.
type ExportedService struct {
	Name      string
	Namespace string                    `json:",omitempty"`
	Consumers []ExportedServiceConsumer `json:",omitempty"`
}

// ExportedServiceConsumer is one consumer: a cluster peer, a partition or a
// sameness group; set exactly one.
type ExportedServiceConsumer struct {
	Partition     string `json:",omitempty"`
	Peer          string `json:",omitempty"`
	SamenessGroup string `json:",omitempty"`
}

// --- sameness-group ---

// SamenessGroupConfigEntry is a sameness-group entry (Consul Enterprise):
// partitions and peers whose services of the same name are interchangeable.
type SamenessGroupConfigEntry struct {
	ConfigEntryHeader
	DefaultForFailover bool                  `json:",omitempty"`
	IncludeLocal       bool                  `json:",omitempty"`
	Members            []SamenessGroupMember `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e SamenessGroupConfigEntry) MarshalJSON() ([]byte, error) {
	type alias SamenessGroupConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindSamenessGroup, alias(e)})
}

// SamenessGroupMember is a partition or a peer of a sameness group.
type SamenessGroupMember struct {
	Partition string `json:",omitempty"`
	Peer      string `json:",omitempty"`
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
