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

func TestConfigEntriesIntentionsAndMeshIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries
	dest := configTestName(t, "dest")
	t.Cleanup(func() {
		_ = s.Delete(ctx, consul.ConfigKindServiceIntentions, dest)
		_ = s.Delete(ctx, consul.ConfigKindMesh, consul.MeshConfigName)
	})

	// service-intentions, typed.
	require.NoError(t, s.Put(ctx, &consul.ServiceIntentionsConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: dest}, Sources: []*consul.ServiceIntentionsSource{
			{Name: "api", Action: "allow", Description: "api may call"},
			{Name: "*", Action: "deny"},
		}}))
	entry, _, err := s.Get(ctx, consul.ConfigKindServiceIntentions, dest)
	require.NoError(t, err)
	ixn := entry.(*consul.ServiceIntentionsConfigEntry)
	require.Len(t, ixn.Sources, 2)
	assert.Equal(t, "api", ixn.Sources[0].Name)
	assert.Equal(t, "allow", ixn.Sources[0].Action)
	assert.Equal(t, "consul", ixn.Sources[0].Type)
	assert.NotZero(t, ixn.Sources[0].Precedence, "computed by Consul")

	// mesh: no name on the wire, "mesh" in the path.
	require.NoError(t, s.Put(ctx, &consul.MeshConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Meta: map[string]string{"by": "config-test"}},
		TransparentProxy:  consul.MeshConfigTransparentProxy{MeshDestinationsOnly: true},
	}))
	entry, _, err = s.Get(ctx, consul.ConfigKindMesh, consul.MeshConfigName)
	require.NoError(t, err)
	mesh := entry.(*consul.MeshConfigEntry)
	assert.True(t, mesh.TransparentProxy.MeshDestinationsOnly)
	assert.Equal(t, "config-test", mesh.Meta["by"])
	require.NoError(t, s.Delete(ctx, consul.ConfigKindMesh, consul.MeshConfigName))

}
