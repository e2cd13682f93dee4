package consul

// PeeringService manages cluster peering: /v1/peering/ and /v1/peerings.
type PeeringService service
