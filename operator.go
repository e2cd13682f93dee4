package consul

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OperatorService operates the cluster: Raft, autopilot, keyring and usage under /v1/operator/.
//
// Most calls need an operator:read (reads) or operator:write (changes)
// permission when ACLs are on; the keyring calls need keyring:read and
// keyring:write.
type OperatorService service

// --- Raft ---

// RaftConfiguration is the Raft configuration of a datacenter's servers.
type RaftConfiguration struct {
	// Servers are the Raft peers.
	Servers []*RaftServer
	// Index is the Raft index of this configuration.
	Index uint64
}

// RaftServer is one Raft peer.
type RaftServer struct {
	// ID is the server's Raft ID (its node ID).
	ID string
	// Node is the server's node name, or "(unknown)".
	Node string
	// Address is the server's Raft RPC address, "ip:port", as listed by
	// Status.Peers.
	Address string
	// Leader is true for the current leader.
	Leader bool
	// ProtocolVersion is the Raft protocol version, e.g. "3".
	ProtocolVersion string
	// Voter is true for a voting member; a server still being promoted by
	// autopilot, or a read replica, is not.
	Voter bool
	// LastIndex is the last Raft log index the server has.
	LastIndex uint64
}

// Leader returns the leader of the configuration, or nil.
func (c *RaftConfiguration) Leader() *RaftServer {
	for _, s := range c.Servers {
		if s.Leader {
			return s
		}
	}
	return nil
}

var epOperatorRaftConfiguration = endpoint{name: "Operator.RaftConfiguration", method: http.MethodGet, route: "/v1/operator/raft/configuration", opts: oDC | oConsistency, read: true}

