package consul

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/goconsul/consul/internal/deepcopy"
)

// TxnService runs transactions: PUT /v1/txn. See Txn.
type TxnService service

var (
	// A transaction of reads only is a read: Consul honours the
	// consistency modes there, and nowhere in a transaction that writes.
	epTxnRead  = endpoint{name: "Txn.Execute", method: http.MethodPut, route: "/v1/txn", opts: oDC | oConsistency, read: true, okStatuses: txnOKStatuses}
	epTxnWrite = endpoint{name: "Txn.Execute", method: http.MethodPut, route: "/v1/txn", opts: oDC, okStatuses: txnOKStatuses}
)

// txnOKStatuses: a rolled back transaction answers 409 with the failed
// operations in its body.
var txnOKStatuses = []int{http.StatusConflict}

// MaxTxnOps is the most operations Consul 1.19 to 1.22 accept in one
// transaction (maxTxnOps in their agent/txn_endpoint.go). Execute refuses
// more before sending.
const MaxTxnOps = 128

// KVVerb is the verb of one KV operation in a transaction.
type KVVerb string

// The KV verbs of /v1/txn.
const (
	KVSet            KVVerb = "set"              // write Value
	KVCAS            KVVerb = "cas"              // write Value if ModifyIndex is Index
	KVLock           KVVerb = "lock"             // write Value and acquire for Session
	KVUnlock         KVVerb = "unlock"           // write Value and release for Session
	KVGet            KVVerb = "get"              // read the key; fails the transaction if missing
	KVGetOrEmpty     KVVerb = "get-or-empty"     // read the key; an empty entry if missing
	KVGetTree        KVVerb = "get-tree"         // read every key under the prefix
	KVCheckIndex     KVVerb = "check-index"      // fail unless ModifyIndex is Index
	KVCheckSession   KVVerb = "check-session"    // fail unless Session holds the lock
	KVCheckNotExists KVVerb = "check-not-exists" // fail if the key exists
	KVDelete         KVVerb = "delete"           // delete the key
	KVDeleteCAS      KVVerb = "delete-cas"       // delete the key if ModifyIndex is Index
	KVDeleteTree     KVVerb = "delete-tree"      // delete every key under the prefix
)

func (v KVVerb) isRead() bool {
	switch v {
	case KVGet, KVGetOrEmpty, KVGetTree, KVCheckIndex, KVCheckSession, KVCheckNotExists:
		return true
	}
	return false
}

// NodeVerb is the verb of one catalog node operation in a transaction.
type NodeVerb string

// The node verbs of /v1/txn.
const (
	NodeGet       NodeVerb = "get"        // read the node; fails the transaction if missing
	NodeSet       NodeVerb = "set"        // register or update the node
	NodeCAS       NodeVerb = "cas"        // set if the node's ModifyIndex is Node.ModifyIndex (0: if absent)
	NodeDelete    NodeVerb = "delete"     // deregister the node, its services and checks
	NodeDeleteCAS NodeVerb = "delete-cas" // delete if the node's ModifyIndex is Node.ModifyIndex
)

// ServiceVerb is the verb of one catalog service operation in a
// transaction.
type ServiceVerb string

// The service verbs of /v1/txn.
const (
	ServiceGet       ServiceVerb = "get"        // read the service; fails the transaction if missing
	ServiceSet       ServiceVerb = "set"        // register or update the service on Node
	ServiceCAS       ServiceVerb = "cas"        // set if the service's ModifyIndex is Service.ModifyIndex (0: if absent)
	ServiceDelete    ServiceVerb = "delete"     // deregister the service
	ServiceDeleteCAS ServiceVerb = "delete-cas" // delete if the service's ModifyIndex is Service.ModifyIndex
)

// CheckVerb is the verb of one catalog check operation in a transaction.
type CheckVerb string

// The check verbs of /v1/txn.
const (
	CheckGet       CheckVerb = "get"        // read the check; fails the transaction if missing
	CheckSet       CheckVerb = "set"        // register or update the check
	CheckCAS       CheckVerb = "cas"        // set if the check's ModifyIndex is Check.ModifyIndex (0: if absent)
	CheckDelete    CheckVerb = "delete"     // deregister the check
	CheckDeleteCAS CheckVerb = "delete-cas" // delete if the check's ModifyIndex is Check.ModifyIndex
)

