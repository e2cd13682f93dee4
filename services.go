package consul

// ServicesService manages the services registered on the local agent: /v1/agent/service/ and /v1/agent/services.
type ServicesService service
