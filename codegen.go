package consul

import "encoding/json"

// The JSON code derived from the wire types is generated from their
// definitions by internal/codegen (a program of this module's, standard
// library only): decode_gen.go (the fast decoders) and codec_gen.go (the
// JSON methods of the types with durations). After changing a wire type,
// run go generate ./... ; CI fails when the generated files are stale.
//go:generate go run ./internal/codegen

// fastAnswers lists, one field each, what the list and blocking reads
// decode their answers into: each gets a generated fast decoder
// (fastDecode in decode_gen.go), and so does every type it holds. The
// field names are only labels.
type fastAnswers struct {
	KVPairs          []*KVPair
	Keys             []string
	Nodes            []*Node
	Services         map[string][]string
	ServiceNodes     []*ServiceNode
	CatalogNode      *CatalogNode
	NodeServices     *CatalogNodeServiceList
	GatewayServices  []*CatalogGatewayService
	ServiceEntries   []*ServiceEntry
	HealthChecks     []*HealthCheck
	AgentChecks      map[string]*HealthCheck
	AgentServices    map[string]*NodeService
	AgentService     *NodeService
	ServiceHealth    *AgentServiceHealth
	ServiceHealths   []*AgentServiceHealth
	Members          []*AgentMember
	Sessions         []*SessionEntry
	Txn              txnResponse
	CreatedID        struct{ ID string }
	WriteResult      bool
	Token            ACLToken
	Tokens           []*ACLTokenListEntry
	Policy           ACLPolicy
	PolicyPtr        *ACLPolicy
	Policies         []*ACLPolicyListEntry
	Templates        map[string]*ACLTemplatedPolicyTemplate
	Template         ACLTemplatedPolicyTemplate
	Role             ACLRole
	RolePtr          *ACLRole
	Roles            []*ACLRole
	AuthMethod       ACLAuthMethod
	AuthMethodPtr    *ACLAuthMethod
	AuthMethods      []*ACLAuthMethodListEntry
	BindingRule      ACLBindingRule
	BindingRulePtr   *ACLBindingRule
	BindingRules     []*ACLBindingRule
	CARoots          ConnectCARoots
	LeafCert         AgentLeafCert
	Intentions       []*Intention
	Intention        *Intention
	IntentionMatches map[string][]*Intention
	CoordinateDCs    []*CoordinateDatacenterMap
	Coordinates      []*CoordinateEntry
	Events           []*UserEvent
	Keyrings         []*KeyringResponse
	Usage            OperatorUsage
	Peering          *Peering
	Peerings         []*Peering
	Queries          []*PreparedQuery
	ExportedServices []ResolvedExportedService
	ImportedServices []ImportedService
	ConfigEntry      json.RawMessage   // each entry is then decoded by its type's UnmarshalJSON
	ConfigEntries    []json.RawMessage // (see jsonCodecs)
	DiscoveryChain   struct{ Chain *CompiledDiscoveryChain }
}

// jsonCodecs lists wire types outside fastAnswers whose durations need the
// generated JSON methods: request bodies and the answers of other reads;
// and the configuration entries, whose generated MarshalJSON writes their
// Kind and whose UnmarshalJSON uses the fast reader (DecodeConfigEntry
// decodes each entry of Get and List through it). The field names are
// only labels.
type jsonCodecs struct {
	Autopilot       AutopilotConfiguration
	AutopilotHealth AutopilotHealth
	AutopilotState  AutopilotState
	QueryExecute    QueryExecuteResponse
	Token           ACLToken
	AuthMethod      ACLAuthMethod

	ServiceDefaults          ServiceDefaultsConfigEntry
	ProxyDefaults            ProxyConfigEntry
	ServiceRouter            ServiceRouterConfigEntry
	ServiceSplitter          ServiceSplitterConfigEntry
	ServiceResolver          ServiceResolverConfigEntry
	IngressGateway           IngressGatewayConfigEntry
	TerminatingGateway       TerminatingGatewayConfigEntry
	ServiceIntentions        ServiceIntentionsConfigEntry
	Mesh                     MeshConfigEntry
	ExportedServicesEntry    ExportedServicesConfigEntry
	SamenessGroup            SamenessGroupConfigEntry
	APIGateway               APIGatewayConfigEntry
	HTTPRoute                HTTPRouteConfigEntry
	TCPRoute                 TCPRouteConfigEntry
	InlineCertificate        InlineCertificateConfigEntry
	FileSystemCertificate    FileSystemCertificateConfigEntry
	JWTProvider              JWTProviderConfigEntry
	ControlPlaneRequestLimit ControlPlaneRequestLimitConfigEntry
}

// Only the generator reads these types.
var (
	_ fastAnswers
	_ jsonCodecs
)
