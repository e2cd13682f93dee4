package consul_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigEntriesImportedServicesWire(t *testing.T) {
	w, c := newWire(t, reply{
		Header: map[string]string{"X-Consul-Index": "41"},
		Body:   `[{"Service":"db","SourcePeer":"east"},{"Service":"web","Partition":"p1","Namespace":"ns","SourcePartition":"p2"}]`,
	})
	list, meta, err := c.ConfigEntries.ListImportedServices(testCtx(t), consul.Partition("p1"), consul.WaitIndex(3), consul.Stale())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/imported-services", q("partition", "p1", "index", "3", "stale", ""))
	assert.Equal(t, uint64(41), meta.Index)
	assert.Equal(t, []consul.ImportedService{
		{Service: "db", SourcePeer: "east"},
		{Service: "web", Partition: "p1", Namespace: "ns", SourcePartition: "p2"},
	}, list)

	// Nothing imported (Consul answers null or []) is an empty, non-nil list.
	for _, body := range []string{`null`, `[]`} {
		_, c := newWire(t, reply{Body: body})
		list, _, err := c.ConfigEntries.ListImportedServices(testCtx(t))
		require.NoError(t, err, body)
		assert.NotNil(t, list, body)
		assert.Empty(t, list, body)
	}

	// An agent without the route answers 404: an error, not an empty list.
	_, c = newWire(t, reply{Status: http.StatusNotFound, Body: "404 page not found"})
	list, _, err = c.ConfigEntries.ListImportedServices(testCtx(t))
	require.ErrorIs(t, err, consul.ErrNotFound)
	assert.Nil(t, list)
}

func TestConfigEntriesImportedServicesIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries

	if !agentAtLeast(t, srv, 1, 22) {
		// Older agents do not serve the route: Consul's mux answers 404.
		_, _, err := s.ListImportedServices(ctx)
		var se *consul.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusNotFound, se.StatusCode)
		require.ErrorIs(t, err, consul.ErrNotFound)
		return
	}

	svc := configTestName(t, "db")
	list, meta, err := s.ListImportedServices(ctx)
	require.NoError(t, err)
	require.NotZero(t, meta.Index)
	for _, is := range list {
		require.NotEqual(t, svc, is.Service)
	}

	// Consul lists as imported every service whose intentions allow a
	// source of a peer, whether or not the peering exists yet. Block on the
	// index while another goroutine writes the intention.
	t.Cleanup(func() { _ = s.Delete(ctx, consul.ConfigKindServiceIntentions, svc) })
	applied := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(wg.Wait) // the write ends before the test does, even when it fails
	go func() {
		defer wg.Done()
		time.Sleep(200 * time.Millisecond)
		applied <- s.Put(ctx, &consul.ServiceIntentionsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: svc}, Sources: []*consul.ServiceIntentionsSource{
			{Name: "web", Peer: "east", Action: consul.IntentionAllow},
			{Name: "api", Peer: "west", Action: consul.IntentionAllow},
			{Name: "local", Action: consul.IntentionDeny},
		}})
	}()
	var got []consul.ImportedService
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		start := time.Now()
		list, meta2, err := s.ListImportedServices(ctx, consul.WaitIndex(meta.Index), consul.WaitTime(5*time.Second))
		require.NoError(t, err)
		got = got[:0]
		for _, is := range list {
			if is.Service == svc {
				got = append(got, is)
			}
		}
		if len(got) > 0 {
			require.Greater(t, meta2.Index, meta.Index, "a new answer has a higher index")
			break
		}
		if meta2.Index == meta.Index {
			require.GreaterOrEqual(t, time.Since(start), time.Second, "a blocking read waits")
		}
		meta = meta2
	}
	require.NoError(t, <-applied)
	assert.ElementsMatch(t, []consul.ImportedService{
		{Service: svc, SourcePeer: "east"},
		{Service: svc, SourcePeer: "west"},
	}, got, "one entry per source peer; the local source imports nothing")

	// Deleting the intentions ends the import.
	require.NoError(t, s.Delete(ctx, consul.ConfigKindServiceIntentions, svc))
	list, _, err = s.ListImportedServices(ctx)
	require.NoError(t, err)
	for _, is := range list {
		require.NotEqual(t, svc, is.Service)
	}
}
