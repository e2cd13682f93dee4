package consul

// QueryService manages and executes prepared queries: /v1/query.
type QueryService service
