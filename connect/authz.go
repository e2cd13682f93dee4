package connect

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/goconsul/consul"
)

// Defaults of the authorization cache.
const (
	// DefaultAuthorizeCacheTTL is how long a decision of the intentions
	// (allow or deny) is reused for new connections of the same client
	// service: a changed intention applies to new connections within it.
	DefaultAuthorizeCacheTTL = 5 * time.Second
	// DefaultAuthorizeMaxStale is how long after Consul last confirmed it a
	// decision is still used when the agent cannot be asked (it is down,
	// or answers 5xx or 429).
	DefaultAuthorizeMaxStale = 5 * time.Minute
	// AuthorizeTimeout bounds each authorization request, which runs
	// inside a handshake.
	AuthorizeTimeout = 10 * time.Second
	// authzMaxEntries bounds the cache: one entry per client SPIFFE ID.
	// A client beyond it while every entry waits for the agent is refused
	// (errTooManyPending), not added.
	authzMaxEntries = 4096
)

// ErrNotAuthorized is matched by the error of a server handshake whose
// client the intentions do not allow to connect.
var ErrNotAuthorized = errors.New("not authorized by the intentions")

// errTooManyPending refuses a client while the cache is full of clients
// whose authorization is being asked: it stays bounded when the agent is
// slow.
var errTooManyPending = errors.New("too many authorizations waiting for the agent")

// authzCache asks the agent whether clients may connect to the service
// and remembers the answers, one per client SPIFFE ID, for ttl (and, while
// the agent cannot answer, for maxStale).
type authzCache struct {
	client   *consul.Client
	target   string
	ttl      time.Duration
	maxStale time.Duration
	logger   *slog.Logger
	now      func() time.Time

	mu sync.Mutex
	m  map[string]*authzEntry
}

type authzEntry struct {
	authorized bool
	reason     string
	at         time.Time     // when Consul gave the decision; zero before the first
	pending    chan struct{} // closed when the request in flight ends; nil when none
	err        error         // the error of the last request, nil after a success
}

// get returns the entry of uri, made if needed; nil when the cache is full
// of entries whose request is in flight.
func (c *authzCache) get(uri string) *authzEntry {
	e := c.m[uri]
	if e != nil {
		return e
	}
	if len(c.m) >= authzMaxEntries {
		c.evict()
		if len(c.m) >= authzMaxEntries {
			return nil
		}
	}
	e = &authzEntry{}
	c.m[uri] = e
	return e
}

// evict drops the entries too old to use, or, if none is, any one not in
// flight: the map stays bounded whatever the number of clients.
func (c *authzCache) evict() {
	now := c.now()
	for k, e := range c.m {
		if e.pending == nil && now.Sub(e.at) > c.ttl+c.maxStale {
			delete(c.m, k)
		}
	}
	if len(c.m) < authzMaxEntries {
		return
	}
	for k, e := range c.m {
		if e.pending == nil {
			delete(c.m, k)
			return
		}
	}
}

// authorize returns nil when the intentions allow id to connect, an error
// matching ErrNotAuthorized when they deny it, and another error when the
// agent could not be asked and no decision is recent enough to stand in.
// Concurrent handshakes of one client share one request.
func (c *authzCache) authorize(ctx context.Context, id ServiceID, cert *x509.Certificate) error {
	uri := id.String()
	if len(cert.URIs) == 1 {
		uri = cert.URIs[0].String() // as the CA wrote it
	}
	c.mu.Lock()
	for {
		e := c.get(uri)
		if e == nil {
			c.mu.Unlock()
			return fmt.Errorf("connect: authorizing %s: %w", uri, errTooManyPending)
		}
		if !e.at.IsZero() && c.now().Sub(e.at) < c.ttl {
			c.mu.Unlock()
			return c.decision(id, e.authorized, e.reason, false)
		}
		if e.pending == nil {
			e.pending = make(chan struct{})
			c.mu.Unlock()
			return c.ask(ctx, e, id, uri, cert)
		}
		ch := e.pending
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("connect: authorizing %s: %w", uri, ctx.Err())
		}
		c.mu.Lock()
		if ctx.Err() != nil {
			c.mu.Unlock()
			return fmt.Errorf("connect: authorizing %s: %w", uri, ctx.Err())
		}
		if e.pending == nil && e.err != nil {
			err := c.fallback(e, id, uri)
			c.mu.Unlock()
			return err
		}
	}
}

// ask sends the authorization request of e, which the caller marked in
// flight, and records its answer.
func (c *authzCache) ask(ctx context.Context, e *authzEntry, id ServiceID, uri string, cert *x509.Certificate) error {
	rctx, cancel := context.WithTimeout(ctx, AuthorizeTimeout)
	defer cancel()
	res, _, err := c.client.Agent.Authorize(rctx, &consul.AgentAuthorizeRequest{
		Target: c.target, ClientCertURI: uri, ClientCertSerial: colonHex(cert.SerialNumber.Bytes()),
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	close(e.pending)
	e.pending = nil
	if err != nil {
		e.err = err
		if ctx.Err() != nil {
			// The Service is closed: not an agent that cannot answer.
			return fmt.Errorf("connect: authorizing %s: %w", uri, ctx.Err())
		}
		return c.fallback(e, id, uri)
	}
	e.authorized, e.reason, e.at, e.err = res.Authorized, res.Reason, c.now(), nil
	return c.decision(id, e.authorized, e.reason, false)
}

// fallback decides after a failed request: a permanent error (a 403 for
// the token...) refuses; otherwise the last decision stands if Consul gave
// it within maxStale.
func (c *authzCache) fallback(e *authzEntry, id ServiceID, uri string) error {
	err := e.err
	if !consul.IsPermanent(err) && !e.at.IsZero() && c.now().Sub(e.at) < c.maxStale {
		if c.logger != nil {
			c.logger.LogAttrs(context.Background(), slog.LevelWarn, "connect: the agent cannot authorize, using the last decision",
				slog.String("service", c.target), slog.String("client", uri), slog.Bool("authorized", e.authorized),
				slog.Duration("age", c.now().Sub(e.at)), slog.String("error", err.Error()))
		}
		return c.decision(id, e.authorized, e.reason, true)
	}
	return fmt.Errorf("connect: authorizing %s to connect to %s: %w", uri, c.target, err)
}

func (c *authzCache) decision(id ServiceID, authorized bool, reason string, stale bool) error {
	if authorized {
		return nil
	}
	what := reason
	if stale {
		what += " (the last decision; the agent cannot be asked)"
	}
	return fmt.Errorf("connect: %s may not connect to %s: %w: %s", id, c.target, ErrNotAuthorized, what)
}

// colonHex writes a serial number as Consul does: hex bytes joined by
// colons ("0c", "1f:a0:...").
func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{x}))
	}
	return sb.String()
}
