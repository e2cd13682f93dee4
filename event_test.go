package consul_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventTestPayload is not valid UTF-8: it must travel as raw bytes.
var eventTestPayload = []byte{0xff, 0x00, 'h', 'i', 0xc3, 0x28, 0x80}

func TestEventFireWire(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Token: "tok"}, reply{Body: `{"ID":"a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d","Name":"deploy","Payload":"/wBoacMogA==","NodeFilter":"web-.*","ServiceFilter":"redis","TagFilter":"v1","Version":1,"LTime":0}`})
	ev, err := c.Event.Fire(testCtx(t), "deploy", eventTestPayload,
		consul.EventNodeFilter("web-.*"), consul.EventServiceFilter("redis"), consul.EventTagFilter("v1"), consul.Datacenter("dc2"))
	require.NoError(t, err)
	r := w.only(t)
	r.expect(t, "PUT", "/v1/event/fire/deploy", q("dc", "dc2", "node", "web-.*", "service", "redis", "tag", "v1"))
	assert.Equal(t, string(eventTestPayload), r.Body, "the payload is sent as raw bytes")
	assert.Empty(t, r.Header.Get("Content-Type"))
	assert.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	assert.Equal(t, &consul.UserEvent{
		ID: "a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d", Name: "deploy", Payload: eventTestPayload,
		NodeFilter: "web-.*", ServiceFilter: "redis", TagFilter: "v1", Version: 1,
	}, ev)

	// No payload: no body; an escaped name.
	w, c = newWire(t, reply{Body: `{"ID":"a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d","Name":"a b#c","Payload":null,"NodeFilter":"","ServiceFilter":"","TagFilter":"","Version":1,"LTime":0}`})
	ev, err = c.Event.Fire(testCtx(t), "a b#c", nil)
	require.NoError(t, err)
	r = w.only(t)
	r.expect(t, "PUT", "/v1/event/fire/a%20b%23c", nil)
	assert.Empty(t, r.Body)
	assert.Nil(t, ev.Payload)
	assert.Equal(t, "a b#c", ev.Name)
}

func TestEventFireBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	var ae *consul.ArgumentError
	_, err := c.Event.Fire(ctx, "", nil)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "name", ae.Arg)
	_, err = c.Event.Fire(ctx, "x", nil, consul.EventNodeFilter("web-("))
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "node filter", ae.Arg)
	_, err = c.Event.Fire(ctx, "x", nil, consul.EventServiceFilter("[a-"))
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "service filter", ae.Arg)
	_, err = c.Event.Fire(ctx, "x", nil, consul.EventServiceFilter("redis"), consul.EventTagFilter("*x"))
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "tag filter", ae.Arg)
	_, err = c.Event.Fire(ctx, "x", nil, consul.EventTagFilter("v1"))
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, ae.Reason, "service filter")
	_, err = c.Event.Fire(ctx, "x", nil, consul.Tag("v1"))
	require.ErrorAs(t, err, &ae, "consul.Tag sends ?tag= as well")
	w.noRequest(t)
}

func TestEventListWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "8460842238173148536"}, Body: `[{"ID":"a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d","Name":"deploy","Payload":"/wBoacMogA==","NodeFilter":"","ServiceFilter":"","TagFilter":"","Version":1,"LTime":7}]`})
	evs, meta, err := c.Event.List(testCtx(t), "deploy", consul.WaitIndex(1), consul.WaitTime(5*time.Second))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/event/list", q("name", "deploy", "index", "1", "wait", "5s"))
	require.Len(t, evs, 1)
	assert.Equal(t, eventTestPayload, evs[0].Payload, "the listed payload is base64 on the wire")
	assert.Equal(t, uint64(7), evs[0].LTime)
	idx, err := consul.EventIDToIndex(evs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, meta.Index, idx)

	w, c = newWire(t, reply{Header: map[string]string{"X-Consul-Index": "1"}, Body: `[]`})
	evs, meta, err = c.Event.List(testCtx(t), "")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/event/list", nil)
	assert.NotNil(t, evs)
	assert.Empty(t, evs)
	assert.Equal(t, uint64(1), meta.Index)
}

func TestEventIDToIndex(t *testing.T) {
	// 0xa7edd9f3e1536fe5 ^ 0xd2872ac3cbbd1a9d
	idx, err := consul.EventIDToIndex("a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d")
	require.NoError(t, err)
	assert.Equal(t, uint64(8460842238173148536), idx)
	idx, err = consul.EventIDToIndex("A7EDD9F3-E153-6FE5-D287-2AC3CBBD1A9D")
	require.NoError(t, err)
	assert.Equal(t, uint64(8460842238173148536), idx)
	idx, err = consul.EventIDToIndex("00000000-0000-0000-0000-000000000000")
	require.NoError(t, err)
	assert.Zero(t, idx)
	idx, err = consul.EventIDToIndex("ffffffff-ffff-ffff-0000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, ^uint64(0)-1, idx)

	for _, bad := range []string{"", "a7edd9f3e1536fe5d2872ac3cbbd1a9d", "a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9", "a7edd9f3-e153-6fe5-d287-2ac3cbbd1a9dx",
		"a7edd9f3-e153-6fe5-d287_2ac3cbbd1a9d", "g7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d", "+7edd9f3-e153-6fe5-d287-2ac3cbbd1a9d"} {
		_, err := consul.EventIDToIndex(bad)
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, bad)
	}
}

