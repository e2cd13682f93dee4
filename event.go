package consul

// EventService fires and lists user events: /v1/event/.
type EventService service
