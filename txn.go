package consul

import (
	"context"
	"fmt"
	"net/http"
)

// TxnService runs transactions: PUT /v1/txn. See Txn.
type TxnService service

// txnOKStatuses: a rolled back transaction answers 409 with the failed
// operations in its body.
var txnOKStatuses = []int{http.StatusConflict}

// MaxTxnOps is the most operations Consul 1.19 accepts in one transaction
// (maxTxnOps in its agent/txn_endpoint.go). Execute refuses more before
// sending.
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
	case KVGet, KVGetTree, KVCheckIndex, KVCheckSession, KVCheckNotExists:
		return true
	}
	return false
}

// TxnOp is one operation of a transaction, as sent to Consul.
type TxnOp struct {
	KV *KVTxnOp `json:",omitempty"`
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

// TxnResult is one result of a transaction. Reads (get, get-tree) and
// writes of KV operations each yield results; a get-tree yields one result
// per key, so results do not line up one to one with the operations.
type TxnResult struct {
	KV *KVPair `json:",omitempty"`
}

type txnResponse struct {
	Results []TxnResult
	Errors  []TxnOpError
}

// Txn builds a transaction: chain operations, then Execute. All operations
// apply atomically or none does. A Txn is not safe for concurrent use.
//
//	results, meta, err := client.Txn.New().
//		CheckIndex("app/config", idx).
//		Set("app/config", newValue).
//		Get("app/config").
//		Execute(ctx)
type Txn struct {
	c   *Client
	kvs []KVTxnOp // stored by value: one growing array, not one allocation per operation
	err error
}

// New starts an empty transaction (aioconsul's kv.prepare()). Transactions
// live on their own sub-client, not on KV: /v1/txn takes operations of
// several kinds, KV's being the ones this builder writes.
func (s *TxnService) New() *Txn { return &Txn{c: s.client} }

// Ops returns the operations built so far, as sent to Consul.
func (t *Txn) Ops() []TxnOp {
	ops := make([]TxnOp, len(t.kvs))
	for i := range t.kvs {
		ops[i].KV = &t.kvs[i]
	}
	return ops
}

// KV adds a KV operation as is; the named methods below cover every verb.
func (t *Txn) KV(op KVTxnOp) *Txn {
	if t.err != nil {
		return t
	}
	i := len(t.kvs)
	emptyOK := op.Verb == KVGetTree || op.Verb == KVDeleteTree
	if err := checkKey("key", op.Key, emptyOK); err != nil {
		err = checkKey(fmt.Sprintf("txn op %d key", i), op.Key, emptyOK)
		t.err = err
		return t
	}
	if len(op.Value) > t.c.kvMaxValue {
		t.err = argError(fmt.Sprintf("txn op %d value", i), "%d bytes is over the limit of %d bytes", len(op.Value), t.c.kvMaxValue)
		return t
	}
	switch op.Verb {
	case KVLock, KVUnlock, KVCheckSession:
		if op.Session == "" {
			t.err = argError(fmt.Sprintf("txn op %d session", i), "empty")
			return t
		}
	case KVSet, KVCAS, KVGet, KVGetTree, KVCheckIndex, KVCheckNotExists, KVDelete, KVDeleteCAS, KVDeleteTree:
	default:
		t.err = argError(fmt.Sprintf("txn op %d verb", i), "unknown verb %q", op.Verb)
		return t
	}
	t.kvs = append(t.kvs, op)
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

// Execute runs the transaction: PUT /v1/txn.
//
// It returns the results of every operation that yields one. When Consul
// rolls the transaction back, nothing was changed and the error is a
// *TxnError listing each failed operation's index and message (it matches
// ErrConflict). A transaction of only reads and checks accepts the
// consistency options. A builder error (a bad key, an unknown verb, more
// than MaxTxnOps operations, no operation) is returned before sending.
func (t *Txn) Execute(ctx context.Context, opts ...Option) ([]TxnResult, *Meta, error) {
	if t.err != nil {
		return nil, nil, t.err
	}
	switch n := len(t.kvs); {
	case n == 0:
		return nil, nil, argError("txn", "no operation")
	case n > MaxTxnOps:
		return nil, nil, argError("txn", "%d operations is over Consul's limit of %d", n, MaxTxnOps)
	}
	read := true
	for i := range t.kvs {
		if !t.kvs[i].Verb.isRead() {
			read = false
			break
		}
	}
	var out txnResponse
	meta, err := t.c.call(ctx, request{
		method:     http.MethodPut,
		path:       "/v1/txn",
		body:       t.Ops(),
		read:       read,
		okStatuses: txnOKStatuses,
	}, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if len(out.Errors) > 0 {
		return nil, meta, &TxnError{Errors: out.Errors}
	}
	return out.Results, meta, nil
}
