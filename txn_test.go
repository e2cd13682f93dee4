package consul_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTxnEveryVerbWire(t *testing.T) {
	w, c := newWire(t, reply{
		Header: map[string]string{"X-Consul-Index": "20"},
		Body:   `{"Results":[{"KV":{"Key":"a","Value":"dg==","Flags":0,"CreateIndex":5,"ModifyIndex":20,"LockIndex":0}}],"Errors":null}`,
	})
	res, meta, err := c.Txn.New().
		Set("a", []byte("v")).
		SetFlags("b", []byte("w"), 9).
		CAS("c", []byte("x"), 4).
		Lock("d", []byte("y"), "sess").
		Unlock("e", nil, "sess").
		Get("a").
		GetTree("dir/").
		CheckIndex("a", 20).
		CheckSession("d", "sess").
		CheckNotExists("f").
		Delete("g").
		DeleteCAS("h", 6).
		DeleteTree("old/").
		Execute(testCtx(t), consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.Equal(t, uint64(20), meta.Index)
	require.Len(t, res, 1)
	assert.Equal(t, "v", string(res[0].KV.Value))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/txn", q("dc", "dc2"))
	assert.JSONEq(t, `[
		{"KV":{"Verb":"set","Key":"a","Value":"dg=="}},
		{"KV":{"Verb":"set","Key":"b","Value":"dw==","Flags":9}},
		{"KV":{"Verb":"cas","Key":"c","Value":"eA==","Index":4}},
		{"KV":{"Verb":"lock","Key":"d","Value":"eQ==","Session":"sess"}},
		{"KV":{"Verb":"unlock","Key":"e","Session":"sess"}},
		{"KV":{"Verb":"get","Key":"a"}},
		{"KV":{"Verb":"get-tree","Key":"dir/"}},
		{"KV":{"Verb":"check-index","Key":"a","Index":20}},
		{"KV":{"Verb":"check-session","Key":"d","Session":"sess"}},
		{"KV":{"Verb":"check-not-exists","Key":"f"}},
		{"KV":{"Verb":"delete","Key":"g"}},
		{"KV":{"Verb":"delete-cas","Key":"h","Index":6}},
		{"KV":{"Verb":"delete-tree","Key":"old/"}}
	]`, s.Body)
}

func TestTxnReadOnlyTakesConsistencyWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"Results":[],"Errors":null}`})
	_, _, err := c.Txn.New().Get("a").CheckIndex("b", 3).Execute(testCtx(t), consul.Stale())
	require.NoError(t, err)
	_, _, err = c.Txn.New().Get("a").Set("b", nil).Execute(testCtx(t), consul.Stale())
	require.NoError(t, err)
	reqs := w.requests()
	reqs[0].expect(t, "PUT", "/v1/txn", q("stale", ""))
	reqs[1].expect(t, "PUT", "/v1/txn", nil)
}

func TestTxnRollbackWire(t *testing.T) {
	_, c := newWire(t, reply{Status: 409, Body: `{"Results":null,"Errors":[{"OpIndex":1,"What":"failed index check"},{"OpIndex":3,"What":"key missing"}]}`})
	_, _, err := c.Txn.New().Set("a", nil).CheckIndex("a", 1).Set("b", nil).Get("c").Execute(testCtx(t))
	var te *consul.TxnError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, []consul.TxnOpError{{OpIndex: 1, What: "failed index check"}, {OpIndex: 3, What: "key missing"}}, te.Errors)
	assert.ErrorIs(t, err, consul.ErrConflict)
	assert.Equal(t, "consul: transaction rolled back: op 1: failed index check; op 3: key missing", err.Error())
}

func TestTxnRefusesBadInput(t *testing.T) {
	w, c := newWire(t, reply{Body: `{}`})
	ctx := testCtx(t)
	tooMany := c.Txn.New()
	for i := 0; i <= consul.MaxTxnOps; i++ {
		tooMany.Set(fmt.Sprintf("k%d", i), nil)
	}
	for arg, txn := range map[string]*consul.Txn{
		"txn":              tooMany,
		"txn op 1 key":     c.Txn.New().Get("ok").Set("", nil),
		"txn op 0 key":     c.Txn.New().Delete("/abs"),
		"txn op 0 session": c.Txn.New().Lock("k", nil, ""),
		"txn op 0 value":   c.Txn.New().Set("k", make([]byte, consul.DefaultKVMaxValueSize+1)),
		"txn op 0 verb":    c.Txn.New().KV(consul.KVTxnOp{Verb: "explode", Key: "k"}),
	} {
		_, _, err := txn.Execute(ctx)
		var ae *consul.ArgumentError
		require.True(t, errors.As(err, &ae), "%s: %v", arg, err)
		assert.Equal(t, arg, ae.Arg)
	}
	_, _, err := c.Txn.New().Execute(ctx)
	assert.Error(t, err, "an empty transaction is refused")
	w.noRequest(t)
}

func TestTxnIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "txn")

	res, meta, err := c.Txn.New().
		Set(p+"/a", []byte("1")).
		SetFlags(p+"/b", []byte("2"), 5).
		CheckNotExists(p + "/c").
		Get(p + "/a").
		GetTree(p + "/").
		Execute(ctx)
	require.NoError(t, err)
	assert.Zero(t, meta.Index, "a write transaction answers without an index")
	// set, set, get, and one result per key of the get-tree.
	require.Len(t, res, 5)
	assert.Equal(t, p+"/a", res[0].KV.Key)
	assert.Nil(t, res[0].KV.Value, "writes return the key without its value")
	assert.Equal(t, "1", string(res[2].KV.Value))
	assert.Equal(t, uint64(5), res[4].KV.Flags)

	a, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	read, meta, err := c.Txn.New().Get(p+"/a").CheckIndex(p+"/a", a.ModifyIndex).Execute(ctx, consul.Stale())
	require.NoError(t, err)
	require.Len(t, read, 2, "get and check-index both return the entry")
	// Consul answers a read-only transaction with KnownLeader and
	// LastContact (agent/txn_endpoint.go), but no index.
	assert.True(t, meta.KnownLeader)
	assert.Zero(t, meta.Index)

	sess, err := c.Session.Create(ctx, &consul.SessionEntry{LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, sess)
	_, _, err = c.Txn.New().
		CAS(p+"/a", []byte("10"), a.ModifyIndex).
		Lock(p+"/lock", []byte("L"), sess).
		CheckSession(p+"/lock", sess).
		DeleteCAS(p+"/b", 0).
		Execute(ctx)
	var te *consul.TxnError
	require.ErrorAs(t, err, &te, "delete-cas with index 0 on an existing key fails")
	assert.Equal(t, 3, te.Errors[0].OpIndex)
	still, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	assert.Equal(t, "1", string(still.Value), "a rolled back transaction changes nothing")

	_, _, err = c.Txn.New().
		CAS(p+"/a", []byte("10"), a.ModifyIndex).
		Lock(p+"/lock", []byte("L"), sess).
		CheckSession(p+"/lock", sess).
		Unlock(p+"/lock", []byte("U"), sess).
		Delete(p + "/b").
		Execute(ctx)
	require.NoError(t, err)
	got, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	assert.Equal(t, "10", string(got.Value))
	lock, _, err := c.KV.Get(ctx, p+"/lock")
	require.NoError(t, err)
	assert.Equal(t, "U", string(lock.Value))
	assert.Empty(t, lock.Session)
	b, _, err := c.KV.Get(ctx, p+"/b")
	require.NoError(t, err)
	assert.Nil(t, b)

	_, _, err = c.Txn.New().DeleteTree(p + "/").Execute(ctx)
	require.NoError(t, err)
	left, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestTxnFailedCheckIndexChangesNothing(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "rollback")
	require.NoError(t, c.KV.Put(ctx, p+"/x", []byte("orig")))
	x, _, err := c.KV.Get(ctx, p+"/x")
	require.NoError(t, err)

	_, _, err = c.Txn.New().
		Set(p+"/y", []byte("new")).
		Set(p+"/x", []byte("changed")).
		CheckIndex(p+"/x", x.ModifyIndex+100).
		Delete(p + "/x").
		Execute(ctx)
	var te *consul.TxnError
	require.ErrorAs(t, err, &te)
	require.Len(t, te.Errors, 1)
	assert.Equal(t, 2, te.Errors[0].OpIndex, "the check-index operation is reported")
	assert.Contains(t, te.Errors[0].What, "index")

	after, _, err := c.KV.Get(ctx, p+"/x")
	require.NoError(t, err)
	assert.Equal(t, "orig", string(after.Value))
	assert.Equal(t, x.ModifyIndex, after.ModifyIndex)
	y, _, err := c.KV.Get(ctx, p+"/y")
	require.NoError(t, err)
	assert.Nil(t, y, "no operation of a rolled back transaction applies")

	// MaxTxnOps operations go through: the limit is Consul's.
	big := c.Txn.New()
	for i := 0; i < consul.MaxTxnOps; i++ {
		big.Set(fmt.Sprintf("%s/many/%03d", p, i), []byte{byte(i)})
	}
	res, _, err := big.Execute(ctx)
	require.NoError(t, err)
	assert.Len(t, res, consul.MaxTxnOps)
	require.NoError(t, c.KV.DeleteTree(ctx, p+"/"))
}

func TestTxnConflictWithoutJSONIsAStatusError(t *testing.T) {
	_, c := newWire(t, reply{Status: 409, Body: "conflicting request\n"})
	_, _, err := c.Txn.New().Set("a", nil).Execute(testCtx(t))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se, "a 409 that is not a transaction report is the plain status")
	assert.Equal(t, "conflicting request", se.Body)
	assert.ErrorIs(t, err, consul.ErrConflict)
}
