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

// The kinds of configuration entries Consul 1.19 to 1.22 know. Each kind a
// user writes has a typed struct (see DecodeConfigEntry);
// bound-api-gateway, which Consul writes itself, reads as a
// *RawConfigEntry. control-plane-request-limit is Consul Enterprise's:
// Consul CE refuses it.
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

var epConfigEntriesPut = endpoint{name: "ConfigEntries.Put", method: http.MethodPut, route: "/v1/config", opts: oDC | oEnt}

// Put creates or replaces a configuration entry: PUT /v1/config. The
// entry's kind and name are refused before sending when empty (a mesh
// entry's name is always "mesh"). An entry Consul did not store is an
// error.
func (s *ConfigEntriesService) Put(ctx context.Context, entry ConfigEntry, opts ...Option) error {
	ok, err := s.apply(ctx, &epConfigEntriesPut, entry, nil, opts)
	if err == nil && !ok {
		return fmt.Errorf("consul: PUT /v1/config: the entry was not applied")
	}
	return err
}

var epConfigEntriesPutCAS = endpoint{name: "ConfigEntries.PutCAS", method: http.MethodPut, route: "/v1/config", opts: oDC | oEnt}

// PutCAS writes a configuration entry only if its ModifyIndex is still
// index: PUT /v1/config?cas=index. An index of 0 writes only if the entry
// does not exist yet. It returns false, and no error, when the index did not
// match. Consul skips writing an entry identical to the stored one and then
// returns true whatever the index.
func (s *ConfigEntriesService) PutCAS(ctx context.Context, entry ConfigEntry, index uint64, opts ...Option) (bool, error) {
	return s.apply(ctx, &epConfigEntriesPutCAS, entry, []param{{"cas", strconv.FormatUint(index, 10)}}, opts)
}

func (s *ConfigEntriesService) apply(ctx context.Context, e *endpoint, entry ConfigEntry, ps []param, opts []Option) (bool, error) {
	if err := configCheckEntry(entry); err != nil {
		return false, err
	}
	var ok bool
	_, err := s.client.call(ctx, e, "/v1/config", ps, entry, opts, &ok)
	return ok, err
}

var epConfigEntriesGet = endpoint{name: "ConfigEntries.Get", method: http.MethodGet, route: "/v1/config/:kind/:name", opts: oRead | oEnt, read: true, notFoundOK: true}

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
	meta, err := s.client.call(ctx, &epConfigEntriesGet, path, nil, nil, opts, &raw)
	if err != nil || len(raw) == 0 {
		return nil, meta, err
	}
	entry, err := DecodeConfigEntry(raw)
	if err != nil {
		return nil, meta, fmt.Errorf("consul: GET %s: %w", path, err)
	}
	return entry, meta, nil
}

var epConfigEntriesList = endpoint{name: "ConfigEntries.List", method: http.MethodGet, route: "/v1/config/:kind", opts: oRead | oFilter | oEnt, read: true}

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
	meta, err := s.client.call(ctx, &epConfigEntriesList, path, nil, nil, opts, &raws)
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

var epConfigEntriesDelete = endpoint{name: "ConfigEntries.Delete", method: http.MethodDelete, route: "/v1/config/:kind/:name", opts: oDC | oEnt}

// Delete deletes a configuration entry: DELETE /v1/config/:kind/:name.
// Deleting an entry that does not exist is not an error. A kind or name
// that is not one path segment is refused before sending.
func (s *ConfigEntriesService) Delete(ctx context.Context, kind, name string, opts ...Option) error {
	path, err := configEntryPath(kind, name)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epConfigEntriesDelete, path, nil, nil, opts, nil)
	return err
}

var epConfigEntriesDeleteCAS = endpoint{name: "ConfigEntries.DeleteCAS", method: http.MethodDelete, route: "/v1/config/:kind/:name", opts: oDC | oEnt}

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
	_, err = s.client.call(ctx, &epConfigEntriesDeleteCAS, path, []param{{"cas", strconv.FormatUint(index, 10)}}, nil, opts, &ok)
	return ok, err
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
	typed, _ := entry.(configTyped)
	switch {
	case typed == nil && h.Kind == "":
		return argError(typ+".Kind", "empty")
	case typed != nil && h.Kind != "" && h.Kind != typed.configKind():
		return argError(typ+".Kind", "%q is not the kind of a %s (%s)", h.Kind, typ, typed.configKind())
	}
	if _, mesh := entry.(*MeshConfigEntry); !mesh && h.Name == "" {
		return argError(typ+".Name", "empty")
	}
	if c, ok := entry.(configChecked); ok {
		return c.configCheck(typ)
	}
	return nil
}

// configTyped is implemented by the typed entry structs of this package:
// configKind is the kind the struct always writes, whatever its header's
// Kind says. A RawConfigEntry and the types of other packages write their
// header's Kind.
type configTyped interface {
	ConfigEntry
	configKind() string
}

// configChecked is implemented by the typed entries that have more to
// check before sending than a kind and a name (durations that must not be
// negative, modes from a closed set); typ names the entry's type in the
// error.
type configChecked interface {
	configCheck(typ string) error
}

