package consul_test

import (
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigEntriesExportedServicesWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "17"},
		Body: `[{"Service":"web","Consumers":{"Peers":["east"]}},{"Service":"db","Partition":"p1","Namespace":"ns1","Consumers":{"Partitions":["p2"]}}]`})
	list, meta, err := c.ConfigEntries.ListExportedServices(testCtx(t), consul.Partition("p1"), consul.WaitIndex(3))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/exported-services", q("partition", "p1", "index", "3"))
	assert.EqualValues(t, 17, meta.Index)
	assert.Equal(t, []consul.ResolvedExportedService{
		{Service: "web", Consumers: consul.ResolvedExportedConsumers{Peers: []string{"east"}}},
		{Service: "db", Partition: "p1", Namespace: "ns1", Consumers: consul.ResolvedExportedConsumers{Partitions: []string{"p2"}}},
	}, list)

	_, c = newWire(t, reply{Body: "[]"})
	list, _, err = c.ConfigEntries.ListExportedServices(testCtx(t))
	require.NoError(t, err)
	assert.NotNil(t, list)
	assert.Empty(t, list)
}

func TestConfigEntriesExportedServicesIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries
	svc := configTestName(t, "db")

	// exported-services is one entry per partition, "default" on CE.
	prev, _, err := s.Get(ctx, consul.ConfigKindExportedServices, "default")
	require.NoError(t, err)
	t.Cleanup(func() {
		if prev != nil {
			_ = s.Put(ctx, prev)
		} else {
			_ = s.Delete(ctx, consul.ConfigKindExportedServices, "default")
		}
	})
	if prev == nil {
		list, _, err := s.ListExportedServices(ctx)
		require.NoError(t, err)
		assert.NotNil(t, list)
		assert.Empty(t, list)
	}

	// A peer that does not exist yet is accepted: the export waits for it.
	entry := &consul.ExportedServicesConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "default"}, Services: []consul.ExportedService{
			{Name: svc, Consumers: []consul.ExportedServiceConsumer{{Peer: "east"}, {Peer: "west"}}},
		}}
	require.NoError(t, s.Put(ctx, entry))

	got, _, err := s.Get(ctx, consul.ConfigKindExportedServices, "default")
	require.NoError(t, err)
	es := got.(*consul.ExportedServicesConfigEntry)
	require.Len(t, es.Services, 1)
	assert.Equal(t, entry.Services, es.Services)

	list, meta, err := s.ListExportedServices(ctx)
	require.NoError(t, err)
	assert.NotZero(t, meta.Index)
	require.Len(t, list, 1)
	assert.Equal(t, svc, list[0].Service)
	assert.ElementsMatch(t, []string{"east", "west"}, list[0].Consumers.Peers)

	// CE allows only the name "default".
	err = s.Put(ctx, &consul.ExportedServicesConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "other"}})
	require.Error(t, err)
}
