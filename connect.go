package consul

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// ConnectService manages the service mesh CA (/v1/connect/ca/) and intentions (/v1/connect/intentions).
//
// The agent-local views of the mesh (/v1/agent/connect/...: leaf
// certificates, authorize, the agent's cached roots) are on client.Agent.
type ConnectService service

// ConnectCAConfig is the configuration of the service mesh CA provider, as
// read and written by /v1/connect/ca/configuration.
type ConnectCAConfig struct {
	// Provider is the CA provider: "consul", "vault" or "aws-pca".
	Provider string
	// Config is the provider's configuration, e.g. {"LeafCertTTL": "72h",
	// "PrivateKeyType": "ec", "IntermediateCertTTL": "8760h"}. Its keys
	// depend on the provider; see Consul's CA documentation.
	Config map[string]any
	// State is what the provider keeps between reloads. It is read-only:
	// leave it nil on a write, or send back exactly what was read.
	State map[string]string `json:",omitempty"`
	// ForceWithoutCrossSigning lets a provider change go ahead even when the
	// old CA cannot cross-sign the new root (connections may fail until
	// every proxy has the new root).
	ForceWithoutCrossSigning bool
	CreateIndex              uint64 `json:",omitempty"`
	ModifyIndex              uint64 `json:",omitempty"`
}

// ConnectCARoots is the list of trusted CA roots of the service mesh, as
// returned by GET /v1/connect/ca/roots.
type ConnectCARoots struct {
	// ActiveRootID is the ID of the root in Roots that signs new
	// certificates; the others are being rotated out but still trusted.
	ActiveRootID string
	// TrustDomain is the cluster's SPIFFE trust domain, e.g.
	// "11111111-2222-3333-4444-555555555555.consul".
	TrustDomain string
	Roots       []*ConnectCARoot
}

// Active returns the active root, or nil if none of Roots is the active one.
func (r *ConnectCARoots) Active() *ConnectCARoot {
	if r == nil {
		return nil
	}
	for _, root := range r.Roots {
		if root.ID == r.ActiveRootID {
			return root
		}
	}
	return nil
}

// ConnectCARoot is one trusted root certificate of the service mesh CA.
type ConnectCARoot struct {
	// ID identifies the root; it is derived from the certificate.
	ID   string
	Name string
	// SerialNumber is the x509 serial number of the root certificate.
	SerialNumber uint64
	// SigningKeyID identifies the key that signs leaf certificates in this
	// datacenter (hex-encoded SubjectKeyId).
	SigningKeyID string
	// ExternalTrustDomain is set on old roots kept from another trust
	// domain; empty means the cluster's own.
	ExternalTrustDomain string
	NotBefore           time.Time
	NotAfter            time.Time
	// RootCert is the PEM root certificate.
	RootCert string
	// IntermediateCerts are PEM certificates to chain after a leaf signed
	// by this CA.
	IntermediateCerts []string
	// Active is true for the root that signs new certificates.
	Active bool
	// PrivateKeyType ("ec" or "rsa") and PrivateKeyBits describe the
	// signing key.
	PrivateKeyType string
	PrivateKeyBits int
	CreateIndex    uint64
	ModifyIndex    uint64
}

var epConnectCAConfiguration = endpoint{name: "Connect.CAConfiguration", method: http.MethodGet, route: "/v1/connect/ca/configuration", opts: oDC | oConsistency, read: true}