// eventTestWaitFor lists the events of name until one with id appears,
// bounded: events travel by gossip.
func eventTestWaitFor(t *testing.T, c *consul.Client, name, id string) ([]*consul.UserEvent, *consul.Meta) {
	t.Helper()
	ctx := testCtx(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs, meta, err := c.Event.List(ctx, name)
		require.NoError(t, err)
		for _, ev := range evs {
			if ev.ID == id {
				return evs, meta
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s (%s) never listed", name, id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEventFireAndList(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name, other := uniq(t, "deploy"), uniq(t, "other")

	none, meta, err := c.Event.List(ctx, name)
	require.NoError(t, err)
	assert.Empty(t, none)
	assert.Equal(t, uint64(1), meta.Index, "Consul reports index 1 when no event matches")

	// A node filter matching this agent: it must still record the event.
	ev, err := c.Event.Fire(ctx, name, eventTestPayload, consul.EventNodeFilter("^"+srv.NodeName+"$"))
	require.NoError(t, err)
	require.NotEmpty(t, ev.ID)
	assert.Equal(t, name, ev.Name)
	assert.Equal(t, eventTestPayload, ev.Payload)
	assert.Equal(t, "^"+srv.NodeName+"$", ev.NodeFilter)
	otherEv, err := c.Event.Fire(ctx, other, []byte("x"))
	require.NoError(t, err)

	evs, meta := eventTestWaitFor(t, c, name, ev.ID)
	require.Len(t, evs, 1, "the name filter keeps only %s", name)
	got := evs[0]
	assert.Equal(t, eventTestPayload, got.Payload, "the payload comes back byte for byte")
	assert.Equal(t, name, got.Name)
	assert.NotZero(t, got.LTime)
	idx, err := consul.EventIDToIndex(got.ID)
	require.NoError(t, err)
	assert.Equal(t, meta.Index, idx, "the list's index is the hash of the last event's ID")

	evs, _ = eventTestWaitFor(t, c, other, otherEv.ID)
	require.Len(t, evs, 1)
	assert.Equal(t, []byte("x"), evs[0].Payload)

	all, meta, err := c.Event.List(ctx, "")
	require.NoError(t, err)
	var ids []string
	for _, e := range all {
		ids = append(ids, e.ID)
	}
	assert.Contains(t, ids, ev.ID)
	assert.Contains(t, ids, otherEv.ID)
	idx, err = consul.EventIDToIndex(all[len(all)-1].ID)
	require.NoError(t, err)
	assert.Equal(t, meta.Index, idx)

	// An event for nodes that are not this one is not recorded here.
	skipped, err := c.Event.Fire(ctx, name, nil, consul.EventNodeFilter("^no-such-node$"))
	require.NoError(t, err)
	third, err := c.Event.Fire(ctx, name, nil)
	require.NoError(t, err)
	evs, _ = eventTestWaitFor(t, c, name, third.ID)
	for _, e := range evs {
		assert.NotEqual(t, skipped.ID, e.ID)
	}
	assert.Nil(t, evs[len(evs)-1].Payload)
}

func TestEventListBlocking(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	name := uniq(t, "wake")
	_, meta, err := c.Event.List(ctx, name)
	require.NoError(t, err)

	fired := make(chan string, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		ev, err := c.Event.Fire(context.Background(), name, []byte("go"))
		if err == nil {
			fired <- ev.ID
		}
		close(fired)
	}()
	start := time.Now()
	evs, meta2, err := c.Event.List(ctx, name, consul.WaitIndex(meta.Index), consul.WaitTime(10*time.Second))
	require.NoError(t, err)
	id := <-fired
	require.NotEmpty(t, id, "fire failed")
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "the list must have blocked")
	assert.Less(t, time.Since(start), 9*time.Second, "the list must wake up on the event")
	require.Len(t, evs, 1)
	assert.Equal(t, id, evs[0].ID)
	want, err := consul.EventIDToIndex(id)
	require.NoError(t, err)
	assert.Equal(t, want, meta2.Index)
}

func TestEventFireRefusedByConsul(t *testing.T) {
	// Consul caps an event's payload (Serf's 512-byte message limit up to
	// 1.21, a 300-byte payload limit since 1.22, with another status and
	// message): whatever the limit and its wording, 1 KiB is refused and
	// not delivered, and a small payload is.
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	name := uniq(t, "big")
	_, err := c.Event.Fire(ctx, name, make([]byte, 1024))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.GreaterOrEqual(t, se.StatusCode, 400)
	assert.Equal(t, "PUT", se.Method)
	assert.NotEmpty(t, se.Body, "Consul says why")

	ev, err := c.Event.Fire(ctx, name, make([]byte, 100))
	require.NoError(t, err)
	var evs []*consul.UserEvent
	require.Eventually(t, func() bool {
		evs, _, err = c.Event.List(ctx, name)
		return err == nil && len(evs) > 0
	}, 10*time.Second, 50*time.Millisecond, "the small event is delivered")
	require.Len(t, evs, 1, "only the small event was delivered")
	assert.Equal(t, ev.ID, evs[0].ID)
	assert.Len(t, evs[0].Payload, 100)
}

// Fire an event to the nodes running "web" and list it back.
func ExampleEventService_Fire() {
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ev, err := client.Event.Fire(ctx, "deploy", []byte("v1.2.3"), consul.EventServiceFilter("^web$"))
	if err != nil {
		panic(err)
	}
	events, meta, err := client.Event.List(ctx, "deploy")
	if err != nil {
		panic(err)
	}
	// Meta.Index is the last event's ID turned into an index.
	last, _ := consul.EventIDToIndex(ev.ID)
	fmt.Println(len(events), meta.Index == last)
}