// configCheckDuration refuses a negative duration of the field named by
// field.
func configCheckDuration(field string, d time.Duration) error {
	if d < 0 {
		return argError(field, "negative duration %s", d)
	}
	return nil
}

func configCheckMeshGatewayMode(field, mode string) error {
	switch mode {
	case "", "none", "local", "remote":
		return nil
	}
	return argError(field, "unknown mode %q (want \"\", none, local or remote)", mode)
}

// --- decoding by kind: the kind registry ---

// configKinds is the kind registry: for each kind with a typed struct, a
// new empty one. DecodeConfigEntry picks from it; kinds missing from it
// read as *RawConfigEntry.
var configKinds = map[string]func() ConfigEntry{
	ConfigKindServiceDefaults:          func() ConfigEntry { return new(ServiceDefaultsConfigEntry) },
	ConfigKindProxyDefaults:            func() ConfigEntry { return new(ProxyConfigEntry) },
	ConfigKindServiceRouter:            func() ConfigEntry { return new(ServiceRouterConfigEntry) },
	ConfigKindServiceSplitter:          func() ConfigEntry { return new(ServiceSplitterConfigEntry) },
	ConfigKindServiceResolver:          func() ConfigEntry { return new(ServiceResolverConfigEntry) },
	ConfigKindIngressGateway:           func() ConfigEntry { return new(IngressGatewayConfigEntry) },
	ConfigKindTerminatingGateway:       func() ConfigEntry { return new(TerminatingGatewayConfigEntry) },
	ConfigKindServiceIntentions:        func() ConfigEntry { return new(ServiceIntentionsConfigEntry) },
	ConfigKindMesh:                     func() ConfigEntry { return new(MeshConfigEntry) },
	ConfigKindExportedServices:         func() ConfigEntry { return new(ExportedServicesConfigEntry) },
	ConfigKindSamenessGroup:            func() ConfigEntry { return new(SamenessGroupConfigEntry) },
	ConfigKindAPIGateway:               func() ConfigEntry { return new(APIGatewayConfigEntry) },
	ConfigKindHTTPRoute:                func() ConfigEntry { return new(HTTPRouteConfigEntry) },
	ConfigKindTCPRoute:                 func() ConfigEntry { return new(TCPRouteConfigEntry) },
	ConfigKindInlineCertificate:        func() ConfigEntry { return new(InlineCertificateConfigEntry) },
	ConfigKindFileSystemCertificate:    func() ConfigEntry { return new(FileSystemCertificateConfigEntry) },
	ConfigKindJWTProvider:              func() ConfigEntry { return new(JWTProviderConfigEntry) },
	ConfigKindControlPlaneRequestLimit: func() ConfigEntry { return new(ControlPlaneRequestLimitConfigEntry) },
}

// DecodeConfigEntry decodes one configuration entry from the JSON of
// Consul's HTTP API, picking the struct by its Kind (or its lower-case
// "kind", as in config files). Every kind a user writes has a typed
// struct, named after the kind:
//
//	service-defaults             *ServiceDefaultsConfigEntry
//	proxy-defaults               *ProxyConfigEntry
//	service-router               *ServiceRouterConfigEntry
//	service-splitter             *ServiceSplitterConfigEntry
//	service-resolver             *ServiceResolverConfigEntry
//	ingress-gateway              *IngressGatewayConfigEntry
//	terminating-gateway          *TerminatingGatewayConfigEntry
//	service-intentions           *ServiceIntentionsConfigEntry
//	mesh                         *MeshConfigEntry
//	exported-services            *ExportedServicesConfigEntry
//	sameness-group               *SamenessGroupConfigEntry
//	api-gateway                  *APIGatewayConfigEntry
//	http-route                   *HTTPRouteConfigEntry
//	tcp-route                    *TCPRouteConfigEntry
//	inline-certificate           *InlineCertificateConfigEntry
//	file-system-certificate      *FileSystemCertificateConfigEntry
//	jwt-provider                 *JWTProviderConfigEntry
//	control-plane-request-limit  *ControlPlaneRequestLimitConfigEntry
//
// Every other kind (bound-api-gateway, which Consul writes itself, and
// kinds newer than this package) gives a *RawConfigEntry that keeps all of
// the JSON.
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
	if kind == "" {
		return nil, fmt.Errorf("decode config entry: no Kind")
	}
	var entry ConfigEntry = &RawConfigEntry{}
	if mk, ok := configKinds[kind]; ok {
		entry = mk()
	}
	if err := json.Unmarshal(data, entry); err != nil {
		return nil, fmt.Errorf("decode %s config entry: %w", kind, err)
	}
	return entry, nil
}

// RawConfigEntry is a configuration entry of a kind without a typed struct
// here (bound-api-gateway, kinds newer than this package), or of any kind
// when you want the JSON as is: json.Unmarshal an answer into one. Put
// takes it for any kind; Get and List return it only for kinds missing
// from DecodeConfigEntry's list.
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
