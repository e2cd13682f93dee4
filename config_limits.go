package consul

import "encoding/json"

// --- control-plane-request-limit ---

// ControlPlaneRequestLimitConfigEntry is a control-plane-request-limit
// entry (Consul Enterprise): the rates of requests per second that Consul
// servers take from each client IP address, overall and per category of
// request. A zero rate is left out, leaving Consul's default.
//
// Consul CE does not know the kind: it refuses Put and Delete with a 400
// and Get and List with a 500 (both "invalid config entry kind"), so that
// the calls return a *StatusError.
type ControlPlaneRequestLimitConfigEntry struct {
	ConfigEntryHeader
	// Mode is "permissive" (count, do not refuse), "enforcing" or
	// "disabled".
	Mode      string  `json:",omitempty"`
	ReadRate  float64 `json:",omitempty"`
	WriteRate float64 `json:",omitempty"`

	// The rates of each category of request, overriding ReadRate and
	// WriteRate; nil means the overall ones.
	ACL             *ControlPlaneRequestLimitRates `json:",omitempty"`
	Catalog         *ControlPlaneRequestLimitRates `json:",omitempty"`
	ConfigEntry     *ControlPlaneRequestLimitRates `json:",omitempty"`
	ConnectCA       *ControlPlaneRequestLimitRates `json:",omitempty"`
	Coordinate      *ControlPlaneRequestLimitRates `json:",omitempty"`
	DiscoveryChain  *ControlPlaneRequestLimitRates `json:",omitempty"`
	ServerDiscovery *ControlPlaneRequestLimitRates `json:",omitempty"`
	Health          *ControlPlaneRequestLimitRates `json:",omitempty"`
	Intention       *ControlPlaneRequestLimitRates `json:",omitempty"`
	KV              *ControlPlaneRequestLimitRates `json:",omitempty"`
	Tenancy         *ControlPlaneRequestLimitRates `json:",omitempty"`
	PreparedQuery   *ControlPlaneRequestLimitRates `json:",omitempty"`
	Session         *ControlPlaneRequestLimitRates `json:",omitempty"`
	Txn             *ControlPlaneRequestLimitRates `json:",omitempty"`
	AutoConfig      *ControlPlaneRequestLimitRates `json:",omitempty"`
	FederationState *ControlPlaneRequestLimitRates `json:",omitempty"`
	Internal        *ControlPlaneRequestLimitRates `json:",omitempty"`
	PeerStream      *ControlPlaneRequestLimitRates `json:",omitempty"`
	Peering         *ControlPlaneRequestLimitRates `json:",omitempty"`
	DataPlane       *ControlPlaneRequestLimitRates `json:",omitempty"`
	DNS             *ControlPlaneRequestLimitRates `json:",omitempty"`
	Subscribe       *ControlPlaneRequestLimitRates `json:",omitempty"`
	Resource        *ControlPlaneRequestLimitRates `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e ControlPlaneRequestLimitConfigEntry) MarshalJSON() ([]byte, error) {
	type alias ControlPlaneRequestLimitConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindControlPlaneRequestLimit, alias(e)})
}

func (*ControlPlaneRequestLimitConfigEntry) configKind() string {
	return ConfigKindControlPlaneRequestLimit
}

// ControlPlaneRequestLimitRates are the read and write rates, in requests
// per second, of one category of request.
type ControlPlaneRequestLimitRates struct {
	ReadRate  float64 `json:",omitempty"`
	WriteRate float64 `json:",omitempty"`
}