// TxnOp is one operation of a transaction, as sent to Consul: exactly one
// of its fields is set.
//
// Consul's servers also know session operations (a "delete" of a
// session, in agent/structs/txn.go), but /v1/txn does not take them in
// 1.19 to 1.22: its body is decoded strictly into the api's TxnOp, which
// has no Session field, and a transaction holding one is refused with a
// 400. Destroy a session with Session.Destroy.
type TxnOp struct {
	KV      *KVTxnOp      `json:",omitempty"`
	Node    *NodeTxnOp    `json:",omitempty"`
	Service *ServiceTxnOp `json:",omitempty"`
	Check   *CheckTxnOp   `json:",omitempty"`
}

// KVTxnOp is a KV operation of a transaction.
type KVTxnOp struct {
	Verb      KVVerb
	Key       string
	Value     []byte `json:",omitempty"`
	Flags     uint64 `json:",omitempty"`
	Index     uint64 `json:",omitempty"`
	Session   string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	Partition string `json:",omitempty"`
}

// NodeTxnOp is a catalog node operation of a transaction, in Consul's
// shape: the node is named by Node.Node, and the index of cas and
// delete-cas is Node.ModifyIndex.
//
// It is sent with the fields /v1/txn keeps: ID, Node, Address, Datacenter
// (Consul fills in the agent's), Partition, PeerName, TaggedAddresses and
// Meta, and ModifyIndex for cas and delete-cas only. A set or cas with a
// Locality, which the route drops, is refused before sending.
type NodeTxnOp struct {
	Verb NodeVerb
	Node Node
}

// ServiceTxnOp is a catalog service operation of a transaction, in
// Consul's shape: the service is Service.ID on the node named Node (an
// empty ID is the name, Service.Service, which set, cas, delete and
// delete-cas need: Consul checks it, and the token's service:write on it),
// and the index of cas and delete-cas is Service.ModifyIndex.
//
// It is sent with the fields /v1/txn keeps: Kind, ID, Service, Tags,
// Address, Meta, Port, Weights (Consul's default of 1 and 1 when nil),
// EnableTagOverride, Namespace, Partition, the proxy's destination and
// local service fields, and TaggedAddresses (which Consul 1.19 drops; 1.20
// and later keep them); ModifyIndex for cas and delete-cas only. The
// read-only fields (CreateIndex, ContentHash, Datacenter) are not sent. A
// set or cas with a field the route drops (SocketPath, Locality, a
// non-empty Connect, PeerName, Proxy.Mode, Proxy.Config, Proxy.Upstreams)
// is refused before sending.
type ServiceTxnOp struct {
	Verb    ServiceVerb
	Node    string
	Service NodeService
}

// CheckTxnOp is a catalog check operation of a transaction, in Consul's
// shape: the check is Check.CheckID on the node Check.Node, and the index
// of cas and delete-cas is Check.ModifyIndex.
//
// It is sent with the fields /v1/txn keeps: Node, CheckID, Name, Status
// (Consul's default is critical), Notes, Output, ServiceID, ServiceName,
// ServiceTags, Type (which Consul 1.19 drops), ExposedPort, PeerName,
// Namespace, Partition, and of the Definition HTTP, TLSServerName,
// TLSSkipVerify, Header, Method, Body, TCP, TCPUseTLS, GRPC, GRPCUseTLS,
// OSService, Interval, Timeout and DeregisterCriticalServiceAfter;
// ModifyIndex for cas and delete-cas only. A set or cas with a definition
// field the route drops (TTL, UDP, H2PING, ScriptArgs, the alias fields...),
// or with the top-level Interval or Timeout (which reads report from the
// definition) differing from the Definition's, is refused before sending.
type CheckTxnOp struct {
	Verb  CheckVerb
	Check HealthCheck
}

// TxnResult is one result of a transaction: exactly one of its fields is
// set. Results do not line up one to one with the operations: each KV
// write, read and check-* yields one (a get-tree one per key, writes
// without the value), each node, service and check get, set and cas yields
// the object as stored, and deletes yield none.
type TxnResult struct {
	KV      *KVPair      `json:",omitempty"`
	Node    *Node        `json:",omitempty"`
	Service *NodeService `json:",omitempty"`
	Check   *HealthCheck `json:",omitempty"`
}

type txnResponse struct {
	Results []TxnResult
	Errors  []TxnOpError
}

