package consul

import (
	"context"
	"math"
	"net/http"
)

// CoordinateService reads and updates network coordinates: /v1/coordinate/.
//
// Consul estimates the round trip time between nodes with Vivaldi network
// coordinates; Near options sort results with them. An agent configured
// with disable_coordinates answers every call with a 401 error.
type CoordinateService service

// Coordinate is a Vivaldi network coordinate (serf's coordinate.Coordinate).
// Distances are in seconds.
type Coordinate struct {
	// Vec is the Euclidean part of the coordinate.
	Vec []float64
	// Error is the confidence in the coordinate (dimensionless).
	Error float64
	// Adjustment is a distance offset learnt from the other nodes.
	Adjustment float64
	// Height models the node's access link.
	Height float64
}

// CoordinateEntry is the coordinate of a node in one network segment.
type CoordinateEntry struct {
	Node string
	// Segment is the network segment; empty is the default segment.
	Segment   string
	Partition string `json:",omitempty"`
	Coord     *Coordinate
}

// CoordinateDatacenterMap is the WAN coordinates of a datacenter's servers.
type CoordinateDatacenterMap struct {
	Datacenter  string
	AreaID      string
	Coordinates []*CoordinateEntry
}

// CoordinateSegment keeps only the coordinates of one network segment
// (?segment=); "" keeps the default segment's. Without it every segment's
// coordinates are listed. For Coordinate.ListNodes and Coordinate.GetNode.
func CoordinateSegment(segment string) Option { return Param("segment", segment) }

// ListDatacenters lists every known datacenter with the WAN coordinates of its
// servers: GET /v1/coordinate/datacenters. It is not a blocking query and
// has no consistency options: the agent answers from its WAN gossip view.
func (s *CoordinateService) ListDatacenters(ctx context.Context, opts ...Option) ([]*CoordinateDatacenterMap, *Meta, error) {
	var out []*CoordinateDatacenterMap
	meta, err := s.client.get(ctx, "/v1/coordinate/datacenters", nil, opts, &out)
	return out, meta, err
}

// ListNodes lists the LAN coordinates of the nodes of a datacenter, one entry
// per node and segment: GET /v1/coordinate/nodes. CoordinateSegment keeps
// one segment. A node appears only once it has sent a coordinate. It
// supports blocking and consistency options.
func (s *CoordinateService) ListNodes(ctx context.Context, opts ...Option) ([]*CoordinateEntry, *Meta, error) {
	var out []*CoordinateEntry
	meta, err := s.client.get(ctx, "/v1/coordinate/nodes", nil, opts, &out)
	return out, meta, err
}

// GetNode reads the LAN coordinates of one node, one entry per segment it is
// in: GET /v1/coordinate/node/:node. CoordinateSegment keeps one segment.
//
// A node that does not exist, or has no coordinate yet, returns
// (nil, meta, nil) (Consul answers 404). A name that is not one path
// segment (empty, "." or "..", with a '/' or a control character) is
// refused before sending. It supports blocking and consistency options.
func (s *CoordinateService) GetNode(ctx context.Context, node string, opts ...Option) ([]*CoordinateEntry, *Meta, error) {
	path, err := buildPath("/v1/coordinate/node/{node}", node)
	if err != nil {
		return nil, nil, err
	}
	var out []*CoordinateEntry
	meta, err := s.client.getOptional(ctx, path, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

// Update sets the LAN coordinate of a node: PUT /v1/coordinate/update, for
// nodes that compute their coordinates themselves (agents do it on their
// own). The servers apply updates in batches, every few seconds, and only
// for nodes in the catalog; the coordinate must have the cluster's
// dimensionality (8 in Consul 1.19), or Consul refuses it as incompatible.
//
// A nil entry, an empty Node, a nil Coord, or a coordinate with a NaN or
// infinite value is refused before sending.
func (s *CoordinateService) Update(ctx context.Context, entry *CoordinateEntry, opts ...Option) error {
	if entry == nil {
		return argError("CoordinateEntry", "nil")
	}
	if entry.Node == "" {
		return argError("CoordinateEntry.Node", "empty")
	}
	c := entry.Coord
	if c == nil {
		return argError("CoordinateEntry.Coord", "nil")
	}
	if len(c.Vec) == 0 {
		return argError("CoordinateEntry.Coord.Vec", "empty")
	}
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	for i, v := range c.Vec {
		if bad(v) {
			return argError("CoordinateEntry.Coord.Vec", "invalid value %v at %d", v, i)
		}
	}
	switch {
	case bad(c.Error):
		return argError("CoordinateEntry.Coord.Error", "invalid value %v", c.Error)
	case bad(c.Adjustment):
		return argError("CoordinateEntry.Coord.Adjustment", "invalid value %v", c.Adjustment)
	case bad(c.Height):
		return argError("CoordinateEntry.Coord.Height", "invalid value %v", c.Height)
	}
	_, err := s.client.write(ctx, http.MethodPut, "/v1/coordinate/update", nil, entry, opts, nil)
	return err
}
