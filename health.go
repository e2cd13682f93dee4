package consul

import (
	"context"
)

// HealthService reads the health of nodes, services and checks: /v1/health/.
//
// Every method is a read that supports blocking and consistency options,
// the usual way to watch a service's healthy instances.
type HealthService service

// ListNodeChecks lists the checks of a node, its node-level checks and those
// of its services: GET /v1/health/node/:node. A node that does not exist has
// no check: an empty list. Filter selects checks. A name that is not one
// path segment (empty, "." or "..", with a '/' or a control character) is
// refused before sending.
func (s *HealthService) ListNodeChecks(ctx context.Context, node string, opts ...Option) ([]*HealthCheck, *Meta, error) {
	return s.checks(ctx, "/v1/health/node/{node}", node, opts)
}

// ListServiceChecks lists the checks of every instance of a service:
// GET /v1/health/checks/:service. Near sorts them by round trip time from
// a node, NodeMeta and Filter select them. A service that does not exist
// has no check: an empty list. A name that is not one path segment is
// refused before sending.
func (s *HealthService) ListServiceChecks(ctx context.Context, service string, opts ...Option) ([]*HealthCheck, *Meta, error) {
	return s.checks(ctx, "/v1/health/checks/{service}", service, opts)
}

// ListChecksInState lists the checks in a state: GET
// /v1/health/state/:state, where state is HealthAny, HealthPassing,
// HealthWarning or HealthCritical; any other state is refused before
// sending. Near sorts the checks by round trip time from a node, NodeMeta
// and Filter select them.
func (s *HealthService) ListChecksInState(ctx context.Context, state HealthStatus, opts ...Option) ([]*HealthCheck, *Meta, error) {
	switch state {
	case HealthAny, HealthPassing, HealthWarning, HealthCritical:
	default:
		return nil, nil, argError("state", "%q is not any, passing, warning or critical", state)
	}
	return s.checks(ctx, "/v1/health/state/{state}", string(state), opts)
}

// checks reads a list of checks at route, whose one placeholder takes arg.
func (s *HealthService) checks(ctx context.Context, route, arg string, opts []Option) ([]*HealthCheck, *Meta, error) {
	path, err := buildPath(route, arg)
	if err != nil {
		return nil, nil, err
	}
	var out []*HealthCheck
	meta, err := s.client.get(ctx, path, nil, opts, &out)
	return out, meta, err
}

// ListServiceInstances lists the instances of a service, each with its node
// and the checks of both: GET /v1/health/service/:name. Passing keeps only
// the instances whose checks all pass (a warning counts as failing), Tag
// keeps instances with a tag (repeat it to require all of several tags),
// Near sorts by round trip time from a node ("_agent" for the answering
// agent), NodeMeta and Filter select. A service with no instance is an empty
// list. A name that is not one path segment is refused before sending.
// Cached is supported.
func (s *HealthService) ListServiceInstances(ctx context.Context, service string, opts ...Option) ([]*ServiceEntry, *Meta, error) {
	return s.entries(ctx, "/v1/health/service/{service}", service, opts)
}

// ListConnectInstances lists the Connect-capable instances of a service (its
// sidecar proxies and Connect-native instances) with their health: GET
// /v1/health/connect/:service. It takes the same options as
// ListServiceInstances. A name that is not one path segment is refused
// before sending.
func (s *HealthService) ListConnectInstances(ctx context.Context, service string, opts ...Option) ([]*ServiceEntry, *Meta, error) {
	return s.entries(ctx, "/v1/health/connect/{service}", service, opts)
}

// ListIngressInstances lists the ingress gateway instances that expose a
// service, with their health: GET /v1/health/ingress/:service. It takes the
// same options as ListServiceInstances. A name that is not one path segment
// is refused before sending.
func (s *HealthService) ListIngressInstances(ctx context.Context, service string, opts ...Option) ([]*ServiceEntry, *Meta, error) {
	return s.entries(ctx, "/v1/health/ingress/{service}", service, opts)
}

// entries reads the instances of a service at route, whose one placeholder
// takes the name.
func (s *HealthService) entries(ctx context.Context, route, service string, opts []Option) ([]*ServiceEntry, *Meta, error) {
	path, err := buildPath(route, service)
	if err != nil {
		return nil, nil, err
	}
	var out []*ServiceEntry
	meta, err := s.client.get(ctx, path, nil, opts, &out)
	return out, meta, err
}