// failure makes a rolled back transaction the call's error (failedAnswer).
func (r *txnResponse) failure() error {
	if len(r.Errors) > 0 {
		return &TxnError{Errors: r.Errors}
	}
	return nil
}

// Txn builds a transaction: chain operations, then Execute. All operations
// apply atomically or none does. A Txn is not safe for concurrent use.
//
//	results, meta, err := client.Txn.New().
//		CheckIndex("app/config", idx).
//		Set("app/config", newValue).
//		SetService("node-1", &consul.NodeService{ID: "web-1", Service: "web", Port: 8080}).
//		SetCheck(&consul.HealthCheck{Node: "node-1", CheckID: "web-1:alive", Name: "alive", ServiceID: "web-1", Status: consul.HealthPassing}).
//		Execute(ctx)
//
// An operation that cannot be right (an empty key or name, an unknown
// verb, a field /v1/txn would drop) makes Execute fail before sending,
// with an *ArgumentError naming the operation by its index ("txn op 3
// node"); the operations after it are not added.
type Txn struct {
	c   *Client
	ops []txnSlot // stored by value: one growing array, not one allocation per KV operation
	err error
}

// txnSlot is one operation: kv unless one of the pointers is set.
type txnSlot struct {
	kv      KVTxnOp
	node    *NodeTxnOp
	service *ServiceTxnOp
	check   *CheckTxnOp
}

func (s *txnSlot) isRead() bool {
	switch {
	case s.node != nil:
		return s.node.Verb == NodeGet
	case s.service != nil:
		return s.service.Verb == ServiceGet
	case s.check != nil:
		return s.check.Verb == CheckGet
	}
	return s.kv.Verb.isRead()
}

// New starts an empty transaction (aioconsul's kv.prepare()). Transactions
// live on their own sub-client, not on KV: /v1/txn takes KV, node, service
// and check operations.
func (s *TxnService) New() *Txn { return &Txn{c: s.client} }

// wire returns the operations built so far, pointing into the builder:
// what Execute sends.
func (t *Txn) wire() []TxnOp {
	ops := make([]TxnOp, len(t.ops))
	for i := range t.ops {
		s := &t.ops[i]
		switch {
		case s.node != nil:
			ops[i].Node = s.node
		case s.service != nil:
			ops[i].Service = s.service
		case s.check != nil:
			ops[i].Check = s.check
		default:
			ops[i].KV = &s.kv
		}
	}
	return ops
}

// Ops returns copies of the operations built so far, as sent to Consul,
// whole (their tags, metadata, proxies...): changing them changes nothing
// in the transaction.
func (t *Txn) Ops() []TxnOp {
	return deepcopy.Of(t.wire())
}

// opArg names the argument at fault in operation i: "txn op 3 key".
func opArg(i int, what string) string { return fmt.Sprintf("txn op %d %s", i, what) }

// KV adds a KV operation as is; the named methods below cover every verb.
func (t *Txn) KV(op KVTxnOp) *Txn {
	if t.err != nil {
		return t
	}
	i := len(t.ops)
	// An empty prefix reads the whole store; it never deletes it (as
	// KV.DeleteTree, which refuses it).
	emptyOK := op.Verb == KVGetTree
	if err := checkKey("key", op.Key, emptyOK); err != nil {
		t.err = checkKey(opArg(i, "key"), op.Key, emptyOK)
		return t
	}
	if len(op.Value) > t.c.kvMaxValue {
		t.err = argError(opArg(i, "value"), "%d bytes is over the limit of %d bytes", len(op.Value), t.c.kvMaxValue)
		return t
	}
	switch op.Verb {
	case KVLock, KVUnlock, KVCheckSession:
		if op.Session == "" {
			t.err = argError(opArg(i, "session"), "empty")
			return t
		}
	case KVSet, KVCAS, KVGet, KVGetOrEmpty, KVGetTree, KVCheckIndex, KVCheckNotExists, KVDelete, KVDeleteCAS, KVDeleteTree:
	default:
		t.err = argError(opArg(i, "verb"), "unknown KV verb %q", op.Verb)
		return t
	}
	t.ops = append(t.ops, txnSlot{kv: op})
	return t
}

// Set writes value at key.
func (t *Txn) Set(key string, value []byte) *Txn {
	return t.KV(KVTxnOp{Verb: KVSet, Key: key, Value: value})
}

