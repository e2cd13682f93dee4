package consul

// OperatorService operates the cluster: Raft, autopilot, keyring and usage under /v1/operator/.
type OperatorService service
