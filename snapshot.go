package consul

// SnapshotService saves and restores snapshots of the servers' state: /v1/snapshot.
type SnapshotService service