// SetFlags writes value and flags at key.
func (t *Txn) SetFlags(key string, value []byte, flags uint64) *Txn {
	return t.KV(KVTxnOp{Verb: KVSet, Key: key, Value: value, Flags: flags})
}

// CAS writes value at key if the key's ModifyIndex is index (0: if absent).
func (t *Txn) CAS(key string, value []byte, index uint64) *Txn {
	return t.KV(KVTxnOp{Verb: KVCAS, Key: key, Value: value, Index: index})
}

// Lock writes value at key and acquires it for session.
func (t *Txn) Lock(key string, value []byte, session string) *Txn {
	return t.KV(KVTxnOp{Verb: KVLock, Key: key, Value: value, Session: session})
}

// Unlock writes value at key and releases it from session.
func (t *Txn) Unlock(key string, value []byte, session string) *Txn {
	return t.KV(KVTxnOp{Verb: KVUnlock, Key: key, Value: value, Session: session})
}

// Get reads key; a missing key rolls the transaction back.
func (t *Txn) Get(key string) *Txn { return t.KV(KVTxnOp{Verb: KVGet, Key: key}) }

// GetOrEmpty reads key; a missing key yields an entry with the key, no
// value and zero indexes instead of rolling the transaction back.
func (t *Txn) GetOrEmpty(key string) *Txn { return t.KV(KVTxnOp{Verb: KVGetOrEmpty, Key: key}) }

// GetTree reads every key under prefix.
func (t *Txn) GetTree(prefix string) *Txn { return t.KV(KVTxnOp{Verb: KVGetTree, Key: prefix}) }

// CheckIndex rolls the transaction back unless key's ModifyIndex is index.
func (t *Txn) CheckIndex(key string, index uint64) *Txn {
	return t.KV(KVTxnOp{Verb: KVCheckIndex, Key: key, Index: index})
}

// CheckSession rolls the transaction back unless session holds key.
func (t *Txn) CheckSession(key, session string) *Txn {
	return t.KV(KVTxnOp{Verb: KVCheckSession, Key: key, Session: session})
}

// CheckNotExists rolls the transaction back if key exists.
func (t *Txn) CheckNotExists(key string) *Txn {
	return t.KV(KVTxnOp{Verb: KVCheckNotExists, Key: key})
}

// Delete deletes key.
func (t *Txn) Delete(key string) *Txn { return t.KV(KVTxnOp{Verb: KVDelete, Key: key}) }

// DeleteCAS deletes key if its ModifyIndex is index.
func (t *Txn) DeleteCAS(key string, index uint64) *Txn {
	return t.KV(KVTxnOp{Verb: KVDeleteCAS, Key: key, Index: index})
}

// DeleteTree deletes every key under prefix.
func (t *Txn) DeleteTree(prefix string) *Txn {
	return t.KV(KVTxnOp{Verb: KVDeleteTree, Key: prefix})
}

// --- catalog nodes ---

// Node adds a catalog node operation as is; GetNode, SetNode, SetNodeCAS,
// DeleteNode and DeleteNodeCAS cover every verb.
func (t *Txn) Node(op NodeTxnOp) *Txn {
	if t.err != nil {
		return t
	}
	if err := op.check(len(t.ops)); err != nil {
		t.err = err
		return t
	}
	t.ops = append(t.ops, txnSlot{node: &op})
	return t
}

func (op *NodeTxnOp) check(i int) error {
	switch op.Verb {
	case NodeGet, NodeDelete, NodeDeleteCAS:
	case NodeSet, NodeCAS:
		if op.Node.Locality != nil {
			return dropped(i, "Node.Locality")
		}
	default:
		return argError(opArg(i, "verb"), "unknown node verb %q", op.Verb)
	}
	if op.Node.Node == "" {
		return argError(opArg(i, "node"), "empty")
	}
	return nil
}

// dropped refuses a field that /v1/txn would drop.
func dropped(i int, field string) error {
	return argError(opArg(i, field), "/v1/txn does not keep it")
}

// GetNode reads the catalog node named node; a missing node rolls the
// transaction back.
func (t *Txn) GetNode(node string) *Txn {
	return t.Node(NodeTxnOp{Verb: NodeGet, Node: Node{Node: node}})
}

// SetNode registers node in the catalog, or updates it.
func (t *Txn) SetNode(node *Node) *Txn {
	if node == nil {
		return t.nilArg("node")
	}
	n := *node
	return t.Node(NodeTxnOp{Verb: NodeSet, Node: n})
}