// CAConfiguration reads the CA provider's configuration: GET
// /v1/connect/ca/configuration. It needs operator:read.
func (s *ConnectService) CAConfiguration(ctx context.Context, opts ...Option) (*ConnectCAConfig, *Meta, error) {
	var out ConnectCAConfig
	meta, err := s.client.call(ctx, &epConnectCAConfiguration, "/v1/connect/ca/configuration", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epConnectSetCAConfiguration = endpoint{name: "Connect.SetCAConfiguration", method: http.MethodPut, route: "/v1/connect/ca/configuration", opts: oDC}

// SetCAConfiguration changes the CA provider or its configuration: PUT
// /v1/connect/ca/configuration. Changing the provider or the root key
// rotates the root. A nil config or an empty Provider is refused before
// sending. It needs operator:write.
func (s *ConnectService) SetCAConfiguration(ctx context.Context, config *ConnectCAConfig, opts ...Option) error {
	if config == nil {
		return argError("config", "nil")
	}
	if config.Provider == "" {
		return argError("ConnectCAConfig.Provider", "empty")
	}
	_, err := s.client.call(ctx, &epConnectSetCAConfiguration, "/v1/connect/ca/configuration", nil, config, opts, nil)
	return err
}

var epConnectCARoots = endpoint{name: "Connect.CARoots", method: http.MethodGet, route: "/v1/connect/ca/roots", opts: oRead, read: true}

// CARoots reads the trusted CA roots of the service mesh: GET
// /v1/connect/ca/roots. It supports blocking (WaitIndex) and consistency
// options, so a watch sees root rotations.
func (s *ConnectService) CARoots(ctx context.Context, opts ...Option) (*ConnectCARoots, *Meta, error) {
	var out ConnectCARoots
	meta, err := s.client.call(ctx, &epConnectCARoots, "/v1/connect/ca/roots", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epConnectCARootsPEM = endpoint{name: "Connect.CARootsPEM", method: http.MethodGet, route: "/v1/connect/ca/roots", opts: oRead, read: true}

// CARootsPEM reads the trusted CA roots as one PEM bundle, each root
// followed by its intermediates: GET /v1/connect/ca/roots?pem=true. It
// blocks like CARoots.
func (s *ConnectService) CARootsPEM(ctx context.Context, opts ...Option) ([]byte, *Meta, error) {
	var out []byte
	meta, err := s.client.call(ctx, &epConnectCARootsPEM, "/v1/connect/ca/roots", []param{{"pem", "true"}}, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

// IntentionAllow and IntentionDeny are the actions of an intention
// (Intention.Action) and of its L7 permissions. They are untyped so that
// they fit the Action fields of ServiceIntentionsSource and
// ServiceIntentionsPermission too.
const (
	IntentionAllow = "allow"
	IntentionDeny  = "deny"
)

func intentionActionValid(a string) bool { return a == IntentionAllow || a == IntentionDeny }

// IntentionSourceConsul is the only source type Consul knows: the source
// is a service of the mesh. An empty Intention.SourceType means it too.
const IntentionSourceConsul = "consul"

// IntentionMatchType selects which end of the intentions MatchIntentions
// compares with the names.
type IntentionMatchType string

const (
	// IntentionMatchSource matches the intentions whose source is the name.
	IntentionMatchSource IntentionMatchType = "source"
	// IntentionMatchDestination matches the intentions whose destination
	// is the name.
	IntentionMatchDestination IntentionMatchType = "destination"
)

// Intention allows or denies connections from a source service to a
// destination service of the mesh. Either name may be the wildcard "*".
//
// Since Consul 1.9 intentions are stored as service-intentions config
// entries; this view of one source of one entry is what the
// /v1/connect/intentions routes serve.
type Intention struct {
	// ID is the legacy ID, set by Consul on CreateIntention. Intentions
	// written with PutIntention or as config entries have none.
	ID          string `json:",omitempty"`
	Description string `json:",omitempty"`

	SourceName      string
	DestinationName string
	// SourceNS and DestinationNS are namespaces (Consul Enterprise; Consul
	// CE reads back "default").
	SourceNS      string `json:",omitempty"`
	DestinationNS string `json:",omitempty"`
	// SourcePartition and DestinationPartition are admin partitions
	// (Consul Enterprise).
	SourcePartition      string `json:",omitempty"`
	DestinationPartition string `json:",omitempty"`
	// SourcePeer names the cluster peer the source service is imported
	// from. It is read-only here: Consul refuses it on the intention
	// routes, so such intentions are written as service-intentions config
	// entries.
	SourcePeer string `json:",omitempty"`
	// SourceSamenessGroup names a sameness group as the source (Consul
	// Enterprise).
	SourceSamenessGroup string `json:",omitempty"`
	// SourceType is "consul" (IntentionSourceConsul); empty means it.
	SourceType string `json:",omitempty"`

	// Action is IntentionAllow or IntentionDeny. It must be empty when
	// Permissions are set.
	Action string `json:",omitempty"`
	// Permissions are L7 (HTTP) rules, evaluated in order; the first that
	// matches decides. Only PutIntention can write them. They are the
	// rules of the service-intentions config entry the intention lives in.
	Permissions []*ServiceIntentionsPermission `json:",omitempty"`
	// JWT requires a valid JWT from one of the providers.
	JWT *ServiceIntentionsJWT `json:",omitempty"`

	// Meta is stored only by CreateIntention and UpdateIntention; Consul
	// refuses it on PutIntention.
	Meta map[string]string `json:",omitempty"`
	// Precedence is computed by Consul: higher values are evaluated first.
	// It is ignored on writes.
	Precedence int `json:",omitempty"`
	// CreatedAt and UpdatedAt are set by Consul; zero times are not sent.
	CreatedAt   time.Time `json:",omitzero"`
	UpdatedAt   time.Time `json:",omitzero"`
	CreateIndex uint64    `json:",omitempty"`
	ModifyIndex uint64    `json:",omitempty"`
}

var epConnectListIntentions = endpoint{name: "Connect.ListIntentions", method: http.MethodGet, route: "/v1/connect/intentions", opts: oRead | oFilter | oEnt, read: true}

// ListIntentions lists every intention: GET /v1/connect/intentions. Use
// Filter to select, e.g. Filter(`DestinationName == "db"`). No intention
// returns an empty slice. It supports blocking and consistency options.
func (s *ConnectService) ListIntentions(ctx context.Context, opts ...Option) ([]*Intention, *Meta, error) {
	var out []*Intention
	meta, err := s.client.call(ctx, &epConnectListIntentions, "/v1/connect/intentions", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []*Intention{}
	}
	return out, meta, nil
}

var epConnectCreateIntention = endpoint{name: "Connect.CreateIntention", method: http.MethodPost, route: "/v1/connect/intentions", opts: oDC | oEnt}

// CreateIntention creates an intention and returns its ID: POST
// /v1/connect/intentions. This is Consul's legacy, ID-based API (still
// served): it needs an Action and cannot write Permissions, and creating a
// second intention between the same services fails. PutIntention is the
// modern way. An empty name, an ID, Permissions, a SourcePeer, or an
// Action other than allow or deny is refused before sending.
func (s *ConnectService) CreateIntention(ctx context.Context, ixn *Intention, opts ...Option) (string, error) {
	if err := checkIntention(ixn, true); err != nil {
		return "", err
	}
	if ixn.ID != "" {
		return "", argError("Intention.ID", "must be empty: Consul assigns it")
	}
	var out struct{ ID string }
	if _, err := s.client.call(ctx, &epConnectCreateIntention, "/v1/connect/intentions", nil, ixn, opts, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

var epConnectGetIntention = endpoint{name: "Connect.GetIntention", method: http.MethodGet, route: "/v1/connect/intentions/:id", opts: oRead, read: true, notFoundOK: true}

// GetIntention reads one intention by its legacy ID: GET
// /v1/connect/intentions/:id.
//
// An intention that does not exist returns (nil, meta, nil); an ID that is
// not a UUID is a 400 error; an id that is not one path segment (empty,
// "." or "..", with a '/' or a control character) is refused before
// sending. It supports consistency options; Consul sends no X-Consul-Index
// for this route, so it cannot block.
func (s *ConnectService) GetIntention(ctx context.Context, id string, opts ...Option) (*Intention, *Meta, error) {
	path, err := buildPath("/v1/connect/intentions/{id}", id)
	if err != nil {
		return nil, nil, err
	}
	return s.getIntention(ctx, &epConnectGetIntention, path, nil, opts)
}

func (s *ConnectService) getIntention(ctx context.Context, e *endpoint, path string, ps []param, opts []Option) (*Intention, *Meta, error) {
	var out *Intention
	meta, err := s.client.call(ctx, e, path, ps, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

var epConnectUpdateIntention = endpoint{name: "Connect.UpdateIntention", method: http.MethodPut, route: "/v1/connect/intentions/:ID", opts: oDC | oEnt}

// UpdateIntention replaces the intention whose legacy ID is ixn.ID: PUT
// /v1/connect/intentions/:id. The same rules as CreateIntention apply; an
// ID that is not one path segment is refused before sending.
func (s *ConnectService) UpdateIntention(ctx context.Context, ixn *Intention, opts ...Option) error {
	if err := checkIntention(ixn, true); err != nil {
		return err
	}
	path, err := buildPath("/v1/connect/intentions/{Intention.ID}", ixn.ID)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epConnectUpdateIntention, path, nil, ixn, opts, nil)
	return err
}

var epConnectDeleteIntention = endpoint{name: "Connect.DeleteIntention", method: http.MethodDelete, route: "/v1/connect/intentions/:id", opts: oDC}

// DeleteIntention deletes the intention with this legacy ID: DELETE
// /v1/connect/intentions/:id. Deleting an intention that does not exist is
// an error (Consul answers 500, not 404). An id that is not one path
// segment is refused before sending.
func (s *ConnectService) DeleteIntention(ctx context.Context, id string, opts ...Option) error {
	path, err := buildPath("/v1/connect/intentions/{id}", id)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epConnectDeleteIntention, path, nil, nil, opts, nil)
	return err
}

var epConnectGetIntentionExact = endpoint{name: "Connect.GetIntentionExact", method: http.MethodGet, route: "/v1/connect/intentions/exact", opts: oRead | oEnt, read: true, notFoundOK: true}

// GetIntentionExact reads the intention from source to destination: GET
// /v1/connect/intentions/exact?source=&destination=. A name may be
// prefixed with its namespace ("ns/web") and partition ("ap/ns/web"), and
// the source with its peer ("peer:other/web").
//
// An intention that does not exist returns (nil, meta, nil). It supports
// consistency options; like GetIntention it cannot block. To watch the
// intentions of a service, block on MatchIntentions or ListIntentions.
func (s *ConnectService) GetIntentionExact(ctx context.Context, source, destination string, opts ...Option) (*Intention, *Meta, error) {
	if err := checkIntentionPair(source, destination); err != nil {
		return nil, nil, err
	}
	return s.getIntention(ctx, &epConnectGetIntentionExact, "/v1/connect/intentions/exact", []param{{"source", source}, {"destination", destination}}, opts)
}

var epConnectPutIntention = endpoint{name: "Connect.PutIntention", method: http.MethodPut, route: "/v1/connect/intentions/exact", opts: oDC | oEnt}

// PutIntention creates or replaces the intention from ixn.SourceName to
// ixn.DestinationName: PUT
// /v1/connect/intentions/exact?source=&destination=. The source and
// destination sent in the query are the names prefixed with SourceNS and
// DestinationNS (and the partitions) when those are set. ixn.ID is not
// sent: upserted intentions have no legacy ID.
//
// Exactly one of Action and Permissions must be set; a missing name, an
// unknown action, a SourcePeer or Meta is refused before sending. Consul refuses
// an upsert to a destination that has intentions created with
// CreateIntention: the two kinds cannot be mixed for one destination.
//
// It returns Consul's answer: true when the intention was stored (Consul
// answers true to every write it accepts; a refused one is an error).
func (s *ConnectService) PutIntention(ctx context.Context, ixn *Intention, opts ...Option) (bool, error) {
	if err := checkIntention(ixn, false); err != nil {
		return false, err
	}
	body := *ixn
	body.ID = ""
	ps := []param{
		{"source", intentionRef(ixn.SourcePartition, ixn.SourceNS, ixn.SourceName)},
		{"destination", intentionRef(ixn.DestinationPartition, ixn.DestinationNS, ixn.DestinationName)},
	}
	var ok bool
	_, err := s.client.call(ctx, &epConnectPutIntention, "/v1/connect/intentions/exact", ps, body, opts, &ok)
	return ok, err
}

var epConnectDeleteIntentionExact = endpoint{name: "Connect.DeleteIntentionExact", method: http.MethodDelete, route: "/v1/connect/intentions/exact", opts: oDC | oEnt}

// DeleteIntentionExact deletes the intention from source to destination:
// DELETE /v1/connect/intentions/exact?source=&destination=. Names take the
// same prefixes as in GetIntentionExact, except "peer:". Deleting an
// intention that does not exist is not an error.
func (s *ConnectService) DeleteIntentionExact(ctx context.Context, source, destination string, opts ...Option) error {
	if err := checkIntentionPair(source, destination); err != nil {
		return err
	}
	ps := []param{{"source", source}, {"destination", destination}}
	_, err := s.client.call(ctx, &epConnectDeleteIntentionExact, "/v1/connect/intentions/exact", ps, nil, opts, nil)
	return err
}

var epConnectMatchIntentions = endpoint{name: "Connect.MatchIntentions", method: http.MethodGet, route: "/v1/connect/intentions/match", opts: oRead | oMaxStale | oCached | oEnt, read: true}

// MatchIntentions lists, for each name, the intentions whose source (by
// IntentionMatchSource) or destination (by IntentionMatchDestination)
// matches it, wildcards included, in precedence order: GET
// /v1/connect/intentions/match?by=&name=. The map has a key, possibly with
// an empty slice, for every name asked. It supports blocking, consistency
// and Cached options.
func (s *ConnectService) MatchIntentions(ctx context.Context, by IntentionMatchType, names []string, opts ...Option) (map[string][]*Intention, *Meta, error) {
	if by != IntentionMatchSource && by != IntentionMatchDestination {
		return nil, nil, argError("by", "must be %q or %q, not %q", IntentionMatchSource, IntentionMatchDestination, by)
	}
	if len(names) == 0 {
		return nil, nil, argError("names", "empty")
	}
	ps := make([]param, 0, 1+len(names))
	ps = append(ps, param{"by", string(by)})
	for i, n := range names {
		if n == "" {
			return nil, nil, argError("names", "name %d is empty", i)
		}
		ps = append(ps, param{"name", n})
	}
	var out map[string][]*Intention
	meta, err := s.client.call(ctx, &epConnectMatchIntentions, "/v1/connect/intentions/match", ps, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = map[string][]*Intention{}
	}
	for _, n := range names {
		if out[n] == nil {
			out[n] = []*Intention{}
		}
	}
	return out, meta, nil
}

var epConnectCheckIntention = endpoint{name: "Connect.CheckIntention", method: http.MethodGet, route: "/v1/connect/intentions/check", opts: oDC | oConsistency | oEnt, read: true}

// CheckIntention reports whether the intentions (and the default policy
// when none matches) allow source to connect to destination: GET
// /v1/connect/intentions/check?source=&destination=. It evaluates only the
// L4 action: a destination with L7 Permissions is reported as not allowed.
// It supports consistency options.
func (s *ConnectService) CheckIntention(ctx context.Context, source, destination string, opts ...Option) (bool, *Meta, error) {
	if err := checkIntentionPair(source, destination); err != nil {
		return false, nil, err
	}
	var out struct{ Allowed bool }
	meta, err := s.client.call(ctx, &epConnectCheckIntention, "/v1/connect/intentions/check", []param{{"source", source}, {"destination", destination}}, nil, opts, &out)
	if err != nil {
		return false, meta, err
	}
	return out.Allowed, meta, nil
}

// checkIntention refuses an intention Consul would refuse, before sending.
// legacy is for the ID-based routes, which need an Action and take no
// Permissions.
func checkIntention(ixn *Intention, legacy bool) error {
	if ixn == nil {
		return argError("intention", "nil")
	}
	if ixn.SourceName == "" {
		return argError("Intention.SourceName", "empty")
	}
	if ixn.DestinationName == "" {
		return argError("Intention.DestinationName", "empty")
	}
	if ixn.SourcePeer != "" {
		return argError("Intention.SourcePeer", "not writable through the intention routes: use a service-intentions config entry")
	}
	switch ixn.SourceType {
	case "", IntentionSourceConsul:
	default:
		return argError("Intention.SourceType", "unknown source type %q", ixn.SourceType)
	}
	if ixn.Action != "" && !intentionActionValid(ixn.Action) {
		return argError("Intention.Action", "must be %q or %q, not %q", IntentionAllow, IntentionDeny, ixn.Action)
	}
	for i, p := range ixn.Permissions {
		if p == nil {
			return argError("Intention.Permissions", "permission %d is nil", i)
		}
		if !intentionActionValid(p.Action) {
			return argError("Intention.Permissions", "permission %d: action must be %q or %q, not %q", i, IntentionAllow, IntentionDeny, p.Action)
		}
	}
	switch {
	case legacy && len(ixn.Permissions) > 0:
		return argError("Intention.Permissions", "not supported by the ID-based routes: use PutIntention")
	case legacy && ixn.Action == "":
		return argError("Intention.Action", "empty")
	case !legacy && ixn.Action == "" && len(ixn.Permissions) == 0:
		return argError("Intention.Action", "empty: set Action or Permissions")
	case !legacy && ixn.Action != "" && len(ixn.Permissions) > 0:
		return argError("Intention.Action", "must be empty when Permissions are set")
	case !legacy && len(ixn.Meta) > 0:
		return argError("Intention.Meta", "only the ID-based routes store it: Consul refuses it on an upsert")
	}
	return nil
}

func checkIntentionPair(source, destination string) error {
	if source == "" {
		return argError("source", "empty")
	}
	if destination == "" {
		return argError("destination", "empty")
	}
	return nil
}

// intentionRef is the "[partition/][namespace/]name" form of the exact
// routes' query.
func intentionRef(partition, ns, name string) string {
	switch {
	case partition != "":
		if ns == "" {
			ns = "default"
		}
		return strings.Join([]string{partition, ns, name}, "/")
	case ns != "":
		return ns + "/" + name
	}
	return name
}
