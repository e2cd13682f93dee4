package consul

// ConnectService manages the service mesh CA (/v1/connect/ca/) and intentions (/v1/connect/intentions).
type ConnectService service