// SetNodeCAS registers or updates node if the catalog's ModifyIndex of it
// is index; an index of 0 registers it only if absent. node.ModifyIndex is
// ignored: index is sent.
func (t *Txn) SetNodeCAS(node *Node, index uint64) *Txn {
	if node == nil {
		return t.nilArg("node")
	}
	n := *node
	n.ModifyIndex = index
	return t.Node(NodeTxnOp{Verb: NodeCAS, Node: n})
}

// DeleteNode deregisters the node named node, with its services and
// checks. Deleting a missing node is not an error.
func (t *Txn) DeleteNode(node string) *Txn {
	return t.Node(NodeTxnOp{Verb: NodeDelete, Node: Node{Node: node}})
}

// DeleteNodeCAS deregisters the node named node if its ModifyIndex is
// index; a missing node rolls the transaction back.
func (t *Txn) DeleteNodeCAS(node string, index uint64) *Txn {
	return t.Node(NodeTxnOp{Verb: NodeDeleteCAS, Node: Node{Node: node, ModifyIndex: index}})
}

// nilArg refuses a nil argument of the next operation.
func (t *Txn) nilArg(what string) *Txn {
	if t.err == nil {
		t.err = argError(opArg(len(t.ops), what), "nil")
	}
	return t
}

// --- catalog services ---

// Service adds a catalog service operation as is; GetService, SetService,
// SetServiceCAS, DeleteService and DeleteServiceCAS cover every verb.
func (t *Txn) Service(op ServiceTxnOp) *Txn {
	if t.err != nil {
		return t
	}
	if err := op.check(len(t.ops)); err != nil {
		t.err = err
		return t
	}
	t.ops = append(t.ops, txnSlot{service: &op})
	return t
}

func (op *ServiceTxnOp) check(i int) error {
	s := &op.Service
	switch op.Verb {
	case ServiceGet:
		if s.ID == "" {
			return argError(opArg(i, "service ID"), "empty")
		}
	case ServiceDelete, ServiceDeleteCAS:
		// Consul checks a deleted service's name (and the token's
		// service:write on it) before deleting.
		if s.Service == "" {
			return argError(opArg(i, "Service.Service"), "empty: Consul needs the name of a service it deletes")
		}
	case ServiceSet, ServiceCAS:
		switch {
		case s.Service == "":
			return argError(opArg(i, "Service.Service"), "empty: a service needs its name")
		case s.SocketPath != "":
			return dropped(i, "Service.SocketPath")
		case s.Locality != nil:
			return dropped(i, "Service.Locality")
		case s.Connect != nil && *s.Connect != (ServiceConnect{}):
			return dropped(i, "Service.Connect")
		case s.PeerName != "":
			return dropped(i, "Service.PeerName")
		case s.Proxy != nil && s.Proxy.Mode != "":
			return dropped(i, "Service.Proxy.Mode")
		case s.Proxy != nil && s.Proxy.Config != nil:
			return dropped(i, "Service.Proxy.Config")
		case s.Proxy != nil && s.Proxy.Upstreams != nil:
			return dropped(i, "Service.Proxy.Upstreams")
		}
	default:
		return argError(opArg(i, "verb"), "unknown service verb %q", op.Verb)
	}
	if op.Node == "" {
		return argError(opArg(i, "node"), "empty")
	}
	return nil
}

// GetService reads the service serviceID of the catalog node node; a
// missing service rolls the transaction back.
func (t *Txn) GetService(node, serviceID string) *Txn {
	return t.Service(ServiceTxnOp{Verb: ServiceGet, Node: node, Service: NodeService{ID: serviceID}})
}

// SetService registers svc on the catalog node node (which must exist, or
// be set earlier in the transaction), or updates it. An empty svc.ID is
// svc.Service.
func (t *Txn) SetService(node string, svc *NodeService) *Txn {
	if svc == nil {
		return t.nilArg("service")
	}
	return t.Service(ServiceTxnOp{Verb: ServiceSet, Node: node, Service: *svc})
}

// SetServiceCAS registers or updates svc on node if the catalog's
// ModifyIndex of it is index; an index of 0 registers it only if absent.
// svc.ModifyIndex is ignored: index is sent.
func (t *Txn) SetServiceCAS(node string, svc *NodeService, index uint64) *Txn {
	if svc == nil {
		return t.nilArg("service")
	}
	s := *svc
	s.ModifyIndex = index
	return t.Service(ServiceTxnOp{Verb: ServiceCAS, Node: node, Service: s})
}

