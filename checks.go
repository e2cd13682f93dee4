package consul

// ChecksService manages the checks registered on the local agent: /v1/agent/check/ and /v1/agent/checks.
type ChecksService service
