package consul

// MembersService manages the agent's Serf cluster membership: /v1/agent/members, join, leave and force-leave.
type MembersService service
