package consul

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// MeshConfigName is the name of the one mesh entry (of each partition).
const MeshConfigName = "mesh"

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

func (*ServiceIntentionsConfigEntry) configKind() string { return ConfigKindServiceIntentions }

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

func (*MeshConfigEntry) configKind() string { return ConfigKindMesh }

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

func (*ExportedServicesConfigEntry) configKind() string { return ConfigKindExportedServices }

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

func (*SamenessGroupConfigEntry) configKind() string { return ConfigKindSamenessGroup }

// SamenessGroupMember is a partition or a peer of a sameness group.
type SamenessGroupMember struct {
	Partition string `json:",omitempty"`
	Peer      string `json:",omitempty"`
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

var epConfigEntriesListExportedServices = endpoint{name: "ConfigEntries.ListExportedServices", method: http.MethodGet, route: "/v1/exported-services", opts: oConsistency | oBlocking | oPartition, read: true}

// ListExportedServices lists the services exported from the partition (the
// client's, or the one of a Partition option): GET /v1/exported-services.
// Nothing exported returns an empty slice. It supports blocking and
// consistency options.
func (s *ConfigEntriesService) ListExportedServices(ctx context.Context, opts ...Option) ([]ResolvedExportedService, *Meta, error) {
	var out []ResolvedExportedService
	meta, err := s.client.call(ctx, &epConfigEntriesListExportedServices, "/v1/exported-services", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []ResolvedExportedService{}
	}
	return out, meta, nil
}
