package consul

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// SessionBehavior is what happens to the locks of a session when it is
// invalidated.
type SessionBehavior string

const (
	// SessionRelease releases the session's locks (Consul's default).
	SessionRelease SessionBehavior = "release"
	// SessionDelete deletes the keys the session holds.
	SessionDelete SessionBehavior = "delete"
)

// SessionServiceCheck names a service check a session depends on.
type SessionServiceCheck struct {
	ID        string
	Namespace string `json:",omitempty"`
}

// SessionEntry is a session, as created and as read back.
//
// On Create, a nil NodeChecks keeps Consul's default (the node's serfHealth
// check) while an empty non-nil slice creates a session bound to no node
// check, invalidated only by its TTL or by Destroy.
type SessionEntry struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
	// Node the session belongs to; empty means the agent's node.
	Node string `json:",omitempty"`
	// LockDelay is how long a released lock cannot be re-acquired; zero
	// means Consul's default of 15s on Create, NoLockDelay means none.
	LockDelay time.Duration
	// Behavior on invalidation; empty means SessionRelease.
	Behavior SessionBehavior `json:",omitempty"`
	// TTL invalidates the session unless it is renewed in time; zero means
	// none. Consul accepts 10s to 24h (session_ttl_min can lower the floor).
	TTL           time.Duration
	NodeChecks    []string
	ServiceChecks []SessionServiceCheck
	Namespace     string `json:",omitempty"`
	Partition     string `json:",omitempty"`
	CreateIndex   uint64 `json:",omitempty"`
	ModifyIndex   uint64 `json:",omitempty"`
}

// sessionWire is SessionEntry with Consul's duration forms.
// The fields shadow those of the embedded alias: LockDelay and TTL in
// Consul's duration forms, and the check lists sent only when non-nil, since
// a JSON null would wipe Consul's default serfHealth check.
type sessionWire struct {
	*sessionAlias
	LockDelay     *duration              `json:",omitempty"`
	TTL           duration               `json:",omitempty"`
	NodeChecks    *[]string              `json:",omitempty"`
	ServiceChecks *[]SessionServiceCheck `json:",omitempty"`
}

type sessionAlias SessionEntry

// NoLockDelay set as SessionEntry.LockDelay creates a session whose locks
// can be re-acquired at once after release (a zero LockDelay keeps Consul's
// default of 15s).
const NoLockDelay time.Duration = -1

// MarshalJSON writes LockDelay and TTL in Consul's "15s" form.
// Hand-written (UnmarshalJSON is generated): NoLockDelay is written as 0
// and a zero LockDelay left out, and nil check lists are left out while
// empty ones are sent.
func (e SessionEntry) MarshalJSON() ([]byte, error) {
	w := sessionWire{sessionAlias: (*sessionAlias)(&e), TTL: duration(e.TTL)}
	switch {
	case e.LockDelay == NoLockDelay:
		var zero duration
		w.LockDelay = &zero
	case e.LockDelay > 0:
		d := duration(e.LockDelay)
		w.LockDelay = &d
	}
	if e.NodeChecks != nil {
		w.NodeChecks = &e.NodeChecks
	}
	if e.ServiceChecks != nil {
		w.ServiceChecks = &e.ServiceChecks
	}
	return json.Marshal(w)
}

// SessionService manages sessions: /v1/session/.
type SessionService service

var epSessionCreate = endpoint{name: "Session.Create", method: http.MethodPut, route: "/v1/session/create", opts: oDC | oEnt}

