package consul

// ACLService manages the ACL system: tokens, policies, roles, auth methods and binding rules under /v1/acl/.
type ACLService service
