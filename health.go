package consul

// HealthService reads the health of nodes, services and checks: /v1/health/.
type HealthService service