// Create creates a session and returns its ID: PUT /v1/session/create.
// A nil entry creates one with Consul's defaults. A negative TTL or
// LockDelay, or an unknown Behavior, is refused before sending.
func (s *SessionService) Create(ctx context.Context, entry *SessionEntry, opts ...Option) (string, error) {
	var body any
	if entry != nil {
		if entry.TTL < 0 {
			return "", argError("SessionEntry.TTL", "negative duration %s", entry.TTL)
		}
		if entry.LockDelay < 0 && entry.LockDelay != NoLockDelay {
			return "", argError("SessionEntry.LockDelay", "negative duration %s", entry.LockDelay)
		}
		switch entry.Behavior {
		case "", SessionRelease, SessionDelete:
		default:
			return "", argError("SessionEntry.Behavior", "unknown behavior %q", entry.Behavior)
		}
		body = entry
	}
	var out struct{ ID string }
	if _, err := s.client.call(ctx, &epSessionCreate, "/v1/session/create", nil, body, opts, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

var epSessionDestroy = endpoint{name: "Session.Destroy", method: http.MethodPut, route: "/v1/session/destroy/:id", opts: oDC | oEnt}

// Destroy invalidates a session, releasing or deleting its keys as its
// Behavior says: PUT /v1/session/destroy/:id. Destroying a session that
// does not exist is not an error. An id that is not one path segment
// (empty, "." or "..", with a '/' or a control character) is refused
// before sending.
func (s *SessionService) Destroy(ctx context.Context, id string, opts ...Option) error {
	path, err := buildPath("/v1/session/destroy/{id}", id)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epSessionDestroy, path, nil, nil, opts, nil)
	return err
}

var epSessionRenew = endpoint{name: "Session.Renew", method: http.MethodPut, route: "/v1/session/renew/:id", opts: oDC | oEnt}

// Renew resets a session's TTL and returns the session: PUT
// /v1/session/renew/:id. A session that no longer exists is an error
// matching ErrNotFound: whatever it held is lost. An id that is not one
// path segment is refused before sending.
func (s *SessionService) Renew(ctx context.Context, id string, opts ...Option) (*SessionEntry, error) {
	path, err := buildPath("/v1/session/renew/{id}", id)
	if err != nil {
		return nil, err
	}
	var out []*SessionEntry
	if _, err := s.client.call(ctx, &epSessionRenew, path, nil, nil, opts, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, &StatusError{StatusCode: http.StatusNotFound, Method: http.MethodPut, Path: path, Body: "session not found"}
	}
	return out[0], nil
}

var epSessionGet = endpoint{name: "Session.Get", method: http.MethodGet, route: "/v1/session/info/:id", opts: oRead | oEnt, read: true, notFoundOK: true}

// Get reads one session: GET /v1/session/info/:id.
//
// A session that does not exist returns (nil, meta, nil). An id that is
// not one path segment is refused before sending. It supports blocking and
// consistency options.
func (s *SessionService) Get(ctx context.Context, id string, opts ...Option) (*SessionEntry, *Meta, error) {
	path, err := buildPath("/v1/session/info/{id}", id)
	if err != nil {
		return nil, nil, err
	}
	var out []*SessionEntry
	meta, err := s.client.call(ctx, &epSessionGet, path, nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return first(out), meta, nil
}

var epSessionListByNode = endpoint{name: "Session.ListByNode", method: http.MethodGet, route: "/v1/session/node/:node", opts: oRead | oEnt, read: true}

// ListByNode lists the sessions of one node: GET /v1/session/node/:node. A node
// that is not one path segment is refused before sending. It supports
// blocking and consistency options.
func (s *SessionService) ListByNode(ctx context.Context, node string, opts ...Option) ([]*SessionEntry, *Meta, error) {
	path, err := buildPath("/v1/session/node/{node}", node)
	if err != nil {
		return nil, nil, err
	}
	var out []*SessionEntry
	meta, err := s.client.call(ctx, &epSessionListByNode, path, nil, nil, opts, &out)
	return out, meta, err
}

var epSessionList = endpoint{name: "Session.List", method: http.MethodGet, route: "/v1/session/list", opts: oRead | oEnt, read: true}

// List lists every session (aioconsul's items): GET /v1/session/list. It
// supports blocking and consistency options.
func (s *SessionService) List(ctx context.Context, opts ...Option) ([]*SessionEntry, *Meta, error) {
	var out []*SessionEntry
	meta, err := s.client.call(ctx, &epSessionList, "/v1/session/list", nil, nil, opts, &out)
	return out, meta, err
}
