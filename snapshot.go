package consul

import (
	"context"
	"io"
	"net/http"
)

// SnapshotService saves and restores snapshots of the servers' state: /v1/snapshot.
//
// A snapshot holds the whole Raft state of a datacenter (KV, catalog,
// sessions, ACLs, config entries...) as a gzipped archive. Both calls need
// a management token when ACLs are on.
type SnapshotService service

var (
	// Save reads the datacenter and ?stale; the other consistency modes
	// are not read by the route.
	epSnapshotSave = endpoint{name: "Snapshot.Save", method: http.MethodGet, route: "/v1/snapshot",
		opts: oDC | oConsistency, read: true, long: true}
	// Restore refuses ?stale ("stale not allowed for restore").
	epSnapshotRestore = endpoint{name: "Snapshot.Restore", method: http.MethodPut, route: "/v1/snapshot", opts: oDC, long: true}
)

// Save takes a snapshot and streams it: GET /v1/snapshot. The caller reads
// the snapshot from the returned body and must close it; nothing is
// buffered in memory, so a large snapshot goes straight to where it is
// copied:
//
//	body, meta, err := client.Snapshot.Save(ctx)
//	if err != nil {
//		return err
//	}
//	defer body.Close()
//	_, err = io.Copy(file, body)
//
// meta.Index is the Raft index the snapshot was taken at. The Stale option
// lets any server take it (?stale), e.g. when there is no leader. Save is
// sent once: it is neither retried nor failed over to another agent. The
// context bounds the whole transfer: cancelling it ends the stream.
// Config.Timeout and Config.MaxResponseSize do not apply to it.
func (s *SnapshotService) Save(ctx context.Context, opts ...Option) (io.ReadCloser, *Meta, error) {
	resp, meta, err := s.client.stream(ctx, &epSnapshotSave, epSnapshotSave.route, nil, opts)
	if err != nil {
		return nil, meta, err
	}
	return resp.Body, meta, nil
}

// Restore replaces the whole state of the datacenter with the snapshot
// read from snap (as written by Save): PUT /v1/snapshot. Every change made
// since the snapshot was taken is lost. snap is streamed, not buffered, and
// not closed; a nil snap is refused before sending. Restore is sent once,
// never retried, and bounded by ctx only (not by Config.Timeout).
func (s *SnapshotService) Restore(ctx context.Context, snap io.Reader, opts ...Option) error {
	if snap == nil {
		return argError("snap", "nil")
	}
	body := snap
	if _, ok := snap.(io.Closer); ok {
		// The HTTP transport closes a body that is an io.Closer: hide
		// Close, the caller owns snap.
		body = struct{ io.Reader }{snap}
	}
	_, err := s.client.call(ctx, &epSnapshotRestore, epSnapshotRestore.route, nil, body, opts, nil)
	return err
}