// RaftConfiguration returns the Raft configuration: GET
// /v1/operator/raft/configuration. Pass Stale() to read it from any server
// when the datacenter has no leader. It does not block.
func (s *OperatorService) RaftConfiguration(ctx context.Context, opts ...Option) (*RaftConfiguration, *Meta, error) {
	var out RaftConfiguration
	meta, err := s.client.call(ctx, &epOperatorRaftConfiguration, "/v1/operator/raft/configuration", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epOperatorRemoveRaftPeerByID = endpoint{name: "Operator.RemoveRaftPeerByID", method: http.MethodDelete, route: "/v1/operator/raft/peer", opts: oDC}

// RemoveRaftPeerByID removes the server with Raft ID id from the Raft
// configuration: DELETE /v1/operator/raft/peer?id=. Use it for a server that
// is gone for good and that autopilot did not clean up; removing a live
// server makes it a lone peer that cannot elect itself. An ID that is not in
// the configuration is a *StatusError (500). An empty id is refused before
// sending.
func (s *OperatorService) RemoveRaftPeerByID(ctx context.Context, id string, opts ...Option) error {
	if id == "" {
		return argError("id", "empty")
	}
	_, err := s.client.call(ctx, &epOperatorRemoveRaftPeerByID, "/v1/operator/raft/peer", []param{{"id", id}}, nil, opts, nil)
	return err
}

var epOperatorRemoveRaftPeerByAddress = endpoint{name: "Operator.RemoveRaftPeerByAddress", method: http.MethodDelete, route: "/v1/operator/raft/peer", opts: oDC}

// RemoveRaftPeerByAddress removes the server with Raft address addr
// ("ip:port", as in RaftServer.Address) from the Raft configuration: DELETE
// /v1/operator/raft/peer?address=. See RemoveRaftPeerByID. An empty addr,
// or one that is not "host:port", is refused before sending.
func (s *OperatorService) RemoveRaftPeerByAddress(ctx context.Context, addr string, opts ...Option) error {
	if addr == "" {
		return argError("address", "empty")
	}
	if i := strings.LastIndexByte(addr, ':'); i <= 0 || i == len(addr)-1 {
		return argError("address", "%q is not host:port", addr)
	}
	_, err := s.client.call(ctx, &epOperatorRemoveRaftPeerByAddress, "/v1/operator/raft/peer", []param{{"address", addr}}, nil, opts, nil)
	return err
}

var epOperatorTransferLeader = endpoint{name: "Operator.TransferLeader", method: http.MethodPost, route: "/v1/operator/raft/transfer-leader", opts: oPartition}

// TransferLeader asks the leader to hand leadership over: POST
// /v1/operator/raft/transfer-leader. An empty id lets Raft pick the most
// up-to-date voter; otherwise id is the Raft ID (RaftServer.ID) of the
// server to take over. It returns once the transfer is done or has failed;
// a failure (an unknown id, a single-server datacenter...) is a
// *StatusError.
func (s *OperatorService) TransferLeader(ctx context.Context, id string, opts ...Option) error {
	var ps []param
	if id != "" {
		ps = []param{{"id", id}}
	}
	var out struct{ Success bool }
	if _, err := s.client.call(ctx, &epOperatorTransferLeader, "/v1/operator/raft/transfer-leader", ps, nil, opts, &out); err != nil {
		return err
	}
	if !out.Success {
		return fmt.Errorf("consul: POST /v1/operator/raft/transfer-leader: the transfer did not succeed")
	}
	return nil
}

// --- Autopilot ---

// AutopilotConfiguration is the autopilot configuration of a datacenter.
// Read it with OperatorService.AutopilotConfiguration, change it and write
// it back with SetAutopilotConfiguration or SetAutopilotConfigurationCAS:
// every field is sent.
type AutopilotConfiguration struct {
	// CleanupDeadServers removes dead servers from Raft when a new server
	// joins (Consul's default: true).
	CleanupDeadServers bool
	// LastContactThreshold is how long a server may go without contact
	// from the leader before it counts as unhealthy (default 200ms).
	LastContactThreshold time.Duration
	// MaxTrailingLogs is how many log entries a server may lag behind the
	// leader and still be healthy (default 250).
	MaxTrailingLogs uint64
	// MinQuorum is the number of servers below which autopilot stops
	// removing dead servers (0: no floor).
	MinQuorum uint
	// ServerStabilizationTime is how long a new server must stay healthy
	// before it is promoted to voter (default 10s).
	ServerStabilizationTime time.Duration
	// RedundancyZoneTag, DisableUpgradeMigration and UpgradeVersionTag are
	// Consul Enterprise features.
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string
	// CreateIndex and ModifyIndex are set by Consul; pass ModifyIndex to
	// SetAutopilotConfigurationCAS.
	CreateIndex uint64
	ModifyIndex uint64
}

var epOperatorAutopilotConfiguration = endpoint{name: "Operator.AutopilotConfiguration", method: http.MethodGet, route: "/v1/operator/autopilot/configuration", opts: oDC | oConsistency, read: true}

// AutopilotConfiguration returns the autopilot configuration: GET
// /v1/operator/autopilot/configuration. Pass Stale() to read it when the
// datacenter has no leader. It does not block.
func (s *OperatorService) AutopilotConfiguration(ctx context.Context, opts ...Option) (*AutopilotConfiguration, *Meta, error) {
	var out AutopilotConfiguration
	meta, err := s.client.call(ctx, &epOperatorAutopilotConfiguration, "/v1/operator/autopilot/configuration", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epOperatorSetAutopilotConfiguration = endpoint{name: "Operator.SetAutopilotConfiguration", method: http.MethodPut, route: "/v1/operator/autopilot/configuration", opts: oDC}

// SetAutopilotConfiguration replaces the autopilot configuration with conf:
// PUT /v1/operator/autopilot/configuration. Every field of conf is sent
// (CreateIndex and ModifyIndex are ignored by Consul), so start from the
// configuration read with AutopilotConfiguration. A nil conf or a negative
// duration is refused before sending.
func (s *OperatorService) SetAutopilotConfiguration(ctx context.Context, conf *AutopilotConfiguration, opts ...Option) error {
	ok, err := s.setAutopilot(ctx, &epOperatorSetAutopilotConfiguration, conf, nil, opts)
	if err == nil && !ok {
		return fmt.Errorf("consul: PUT /v1/operator/autopilot/configuration: the write was not applied")
	}
	return err
}

var epOperatorSetAutopilotConfigurationCAS = endpoint{name: "Operator.SetAutopilotConfigurationCAS", method: http.MethodPut, route: "/v1/operator/autopilot/configuration", opts: oDC}

// SetAutopilotConfigurationCAS replaces the autopilot configuration with conf
// only if the configuration's ModifyIndex is still index: PUT
// /v1/operator/autopilot/configuration?cas=index. It returns false, and no
// error, when the index did not match. Validation is that of
// SetAutopilotConfiguration.
func (s *OperatorService) SetAutopilotConfigurationCAS(ctx context.Context, conf *AutopilotConfiguration, index uint64, opts ...Option) (bool, error) {
	return s.setAutopilot(ctx, &epOperatorSetAutopilotConfigurationCAS, conf, []param{{"cas", strconv.FormatUint(index, 10)}}, opts)
}

func (s *OperatorService) setAutopilot(ctx context.Context, e *endpoint, conf *AutopilotConfiguration, ps []param, opts []Option) (bool, error) {
	if conf == nil {
		return false, argError("conf", "nil")
	}
	if conf.LastContactThreshold < 0 {
		return false, argError("AutopilotConfiguration.LastContactThreshold", "negative duration %s", conf.LastContactThreshold)
	}
	if conf.ServerStabilizationTime < 0 {
		return false, argError("AutopilotConfiguration.ServerStabilizationTime", "negative duration %s", conf.ServerStabilizationTime)
	}
	var ok bool
	_, err := s.client.call(ctx, e, "/v1/operator/autopilot/configuration", ps, conf, opts, &ok)
	return ok, err
}

// AutopilotHealth is autopilot's view of the servers' health.
type AutopilotHealth struct {
	// Healthy is true when every server is healthy.
	Healthy bool
	// FailureTolerance is how many servers may fail without losing quorum.
	FailureTolerance int
	Servers          []AutopilotServerHealth
}

// AutopilotServerHealth is the health of one server.
type AutopilotServerHealth struct {
	ID      string // Raft ID
	Name    string // node name
	Address string // Raft address, "ip:port"
	// SerfStatus is the server's LAN gossip status: "alive", "failed",
	// "left"...
	SerfStatus string
	Version    string // Consul version
	Leader     bool
	// LastContact is how long ago the leader last heard from the server.
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	// StableSince is when the server last became healthy.
	StableSince time.Time
}

var epOperatorAutopilotHealth = endpoint{name: "Operator.AutopilotHealth", method: http.MethodGet, route: "/v1/operator/autopilot/health", opts: oDC | oConsistency, read: true, okStatuses: operatorAutopilotHealthStatuses}

// AutopilotHealth returns autopilot's health of the servers: GET
// /v1/operator/autopilot/health. Consul answers 429 Too Many Requests when
// some server is unhealthy, with the same JSON body: that answer is a
// result with Healthy false, not an error (a 429 without a JSON body, from
// Consul's rate limiter, is a *StatusError matching ErrRateLimited).
// Pass Stale() to ask any server. It does not block.
func (s *OperatorService) AutopilotHealth(ctx context.Context, opts ...Option) (*AutopilotHealth, *Meta, error) {
	var out AutopilotHealth
	meta, err := s.client.call(ctx, &epOperatorAutopilotHealth, epOperatorAutopilotHealth.route, nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

// operatorAutopilotHealthStatuses: an unhealthy cluster answers 429 with
// the health report as its body.
var operatorAutopilotHealthStatuses = []int{http.StatusTooManyRequests}

// AutopilotServerStatus is a server's role as autopilot sees it.
type AutopilotServerStatus string

// The values of AutopilotServer.Status.
const (
	AutopilotServerNone     AutopilotServerStatus = "none"
	AutopilotServerLeader   AutopilotServerStatus = "leader"
	AutopilotServerVoter    AutopilotServerStatus = "voter"
	AutopilotServerNonVoter AutopilotServerStatus = "non-voter"
	AutopilotServerStaging  AutopilotServerStatus = "staging"
)

// AutopilotServerType is the kind of server autopilot manages.
type AutopilotServerType string

// The values of AutopilotServer.NodeType; all but AutopilotTypeVoter are
// Consul Enterprise's.
const (
	AutopilotTypeVoter          AutopilotServerType = "voter"
	AutopilotTypeReadReplica    AutopilotServerType = "read-replica"
	AutopilotTypeZoneVoter      AutopilotServerType = "zone-voter"
	AutopilotTypeZoneExtraVoter AutopilotServerType = "zone-extra-voter"
	AutopilotTypeZoneStandby    AutopilotServerType = "zone-standby"
)

// AutopilotState is autopilot's full state of the datacenter's servers.
type AutopilotState struct {
	Healthy          bool
	FailureTolerance int
	// OptimisticFailureTolerance counts also the servers that are not
	// voters yet (Enterprise).
	OptimisticFailureTolerance int
	// Servers by Raft ID.
	Servers map[string]AutopilotServer
	// Leader is the leader's Raft ID.
	Leader string
	// Voters are the Raft IDs of the voters.
	Voters []string
	// ReadReplicas, RedundancyZones and Upgrade are set by Consul
	// Enterprise only.
	ReadReplicas    []string                 `json:",omitempty"`
	RedundancyZones map[string]AutopilotZone `json:",omitempty"`
	Upgrade         *AutopilotUpgrade        `json:",omitempty"`
}

// AutopilotServer is one server in AutopilotState.
type AutopilotServer struct {
	ID         string // Raft ID
	Name       string // node name
	Address    string // Raft address, "ip:port"
	NodeStatus string // LAN gossip status: "alive", "failed", "left"...
	Version    string
	// LastContact is how long ago the leader last heard from the server.
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	// StableSince is when the server last became healthy.
	StableSince    time.Time
	RedundancyZone string `json:",omitempty"`
	UpgradeVersion string `json:",omitempty"`
	ReadReplica    bool
	Status         AutopilotServerStatus
	Meta           map[string]string
	NodeType       AutopilotServerType
}

// AutopilotZone is a redundancy zone (Enterprise).
type AutopilotZone struct {
	Servers          []string
	Voters           []string
	FailureTolerance int
}

// AutopilotUpgrade is the state of an automated upgrade (Enterprise).
type AutopilotUpgrade struct {
	// Status is e.g. "idle", "await-new-voters", "promoting", "demoting",
	// "leader-transfer", "await-new-servers", "await-server-removal" or
	// "disabled".
	Status                    string
	TargetVersion             string                                  `json:",omitempty"`
	TargetVersionVoters       []string                                `json:",omitempty"`
	TargetVersionNonVoters    []string                                `json:",omitempty"`
	TargetVersionReadReplicas []string                                `json:",omitempty"`
	OtherVersionVoters        []string                                `json:",omitempty"`
	OtherVersionNonVoters     []string                                `json:",omitempty"`
	OtherVersionReadReplicas  []string                                `json:",omitempty"`
	RedundancyZones           map[string]AutopilotZoneUpgradeVersions `json:",omitempty"`
}

// AutopilotZoneUpgradeVersions is an upgrade's view of one redundancy zone.
type AutopilotZoneUpgradeVersions struct {
	TargetVersionVoters    []string `json:",omitempty"`
	TargetVersionNonVoters []string `json:",omitempty"`
	OtherVersionVoters     []string `json:",omitempty"`
	OtherVersionNonVoters  []string `json:",omitempty"`
}

var epOperatorAutopilotState = endpoint{name: "Operator.AutopilotState", method: http.MethodGet, route: "/v1/operator/autopilot/state", opts: oDC | oConsistency, read: true}

// AutopilotState returns autopilot's state of the servers: GET
// /v1/operator/autopilot/state. Pass Stale() to ask any server. It does not
// block.
func (s *OperatorService) AutopilotState(ctx context.Context, opts ...Option) (*AutopilotState, *Meta, error) {
	var out AutopilotState
	meta, err := s.client.call(ctx, &epOperatorAutopilotState, "/v1/operator/autopilot/state", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

// --- Keyring ---

// KeyringResponse is one gossip pool's answer to a keyring list: the WAN
// pool of the servers, or the LAN pool of a datacenter.
type KeyringResponse struct {
	// WAN is true for the WAN pool; Datacenter then is the answering
	// server's.
	WAN        bool
	Datacenter string
	// Segment and Partition name the LAN pool in Consul Enterprise.
	Segment   string
	Partition string `json:",omitempty"`
	// Messages are per-node messages, by node name.
	Messages map[string]string `json:",omitempty"`
	// Keys counts, for each installed key, the nodes that have it.
	Keys map[string]int
	// PrimaryKeys counts, for each primary key, the nodes using it to
	// encrypt.
	PrimaryKeys map[string]int
	// NumNodes is the number of nodes in the pool.
	NumNodes int
}

// KeyringRelayFactor asks the agents to relay their keyring answers
// through n (0 to 5) other random nodes, for lossy networks
// (?relay-factor=n). Another n is refused before sending.
func KeyringRelayFactor(n int) Option {
	return routeOption(optKeyringRelayFactor, "relay-factor", strconv.Itoa(n))
}

// KeyringLocalOnly makes ListKeys ask only the servers of the local
// datacenter, not the WAN pool (?local-only=true). The other keyring calls
// refuse it.
func KeyringLocalOnly() Option { return routeOption(optKeyringLocalOnly, "local-only", "true") }

// keyringCheckOpts refuses a relay factor out of 0-5 (KeyringLocalOnly
// applies to the list only, by its option set).
func keyringCheckOpts(opts []Option) error {
	for _, op := range opts {
		if op.kind == optKeyringRelayFactor || (op.kind == optParam && op.s1 == "relay-factor") {
			n, err := strconv.Atoi(op.s2)
			if err != nil || n < 0 || n > 5 {
				return argError("relay-factor", "%q is not in 0 to 5", op.s2)
			}
		}
	}
	return nil
}

// keyringCheckKey refuses a key that is not the base64 form of 16, 24 or
// 32 bytes (an AES-128, -192 or -256 key), as `consul keygen` makes.
func keyringCheckKey(key string) error {
	if key == "" {
		return argError("key", "empty")
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return argError("key", "not base64: %v", err)
	}
	switch len(raw) {
	case 16, 24, 32:
		return nil
	}
	return argError("key", "%d bytes; want 16, 24 or 32", len(raw))
}

var epOperatorListKeys = endpoint{name: "Operator.ListKeys", method: http.MethodGet, route: "/v1/operator/keyring", opts: 1<<optKeyringRelayFactor | 1<<optKeyringLocalOnly, read: true}

// ListKeys lists the gossip encryption keys installed on every node,
// one KeyringResponse per pool: GET /v1/operator/keyring. Pass
// KeyringLocalOnly to skip the WAN pool and KeyringRelayFactor for lossy
// networks. An agent without gossip encryption answers with a
// *StatusError (500). It does not block.
func (s *OperatorService) ListKeys(ctx context.Context, opts ...Option) ([]*KeyringResponse, *Meta, error) {
	if err := keyringCheckOpts(opts); err != nil {
		return nil, nil, err
	}
	var out []*KeyringResponse
	meta, err := s.client.call(ctx, &epOperatorListKeys, "/v1/operator/keyring", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []*KeyringResponse{}
	}
	return out, meta, nil
}

var epOperatorInstallKey = endpoint{name: "Operator.InstallKey", method: http.MethodPost, route: "/v1/operator/keyring", opts: 1 << optKeyringRelayFactor}

// InstallKey installs a new gossip encryption key on every node, without
// using it yet: POST /v1/operator/keyring. key is the base64 form of a 16,
// 24 or 32-byte key (`consul keygen` makes 32); another one is refused
// before sending. An error of any node is a *StatusError (500) listing
// them.
func (s *OperatorService) InstallKey(ctx context.Context, key string, opts ...Option) error {
	return s.keyringWrite(ctx, &epOperatorInstallKey, key, opts)
}

var epOperatorUseKey = endpoint{name: "Operator.UseKey", method: http.MethodPut, route: "/v1/operator/keyring", opts: 1 << optKeyringRelayFactor}

// UseKey makes an installed key the primary one, the key every node
// encrypts with: PUT /v1/operator/keyring. See InstallKey for key.
func (s *OperatorService) UseKey(ctx context.Context, key string, opts ...Option) error {
	return s.keyringWrite(ctx, &epOperatorUseKey, key, opts)
}

var epOperatorRemoveKey = endpoint{name: "Operator.RemoveKey", method: http.MethodDelete, route: "/v1/operator/keyring", opts: 1 << optKeyringRelayFactor}

// RemoveKey removes a key from every node: DELETE
// /v1/operator/keyring. The primary key cannot be removed (Consul answers
// 500). See InstallKey for key.
func (s *OperatorService) RemoveKey(ctx context.Context, key string, opts ...Option) error {
	return s.keyringWrite(ctx, &epOperatorRemoveKey, key, opts)
}

func (s *OperatorService) keyringWrite(ctx context.Context, e *endpoint, key string, opts []Option) error {
	if err := keyringCheckKey(key); err != nil {
		return err
	}
	if err := keyringCheckOpts(opts); err != nil {
		return err
	}
	body := struct{ Key string }{key}
	// A gossip key is a secret: redacted should Consul echo it.
	_, err := s.client.callSecret(ctx, e, "/v1/operator/keyring", body, key, opts, nil)
	return err
}

// --- Usage ---

// OperatorUsage counts what a cluster serves, by datacenter.
type OperatorUsage struct {
	// Usage by datacenter name.
	Usage map[string]OperatorServiceUsage
}

// OperatorServiceUsage counts a datacenter's nodes and services.
type OperatorServiceUsage struct {
	Nodes            int
	Services         int
	ServiceInstances int
	// ConnectServiceInstances counts instances by kind: "connect-proxy",
	// "connect-native", "mesh-gateway", "ingress-gateway",
	// "terminating-gateway", "api-gateway".
	ConnectServiceInstances  map[string]int
	BillableServiceInstances int
	// The counts by partition and namespace, set by Consul Enterprise only.
	PartitionNamespaceServices                 map[string]map[string]int            `json:",omitempty"`
	PartitionNamespaceServiceInstances         map[string]map[string]int            `json:",omitempty"`
	PartitionNamespaceConnectServiceInstances  map[string]map[string]map[string]int `json:",omitempty"`
	PartitionNamespaceBillableServiceInstances map[string]map[string]int            `json:",omitempty"`
}

// UsageGlobal makes Usage count every datacenter of the federation, not
// only the one asked (?global).
func UsageGlobal() Option { return routeOption(optUsageGlobal, "global", "") }

var epOperatorUsage = endpoint{name: "Operator.Usage", method: http.MethodGet, route: "/v1/operator/usage", opts: oRead | oMaxStale | oEnt | 1<<optUsageGlobal, read: true}

// Usage counts the nodes and services of the datacenter (of every
// datacenter with UsageGlobal): GET /v1/operator/usage. It is a blocking
// read: pass WaitIndex(meta.Index) to wait for a change.
func (s *OperatorService) Usage(ctx context.Context, opts ...Option) (*OperatorUsage, *Meta, error) {
	var out OperatorUsage
	meta, err := s.client.call(ctx, &epOperatorUsage, "/v1/operator/usage", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

// --- Utilization ---

// UtilizationTodayOnly limits Utilization's bundle to today's data
// (?today_only=true).
func UtilizationTodayOnly() Option { return routeOption(optUtilTodayOnly, "today_only", "true") }

// UtilizationSendReport makes Utilization also send the bundle to
// HashiCorp's reporting service (?send_report=true), as Consul Enterprise's
// license reporting does.
func UtilizationSendReport() Option { return routeOption(optUtilSendReport, "send_report", "true") }

// UtilizationMessage attaches a note to the bundle (?message=).
func UtilizationMessage(msg string) Option { return routeOption(optUtilMessage, "message", msg) }

var epOperatorUtilization = endpoint{name: "Operator.Utilization", method: http.MethodGet, route: "/v1/operator/utilization",
	opts: oDC | oEnt | 1<<optUtilTodayOnly | 1<<optUtilSendReport | 1<<optUtilMessage, read: true}

// Utilization returns the license utilization bundle of the datacenter:
// GET /v1/operator/utilization, new in Consul 1.22, served by Consul
// Enterprise only. The bundle is a JSON document whose shape Consul
// Enterprise defines, returned as is; when there is no data Consul answers
// {"message":"no utilization data available"}. Consul CE 1.22 refuses the
// route with a 404 whose body is "operator utilization requires Consul
// Enterprise", and agents older than 1.22 answer 404 as for any unknown
// route: both are a *StatusError matching ErrNotFound (the 404 rule does
// not apply, since there is no object to wait for). It does not block.
func (s *OperatorService) Utilization(ctx context.Context, opts ...Option) (json.RawMessage, *Meta, error) {
	var out json.RawMessage
	meta, err := s.client.call(ctx, &epOperatorUtilization, "/v1/operator/utilization", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}
