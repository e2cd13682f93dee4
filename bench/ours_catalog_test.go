package bench

import (
	"context"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/bench/internal/fixture"
)

func oursHealthService(ctx context.Context, e *env) (int, error) {
	es, _, err := e.ours.Health.ListServiceInstances(ctx, fixture.Service, consul.Passing())
	return len(es), err
}

func oursCatalogServices(ctx context.Context, e *env) (int, error) {
	m, _, err := e.ours.Catalog.ListServices(ctx)
	return len(m), err
}
