package consul_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sessionTestJSON = `[{"ID":"adf4238a-882b-9ddc-4a9d-5b6758e4159e","Name":"test","Node":"n1",
"LockDelay":15000000000,"Behavior":"release","TTL":"30s","NodeChecks":["serfHealth"],
"ServiceChecks":[{"ID":"svc:1","Namespace":""}],"CreateIndex":10,"ModifyIndex":10}]`

func TestSessionCreateWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"ID":"adf4238a-882b-9ddc-4a9d-5b6758e4159e"}`})
	id, err := c.Session.Create(testCtx(t), &consul.SessionEntry{
		Name:          "test",
		Node:          "n1",
		LockDelay:     2500 * time.Millisecond,
		Behavior:      consul.SessionDelete,
		TTL:           30 * time.Second,
		NodeChecks:    []string{"serfHealth", "custom"},
		ServiceChecks: []consul.SessionServiceCheck{{ID: "svc:1"}},
	}, consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.Equal(t, "adf4238a-882b-9ddc-4a9d-5b6758e4159e", id)
	s := w.only(t)
	s.expect(t, "PUT", "/v1/session/create", q("dc", "dc2"))
	assert.JSONEq(t, `{"Name":"test","Node":"n1","LockDelay":"2.5s","Behavior":"delete","TTL":"30s",
		"NodeChecks":["serfHealth","custom"],"ServiceChecks":[{"ID":"svc:1"}]}`, s.Body)
	assert.Equal(t, "application/json", s.Header.Get("Content-Type"))
}

func TestSessionCreateBodyForms(t *testing.T) {
	for _, tc := range []struct {
		entry *consul.SessionEntry
		body  string
	}{
		{nil, ``},
		{&consul.SessionEntry{}, `{}`},
		{&consul.SessionEntry{LockDelay: consul.NoLockDelay}, `{"LockDelay":"0s"}`},
		{&consul.SessionEntry{NodeChecks: []string{}}, `{"NodeChecks":[]}`},
	} {
		w, c := newWire(t, reply{Body: `{"ID":"x"}`})
		_, err := c.Session.Create(testCtx(t), tc.entry)
		require.NoError(t, err)
		if tc.body == "" {
			assert.Empty(t, w.only(t).Body)
		} else {
			assert.JSONEq(t, tc.body, w.only(t).Body)
		}
	}
}

func TestSessionEntryJSONRoundTrip(t *testing.T) {
	var got []*consul.SessionEntry
	require.NoError(t, json.Unmarshal([]byte(sessionTestJSON), &got))
	require.Len(t, got, 1)
	assert.Equal(t, &consul.SessionEntry{
		ID: "adf4238a-882b-9ddc-4a9d-5b6758e4159e", Name: "test", Node: "n1",
		LockDelay: 15 * time.Second, Behavior: consul.SessionRelease, TTL: 30 * time.Second,
		NodeChecks: []string{"serfHealth"}, ServiceChecks: []consul.SessionServiceCheck{{ID: "svc:1"}},
		CreateIndex: 10, ModifyIndex: 10,
	}, got[0])
	var bad consul.SessionEntry
	assert.Error(t, json.Unmarshal([]byte(`{"TTL":"soon"}`), &bad))
}

func TestSessionOtherRoutesWire(t *testing.T) {
	ctx := testCtx(t)
	id := "adf4238a-882b-9ddc-4a9d-5b6758e4159e"

	w, c := newWire(t, reply{Body: "true"})
	require.NoError(t, c.Session.Destroy(ctx, id))
	w.only(t).expect(t, "PUT", "/v1/session/destroy/"+id, nil)

	w, c = newWire(t, reply{Body: sessionTestJSON})
	s, err := c.Session.Renew(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, s.TTL)
	w.only(t).expect(t, "PUT", "/v1/session/renew/"+id, nil)

	w, c = newWire(t, reply{Body: sessionTestJSON, Header: map[string]string{"X-Consul-Index": "10"}})
	s, meta, err := c.Session.Get(ctx, id, consul.WaitIndex(3))
	require.NoError(t, err)
	assert.Equal(t, id, s.ID)
	assert.Equal(t, uint64(10), meta.Index)
	w.only(t).expect(t, "GET", "/v1/session/info/"+id, q("index", "3"))

	w, c = newWire(t, reply{Body: sessionTestJSON})
	list, _, err := c.Session.ListByNode(ctx, "node one", consul.Stale())
	require.NoError(t, err)
	assert.Len(t, list, 1)
	w.only(t).expect(t, "GET", "/v1/session/node/node%20one", q("stale", ""))

	w, c = newWire(t, reply{Body: sessionTestJSON})
	list, _, err = c.Session.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	w.only(t).expect(t, "GET", "/v1/session/list", nil)

	// Info of a session that does not exist: Consul answers 200 with [] (or
	// null); both are a nil session and no error.
	for _, body := range []string{"[]", "null"} {
		_, c = newWire(t, reply{Body: body, Header: map[string]string{"X-Consul-Index": "7"}})
		s, meta, err = c.Session.Get(ctx, id)
		require.NoError(t, err)
		assert.Nil(t, s)
		assert.Equal(t, uint64(7), meta.Index)
	}
}

func TestSessionRefusesBadInput(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	ctx := testCtx(t)
	for field, err := range map[string]error{
		"SessionEntry.TTL": func() error {
			_, err := c.Session.Create(ctx, &consul.SessionEntry{TTL: -time.Second})
			return err
		}(),
		"SessionEntry.LockDelay": func() error {
			_, err := c.Session.Create(ctx, &consul.SessionEntry{LockDelay: -2 * time.Second})
			return err
		}(),
		"SessionEntry.Behavior": func() error {
			_, err := c.Session.Create(ctx, &consul.SessionEntry{Behavior: "explode"})
			return err
		}(),
		"id": c.Session.Destroy(ctx, ""),
	} {
		var ae *consul.ArgumentError
		require.True(t, errors.As(err, &ae), "%s: %v", field, err)
		assert.Equal(t, field, ae.Arg)
	}
	w.noRequest(t)
}

func TestSessionIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	id, err := c.Session.Create(ctx, &consul.SessionEntry{
		Name: uniq(t, "s"), TTL: 20 * time.Second, LockDelay: 3 * time.Second, Behavior: consul.SessionDelete,
	})
	require.NoError(t, err)
	require.NotEmpty(t, id)

	s, meta, err := c.Session.Get(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, s)
	assert.Equal(t, id, s.ID)
	assert.Equal(t, srv.NodeName, s.Node)
	assert.Equal(t, 20*time.Second, s.TTL)
	assert.Equal(t, 3*time.Second, s.LockDelay)
	assert.Equal(t, consul.SessionDelete, s.Behavior)
	assert.Equal(t, []string{"serfHealth"}, s.NodeChecks, "a nil NodeChecks keeps Consul's default")
	assert.NotZero(t, meta.Index)

	renewed, err := c.Session.Renew(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, renewed.ID)

	onNode, _, err := c.Session.ListByNode(ctx, srv.NodeName)
	require.NoError(t, err)
	assert.True(t, sessionTestContains(onNode, id))
	all, _, err := c.Session.List(ctx)
	require.NoError(t, err)
	assert.True(t, sessionTestContains(all, id))

	// Behavior delete: destroying the session deletes the keys it holds.
	key := uniq(t, "held")
	ok, err := c.KV.Acquire(ctx, key, []byte("v"), id)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, c.Session.Destroy(ctx, id))
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	assert.Nil(t, pair)

	gone, meta, err := c.Session.Get(ctx, id)
	require.NoError(t, err)
	assert.Nil(t, gone, "a destroyed session reads as nil")
	assert.NotZero(t, meta.Index)
	_, err = c.Session.Renew(ctx, id)
	require.ErrorIs(t, err, consul.ErrNotFound, "renewing a lost session is an error")
	require.NoError(t, c.Session.Destroy(ctx, id), "destroying twice is fine")

	// A session bound to no node check, and NoLockDelay.
	free, err := c.Session.Create(ctx, &consul.SessionEntry{NodeChecks: []string{}, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	s, _, err = c.Session.Get(ctx, free)
	require.NoError(t, err)
	assert.Empty(t, s.NodeChecks)
	assert.Zero(t, s.LockDelay)
	require.NoError(t, c.Session.Destroy(ctx, free))
}

func TestSessionTTLExpires(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	// consultest lowers session_ttl_min to 1s; Consul invalidates at twice
	// the TTL at the latest.
	id, err := c.Session.Create(ctx, &consul.SessionEntry{TTL: time.Second})
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _, err := c.Session.Get(ctx, id)
		require.NoError(t, err)
		if s == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "session with a 1s TTL still alive")
		time.Sleep(200 * time.Millisecond)
	}
}

func sessionTestContains(list []*consul.SessionEntry, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}
