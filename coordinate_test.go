package consul_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Answers recorded from a Consul 1.19.2 agent.
const (
	coordinateTestDCsJSON   = `[{"Datacenter":"dc1","AreaID":"wan","Coordinates":[{"Node":"consultest-34057","Segment":"","Coord":{"Vec":[0,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001}}]}]`
	coordinateTestNodesJSON = `[{"Node":"foobar","Segment":"","Coord":{"Vec":[0.1,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001}}]`
)

var coordinateTestFoobar = &consul.CoordinateEntry{Node: "foobar", Coord: &consul.Coordinate{
	Vec: []float64{0.1, 0, 0, 0, 0, 0, 0, 0}, Error: 1.5, Height: 0.00001}}

func TestCoordinateDatacentersWire(t *testing.T) {
	w, c := newWire(t, reply{Body: coordinateTestDCsJSON})
	dcs, _, err := c.Coordinate.ListDatacenters(testCtx(t))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/coordinate/datacenters", nil)
	require.Len(t, dcs, 1)
	assert.Equal(t, "dc1", dcs[0].Datacenter)
	assert.Equal(t, "wan", dcs[0].AreaID)
	require.Len(t, dcs[0].Coordinates, 1)
	assert.Equal(t, "consultest-34057", dcs[0].Coordinates[0].Node)
	assert.Equal(t, &consul.Coordinate{Vec: make([]float64, 8), Error: 1.5, Height: 0.00001}, dcs[0].Coordinates[0].Coord)
}

func TestCoordinateNodesWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "21"}, Body: coordinateTestNodesJSON})
	entries, meta, err := c.Coordinate.ListNodes(testCtx(t), consul.CoordinateSegment(""), consul.Stale(), consul.Datacenter("dc2"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/coordinate/nodes", q("dc", "dc2", "stale", "", "segment", ""))
	assert.Equal(t, uint64(21), meta.Index)
	assert.Equal(t, []*consul.CoordinateEntry{coordinateTestFoobar}, entries)

	w, c = newWire(t, reply{Header: map[string]string{"X-Consul-Index": "21"}, Body: coordinateTestNodesJSON})
	entries, meta, err = c.Coordinate.GetNode(testCtx(t), "foo bar", consul.CoordinateSegment("alpha"), consul.WaitIndex(20))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/coordinate/node/foo%20bar", q("index", "20", "segment", "alpha"))
	assert.Equal(t, uint64(21), meta.Index)
	assert.Equal(t, []*consul.CoordinateEntry{coordinateTestFoobar}, entries)
}

func TestCoordinateNodeMissingWire(t *testing.T) {
	_, c := newWire(t, reply{Status: 404, Header: map[string]string{"X-Consul-Index": "1"}})
	entries, meta, err := c.Coordinate.GetNode(testCtx(t), "missing")
	require.NoError(t, err)
	assert.Nil(t, entries)
	require.NotNil(t, meta)
	assert.Equal(t, uint64(1), meta.Index)

	_, c = newWire(t, reply{Status: 401, Body: "Coordinate support disabled"})
	_, _, err = c.Coordinate.GetNode(testCtx(t), "n")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 401, se.StatusCode)
}