// DeleteService deregisters the service svc.ID of node, with its checks.
// Consul needs the service's name too (svc.Service; an empty svc.ID is the
// name): it checks it, and the token's service:write on it, before
// deleting. The other fields are not sent. Deleting a missing service is
// not an error.
func (t *Txn) DeleteService(node string, svc *NodeService) *Txn {
	if svc == nil {
		return t.nilArg("service")
	}
	return t.Service(ServiceTxnOp{Verb: ServiceDelete, Node: node, Service: NodeService{ID: svc.ID, Service: svc.Service,
		Namespace: svc.Namespace, Partition: svc.Partition}})
}

// DeleteServiceCAS deregisters the service svc.ID of node, as
// DeleteService does, if its ModifyIndex is index; a missing service rolls
// the transaction back. svc.ModifyIndex is ignored: index is sent.
func (t *Txn) DeleteServiceCAS(node string, svc *NodeService, index uint64) *Txn {
	if svc == nil {
		return t.nilArg("service")
	}
	return t.Service(ServiceTxnOp{Verb: ServiceDeleteCAS, Node: node, Service: NodeService{ID: svc.ID, Service: svc.Service,
		Namespace: svc.Namespace, Partition: svc.Partition, ModifyIndex: index}})
}

// --- catalog checks ---

// Check adds a catalog check operation as is; GetCheck, SetCheck,
// SetCheckCAS, DeleteCheck and DeleteCheckCAS cover every verb.
func (t *Txn) Check(op CheckTxnOp) *Txn {
	if t.err != nil {
		return t
	}
	if err := op.check(len(t.ops)); err != nil {
		t.err = err
		return t
	}
	t.ops = append(t.ops, txnSlot{check: &op})
	return t
}

func (op *CheckTxnOp) check(i int) error {
	c := &op.Check
	switch op.Verb {
	case CheckGet, CheckDelete, CheckDeleteCAS:
		if c.CheckID == "" {
			return argError(opArg(i, "check ID"), "empty")
		}
	case CheckSet, CheckCAS:
		if c.CheckID == "" && c.Name == "" {
			return argError(opArg(i, "check ID"), "empty, and no Name to default to")
		}
		var def HealthCheckDefinition
		if c.Definition != nil {
			def = *c.Definition
		}
		if c.Interval != 0 && c.Interval != def.Interval {
			return argError(opArg(i, "Check.Interval"), "set Definition.Interval: the top-level Interval only reports it")
		}
		if c.Timeout != 0 && c.Timeout != def.Timeout {
			return argError(opArg(i, "Check.Timeout"), "set Definition.Timeout: the top-level Timeout only reports it")
		}
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"DisableRedirects", def.DisableRedirects}, {"UDP", def.UDP != ""}, {"H2PING", def.H2PING != ""},
			{"H2PingUseTLS", def.H2PingUseTLS}, {"AliasNode", def.AliasNode != ""}, {"AliasService", def.AliasService != ""},
			{"ScriptArgs", def.ScriptArgs != nil}, {"OutputMaxSize", def.OutputMaxSize != 0}, {"TTL", def.TTL != 0},
		} {
			if f.set {
				return dropped(i, "Check.Definition."+f.name)
			}
		}
	default:
		return argError(opArg(i, "verb"), "unknown check verb %q", op.Verb)
	}
	if c.Node == "" {
		return argError(opArg(i, "node"), "empty")
	}
	return nil
}

// GetCheck reads the check checkID of the catalog node node; a missing
// check rolls the transaction back.
func (t *Txn) GetCheck(node, checkID string) *Txn {
	return t.Check(CheckTxnOp{Verb: CheckGet, Check: HealthCheck{Node: node, CheckID: checkID}})
}

// SetCheck registers check on the catalog node check.Node (a service's
// check names it in ServiceID), or updates it; the catalog does not run
// it, the status is the one given. An empty CheckID is check.Name.
func (t *Txn) SetCheck(check *HealthCheck) *Txn {
	if check == nil {
		return t.nilArg("check")
	}
	return t.Check(CheckTxnOp{Verb: CheckSet, Check: *check})
}

