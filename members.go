package consul

import (
	"context"
	"net/http"
	"strconv"
)

// MembersService manages the agent's Serf cluster membership: /v1/agent/members, join, leave and force-leave.
//
// List, Join and ForceLeave work on the LAN pool by default; pass
// MembersWAN() to work on the WAN pool of the servers instead:
//
//	lan, _, err := client.Members.List(ctx)
//	wan, _, err := client.Members.List(ctx, consul.MembersWAN())
//	err = client.Members.ForceLeave(ctx, "gone-node", consul.MembersPrune())
type MembersService service

// AgentMemberStatus is a member's Serf status.
type AgentMemberStatus int

// The Serf statuses of a member.
const (
	MemberNone    AgentMemberStatus = 0
	MemberAlive   AgentMemberStatus = 1
	MemberLeaving AgentMemberStatus = 2
	MemberLeft    AgentMemberStatus = 3
	MemberFailed  AgentMemberStatus = 4
)

// String returns "none", "alive", "leaving", "left" or "failed".
func (s AgentMemberStatus) String() string {
	switch s {
	case MemberNone:
		return "none"
	case MemberAlive:
		return "alive"
	case MemberLeaving:
		return "leaving"
	case MemberLeft:
		return "left"
	case MemberFailed:
		return "failed"
	}
	return "AgentMemberStatus(" + strconv.Itoa(int(s)) + ")"
}

// AgentMember is one member of a Serf pool (Serf's Member).
type AgentMember struct {
	Name string
	Addr string
	Port uint16
	// Tags are Consul's gossip tags: "role" ("consul" for a server, "node"
	// for a client), "dc", "segment", "build", "vsn"...
	Tags   map[string]string
	Status AgentMemberStatus
	// The Serf protocol versions the member understands and speaks, and
	// those of its delegate (Consul).
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// MembersWAN makes Members.List, Join and ForceLeave work on the WAN pool
// (?wan=1) instead of the LAN pool.
func MembersWAN() Option { return routeOption(optMembersWAN, "wan", "1") }

// MembersSegment makes Members.List list a network segment of the LAN pool
// (?segment=, Consul Enterprise); "_all" lists every segment.
func MembersSegment(segment string) Option { return routeOption(optMembersSegment, "segment", segment) }

// MembersPrune makes Members.ForceLeave also remove the node from the
// member list at once, rather than leaving it "left" for a while (?prune).
func MembersPrune() Option { return routeOption(optMembersPrune, "prune", "") }

var epMembersList = endpoint{name: "Members.List", method: http.MethodGet, route: "/v1/agent/members", opts: oFilter | oPartition | 1<<optMembersWAN | 1<<optMembersSegment, read: true}

// List returns the members of the agent's LAN pool, or the WAN pool with
// MembersWAN() (aioconsul's members.items): GET /v1/agent/members. It takes
// Filter and MembersSegment. It does not block.
func (s *MembersService) List(ctx context.Context, opts ...Option) ([]*AgentMember, *Meta, error) {
	var out []*AgentMember
	meta, err := s.client.call(ctx, &epMembersList, "/v1/agent/members", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []*AgentMember{}
	}
	return out, meta, nil
}

var epMembersJoin = endpoint{name: "Members.Join", method: http.MethodPut, route: "/v1/agent/join/:address", opts: oPartition | 1<<optMembersWAN}

// Join makes the agent join the pool of the agent at address ("ip:port" of
// its Serf LAN port, or of its Serf WAN port with MembersWAN()) (aioconsul's
// members.join): PUT /v1/agent/join/:address. Joining a member already in
// the pool succeeds. An address that is not one path segment (empty, "."
// or "..", with a '/' or a control character) is refused before sending.
func (s *MembersService) Join(ctx context.Context, address string, opts ...Option) error {
	path, err := buildPath("/v1/agent/join/{address}", address)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epMembersJoin, path, nil, nil, opts, nil)
	return err
}

var epMembersLeave = endpoint{name: "Members.Leave", method: http.MethodPut, route: "/v1/agent/leave", opts: 0}

// Leave makes the agent leave its cluster gracefully and shut down: PUT
// /v1/agent/leave. The agent process exits once it has left.
func (s *MembersService) Leave(ctx context.Context, opts ...Option) error {
	_, err := s.client.call(ctx, &epMembersLeave, "/v1/agent/leave", nil, nil, opts, nil)
	return err
}

var epMembersForceLeave = endpoint{name: "Members.ForceLeave", method: http.MethodPut, route: "/v1/agent/force-leave/:node", opts: oPartition | 1<<optMembersPrune | 1<<optMembersWAN}

// ForceLeave marks a failed node as left (aioconsul's members.force_leave):
// PUT /v1/agent/force-leave/:node. MembersPrune() also removes it from the
// member list, MembersWAN() works on the WAN pool (node is then
// "name.datacenter"). It needs operator:write. A node that is not one path
// segment is refused before sending.
func (s *MembersService) ForceLeave(ctx context.Context, node string, opts ...Option) error {
	path, err := buildPath("/v1/agent/force-leave/{node}", node)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epMembersForceLeave, path, nil, nil, opts, nil)
	return err
}
