package consul

// CoordinateService reads and updates network coordinates: /v1/coordinate/.
type CoordinateService service