// SetCheckCAS registers or updates check if the catalog's ModifyIndex of
// it is index; an index of 0 registers it only if absent.
// check.ModifyIndex is ignored: index is sent.
func (t *Txn) SetCheckCAS(check *HealthCheck, index uint64) *Txn {
	if check == nil {
		return t.nilArg("check")
	}
	c := *check
	c.ModifyIndex = index
	return t.Check(CheckTxnOp{Verb: CheckCAS, Check: c})
}

// DeleteCheck deregisters the check checkID of node. Deleting a missing
// check is not an error.
func (t *Txn) DeleteCheck(node, checkID string) *Txn {
	return t.Check(CheckTxnOp{Verb: CheckDelete, Check: HealthCheck{Node: node, CheckID: checkID}})
}

// DeleteCheckCAS deregisters the check checkID of node if its ModifyIndex
// is index; a missing check rolls the transaction back.
func (t *Txn) DeleteCheckCAS(node, checkID string, index uint64) *Txn {
	return t.Check(CheckTxnOp{Verb: CheckDeleteCAS, Check: HealthCheck{Node: node, CheckID: checkID, ModifyIndex: index}})
}

// Execute runs the transaction: PUT /v1/txn.
//
// It returns the results of every operation that yields one (see
// TxnResult). When Consul rolls the transaction back, nothing was changed
// and the error is a *TxnError listing each failed operation's index and
// message (it matches ErrConflict). A transaction of only reads (KV get,
// get-or-empty, get-tree and check-*, node, service and check get) accepts
// the consistency options; Consul does not block on a transaction. A
// builder error (a bad key or name, an unknown verb, a field the route
// drops, more than MaxTxnOps operations, no operation) is returned before
// sending.
func (t *Txn) Execute(ctx context.Context, opts ...Option) ([]TxnResult, *Meta, error) {
	if t.err != nil {
		return nil, nil, t.err
	}
	switch n := len(t.ops); {
	case n == 0:
		return nil, nil, argError("txn", "no operation")
	case n > MaxTxnOps:
		return nil, nil, argError("txn", "%d operations is over Consul's limit of %d", n, MaxTxnOps)
	}
	read := true
	for i := range t.ops {
		if !t.ops[i].isRead() {
			read = false
			break
		}
	}
	e := &epTxnWrite
	if read {
		e = &epTxnRead
	}
	var out txnResponse
	meta, err := t.c.call(ctx, e, e.route, nil, t.wire(), opts, &out)
	if err != nil {
		return nil, meta, err // a rolled back transaction's *TxnError too (txnResponse.failure)
	}
	return out.Results, meta, nil
}

// --- the wire forms of the catalog operations ---
//
// Consul decodes /v1/txn's body strictly (an unknown field is a 400) into
// its api types, then keeps some of their fields (agent/txn_endpoint.go's
// convertOps). These forms send what it keeps, by the api's names.

type nodeTxnWire struct {
	Verb NodeVerb
	Node nodeWire
}

type nodeWire struct {
	ID              string            `json:",omitempty"`
	Node            string            `json:",omitempty"`
	Address         string            `json:",omitempty"`
	Datacenter      string            `json:",omitempty"`
	Partition       string            `json:",omitempty"`
	PeerName        string            `json:",omitempty"`
	TaggedAddresses map[string]string `json:",omitempty"`
	Meta            map[string]string `json:",omitempty"`
	ModifyIndex     uint64            `json:",omitempty"`
}

// MarshalJSON writes the operation as /v1/txn takes it.
func (op NodeTxnOp) MarshalJSON() ([]byte, error) {
	n := &op.Node
	w := nodeTxnWire{Verb: op.Verb, Node: nodeWire{
		ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, Partition: n.Partition,
		PeerName: n.PeerName, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta,
	}}
	if op.Verb == NodeCAS || op.Verb == NodeDeleteCAS {
		w.Node.ModifyIndex = n.ModifyIndex
	}
	return json.Marshal(w)
}

type serviceTxnWire struct {
	Verb    ServiceVerb
	Node    string
	Service serviceWire
}

type serviceWire struct {
	Kind              ServiceKind               `json:",omitempty"`
	ID                string                    `json:",omitempty"`
	Service           string                    `json:",omitempty"`
	Tags              []string                  `json:",omitempty"`
	Address           string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string         `json:",omitempty"`
	Port              int                       `json:",omitempty"`
	Weights           *Weights                  `json:",omitempty"`
	EnableTagOverride bool                      `json:",omitempty"`
	Proxy             *serviceProxyWire         `json:",omitempty"`
	Namespace         string                    `json:",omitempty"`
	Partition         string                    `json:",omitempty"`
	ModifyIndex       uint64                    `json:",omitempty"`
}

