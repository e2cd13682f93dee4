package consul

// ConfigEntriesService manages configuration entries (/v1/config) and reads what Consul compiles from them: discovery chains (/v1/discovery-chain/) and exported services (/v1/exported-services).
type ConfigEntriesService service