func TestCoordinateUpdateWire(t *testing.T) {
	w, c := newWire(t)
	entry := &consul.CoordinateEntry{Node: "foobar", Segment: "alpha", Coord: &consul.Coordinate{
		Vec: []float64{0.1, 0, 0, 0, 0, 0, 0, 0.25}, Error: 1.5, Adjustment: -0.001, Height: 0.00001}}
	require.NoError(t, c.Coordinate.Update(testCtx(t), entry, consul.Datacenter("dc2")))
	r := w.only(t)
	r.expect(t, "PUT", "/v1/coordinate/update", q("dc", "dc2"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"Node":"foobar","Segment":"alpha","Coord":{"Vec":[0.1,0,0,0,0,0,0,0.25],"Error":1.5,"Adjustment":-0.001,"Height":0.00001}}`, r.Body)
}

func TestCoordinateBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	var ae *consul.ArgumentError
	_, _, err := c.Coordinate.GetNode(ctx, "")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "node", ae.Arg)
	vec := make([]float64, 8)
	for arg, e := range map[string]*consul.CoordinateEntry{
		"CoordinateEntry":                  nil,
		"CoordinateEntry.Node":             {Coord: &consul.Coordinate{Vec: vec}},
		"CoordinateEntry.Coord":            {Node: "n"},
		"CoordinateEntry.Coord.Vec":        {Node: "n", Coord: &consul.Coordinate{Vec: []float64{0, math.NaN()}}},
		"CoordinateEntry.Coord.Error":      {Node: "n", Coord: &consul.Coordinate{Vec: vec, Error: math.Inf(1)}},
		"CoordinateEntry.Coord.Adjustment": {Node: "n", Coord: &consul.Coordinate{Vec: vec, Adjustment: math.NaN()}},
		"CoordinateEntry.Coord.Height":     {Node: "n", Coord: &consul.Coordinate{Vec: vec, Height: math.Inf(-1)}},
	} {
		err := c.Coordinate.Update(ctx, e)
		require.ErrorAs(t, err, &ae, arg)
		assert.Equal(t, arg, ae.Arg)
	}
	require.ErrorAs(t, c.Coordinate.Update(ctx, &consul.CoordinateEntry{Node: "n", Coord: &consul.Coordinate{}}), &ae)
	assert.Equal(t, "CoordinateEntry.Coord.Vec", ae.Arg)
	w.noRequest(t)
}

func TestCoordinateDatacenters(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	dcs, _, err := c.Coordinate.ListDatacenters(testCtx(t))
	require.NoError(t, err)
	require.Len(t, dcs, 1)
	assert.Equal(t, srv.Datacenter, dcs[0].Datacenter)
	require.NotEmpty(t, dcs[0].Coordinates)
	assert.Equal(t, srv.NodeName, dcs[0].Coordinates[0].Node)
	require.NotNil(t, dcs[0].Coordinates[0].Coord)
	assert.Len(t, dcs[0].Coordinates[0].Coord.Vec, 8)
}

func TestCoordinateUpdateAndRead(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	node := uniq(t, "node")

	entries, meta, err := c.Coordinate.GetNode(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, entries, "a node without coordinate reads as nil")
	require.NotNil(t, meta)

	// Coordinates are kept only for nodes of the catalog.
	require.NoError(t, c.Catalog.Register(ctx, &consul.CatalogRegistration{Node: node, Address: "10.2.2.2"}))
	t.Cleanup(func() { _ = c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node}) })
	coord := &consul.Coordinate{Vec: []float64{0.125, 0, 0, 0, 0, 0, 0, -0.5}, Error: 0.75, Adjustment: 0.001, Height: 0.0002}
	require.NoError(t, c.Coordinate.Update(ctx, &consul.CoordinateEntry{Node: node, Coord: coord}))

	// The servers apply updates in batches (every 5s by default): block
	// on the node's coordinate until it shows up, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for entries == nil && time.Now().Before(deadline) {
		entries, meta, err = c.Coordinate.GetNode(ctx, node, consul.WaitIndex(max(meta.Index, 1)), consul.WaitTime(5*time.Second))
		require.NoError(t, err)
	}
	require.Len(t, entries, 1, "the coordinate update never landed")
	assert.Equal(t, node, entries[0].Node)
	assert.Equal(t, "", entries[0].Segment)
	assert.Equal(t, coord, entries[0].Coord)

	all, _, err := c.Coordinate.ListNodes(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(all, func(e *consul.CoordinateEntry) bool { return e.Node == node })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, coord, all[i].Coord)

	seg, _, err := c.Coordinate.ListNodes(ctx, consul.CoordinateSegment(""))
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(seg, func(e *consul.CoordinateEntry) bool { return e.Node == node }))
	seg, _, err = c.Coordinate.ListNodes(ctx, consul.CoordinateSegment("no-such-segment"))
	require.NoError(t, err)
	assert.Empty(t, seg)
	entries, _, err = c.Coordinate.GetNode(ctx, node, consul.CoordinateSegment("no-such-segment"))
	require.NoError(t, err)
	assert.Nil(t, entries)
}

func TestCoordinateUpdateRefusedByConsul(t *testing.T) {
	c := newClient(t, testAgent(t))
	err := c.Coordinate.Update(testCtx(t), &consul.CoordinateEntry{Node: uniq(t, "n"), Coord: &consul.Coordinate{Vec: []float64{1, 2}}})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, se.Body, "incompatible coordinate")
}
