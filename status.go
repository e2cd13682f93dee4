package consul

import (
	"context"
	"net/http"
)

// StatusService reads the Raft status of the servers: /v1/status/.
type StatusService service

var epStatusLeader = endpoint{name: "Status.Leader", method: http.MethodGet, route: "/v1/status/leader", opts: oDC, read: true}

// Leader returns the address ("ip:port") of the Raft leader: GET
// /v1/status/leader. An empty string means there is no leader now. It does
// not block.
func (s *StatusService) Leader(ctx context.Context, opts ...Option) (string, *Meta, error) {
	var out string
	meta, err := s.client.call(ctx, &epStatusLeader, "/v1/status/leader", nil, nil, opts, &out)
	return out, meta, err
}

var epStatusPeers = endpoint{name: "Status.Peers", method: http.MethodGet, route: "/v1/status/peers", opts: oDC, read: true}

// Peers returns the addresses of the Raft peers: GET /v1/status/peers. It
// does not block.
func (s *StatusService) Peers(ctx context.Context, opts ...Option) ([]string, *Meta, error) {
	var out []string
	meta, err := s.client.call(ctx, &epStatusPeers, "/v1/status/peers", nil, nil, opts, &out)
	return out, meta, err
}
