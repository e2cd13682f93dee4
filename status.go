package consul

import "context"

// StatusService reads the Raft status of the servers: /v1/status/.
type StatusService service

// Leader returns the address ("ip:port") of the Raft leader: GET
// /v1/status/leader. An empty string means there is no leader now. It does
// not block.
func (s *StatusService) Leader(ctx context.Context, opts ...Option) (string, *Meta, error) {
	var out string
	meta, err := s.client.get(ctx, "/v1/status/leader", nil, opts, &out)
	return out, meta, err
}

// Peers returns the addresses of the Raft peers: GET /v1/status/peers. It
// does not block.
func (s *StatusService) Peers(ctx context.Context, opts ...Option) ([]string, *Meta, error) {
	var out []string
	meta, err := s.client.get(ctx, "/v1/status/peers", nil, opts, &out)
	return out, meta, err
}
