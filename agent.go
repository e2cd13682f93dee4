package consul

// AgentService talks to the local agent itself: /v1/agent/ (self, host, version, metrics, maintenance, reload, tokens, monitor, connect).
type AgentService service
