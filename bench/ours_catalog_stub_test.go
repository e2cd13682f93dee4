//go:build !catalogapi

package bench

// Health.Service and Catalog.Services are not on this branch yet.
var (
	oursHealthService   runFunc
	oursCatalogServices runFunc
)
