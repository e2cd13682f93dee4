package consul

import (
	"context"
	"net/http"
)

// ImportedService is a service that the partition imports from a cluster
// peer (or, in Consul Enterprise, from another partition). Consul derives
// the list from the service-intentions config entries whose sources name a
// peer: the service is the entry's (destination) name and SourcePeer the
// source's peer.
type ImportedService struct {
	Service string
	// Partition and Namespace of the service; Consul CE leaves them empty.
	Partition string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	// SourcePeer is the peer the service is imported from, and
	// SourcePartition the partition (Consul Enterprise).
	SourcePeer      string `json:",omitempty"`
	SourcePartition string `json:",omitempty"`
}

var epConfigEntriesListImportedServices = endpoint{name: "ConfigEntries.ListImportedServices", method: http.MethodGet,
	route: "/v1/imported-services", opts: oConsistency | oBlocking | oPartition, read: true}

// ListImportedServices lists the services imported into the partition (the
// client's, or the one of a Partition option), one entry per service and
// source: GET /v1/imported-services, new in Consul 1.22. Nothing imported
// returns an empty slice. An agent older than 1.22 does not serve the route
// and answers 404: that is a *StatusError matching ErrNotFound, not an empty
// list. It is a blocking read: pass WaitIndex(meta.Index) to wait for a
// change; consistency options apply, and Partition (Consul reads no
// datacenter here).
func (s *ConfigEntriesService) ListImportedServices(ctx context.Context, opts ...Option) ([]ImportedService, *Meta, error) {
	var out []ImportedService
	meta, err := s.client.call(ctx, &epConfigEntriesListImportedServices, "/v1/imported-services", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []ImportedService{}
	}
	return out, meta, nil
}