type serviceProxyWire struct {
	DestinationServiceName string `json:",omitempty"`
	DestinationServiceID   string `json:",omitempty"`
	LocalServiceAddress    string `json:",omitempty"`
	LocalServicePort       int    `json:",omitempty"`
	LocalServiceSocketPath string `json:",omitempty"`
}

// MarshalJSON writes the operation as /v1/txn takes it.
func (op ServiceTxnOp) MarshalJSON() ([]byte, error) {
	s := &op.Service
	w := serviceTxnWire{Verb: op.Verb, Node: op.Node, Service: serviceWire{
		Kind: s.Kind, ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address,
		TaggedAddresses: s.TaggedAddresses, Meta: s.Meta, Port: s.Port, Weights: s.Weights,
		EnableTagOverride: s.EnableTagOverride, Namespace: s.Namespace, Partition: s.Partition,
	}}
	if p := s.Proxy; p != nil {
		pw := serviceProxyWire{
			DestinationServiceName: p.DestinationServiceName, DestinationServiceID: p.DestinationServiceID,
			LocalServiceAddress: p.LocalServiceAddress, LocalServicePort: p.LocalServicePort,
			LocalServiceSocketPath: p.LocalServiceSocketPath,
		}
		if pw != (serviceProxyWire{}) { // a service read back has an empty Proxy
			w.Service.Proxy = &pw
		}
	}
	if op.Verb == ServiceCAS || op.Verb == ServiceDeleteCAS {
		w.Service.ModifyIndex = s.ModifyIndex
	}
	return json.Marshal(w)
}

type checkTxnWire struct {
	Verb  CheckVerb
	Check checkWire
}

type checkWire struct {
	Node        string              `json:",omitempty"`
	CheckID     string              `json:",omitempty"`
	Name        string              `json:",omitempty"`
	Status      HealthStatus        `json:",omitempty"`
	Notes       string              `json:",omitempty"`
	Output      string              `json:",omitempty"`
	ServiceID   string              `json:",omitempty"`
	ServiceName string              `json:",omitempty"`
	ServiceTags []string            `json:",omitempty"`
	Type        string              `json:",omitempty"`
	ExposedPort int                 `json:",omitempty"`
	PeerName    string              `json:",omitempty"`
	Namespace   string              `json:",omitempty"`
	Partition   string              `json:",omitempty"`
	Definition  *checkDefinitionTxn `json:",omitempty"`
	ModifyIndex uint64              `json:",omitempty"`
}

type checkDefinitionTxn struct {
	HTTP                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	OSService                      string              `json:",omitempty"`
	Interval                       duration            `json:",omitempty"`
	Timeout                        duration            `json:",omitempty"`
	DeregisterCriticalServiceAfter duration            `json:",omitempty"`
}

// MarshalJSON writes the operation as /v1/txn takes it.
func (op CheckTxnOp) MarshalJSON() ([]byte, error) {
	c := &op.Check
	w := checkTxnWire{Verb: op.Verb, Check: checkWire{
		Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes, Output: c.Output,
		ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: c.ServiceTags, Type: c.Type,
		ExposedPort: c.ExposedPort, PeerName: c.PeerName, Namespace: c.Namespace, Partition: c.Partition,
	}}
	if d := c.Definition; d != nil {
		w.Check.Definition = &checkDefinitionTxn{
			HTTP: d.HTTP, TLSServerName: d.TLSServerName, TLSSkipVerify: d.TLSSkipVerify, Header: d.Header,
			Method: d.Method, Body: d.Body, TCP: d.TCP, TCPUseTLS: d.TCPUseTLS, GRPC: d.GRPC,
			GRPCUseTLS: d.GRPCUseTLS, OSService: d.OSService, Interval: duration(d.Interval),
			Timeout: duration(d.Timeout), DeregisterCriticalServiceAfter: duration(d.DeregisterCriticalServiceAfter),
		}
	}
	if op.Verb == CheckCAS || op.Verb == CheckDeleteCAS {
		w.Check.ModifyIndex = c.ModifyIndex
	}
	return json.Marshal(w)
}
