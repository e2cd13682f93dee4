package connect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/goconsul/consul/discovery"
)

// instKey is the comparable form of the queries Dial resolves.
type instKey struct {
	service, tag, dc string
}

// instancesFor returns the Instances of a target, started on first use and
// kept until Close (they share their watch with every Instances of the
// same query on the client).
func (s *Service) instancesFor(k instKey) (*discovery.Instances, error) {
	s.instMu.Lock()
	defer s.instMu.Unlock()
	if s.ctx.Err() != nil {
		return nil, fmt.Errorf("connect: %s: %w", s.name, ErrClosed)
	}
	if in := s.instances[k]; in != nil {
		return in, nil
	}
	q := discovery.Query{Service: k.service, Datacenter: k.dc, Connect: true}
	if k.tag != "" {
		q.Tags = []string{k.tag}
	}
	in, err := discovery.NewInstances(s.ctx, s.client, q, discovery.WithPicker(s.o.picker))
	if err != nil {
		return nil, fmt.Errorf("connect: %s: %w", k.service, err)
	}
	s.instances[k] = in
	return in, nil
}

// Dial connects to a healthy Connect-capable instance of target (a service
// name) with mutual TLS, and returns the connection after the handshake.
// The instances are those of GET /v1/health/connect/:service (the target's
// Connect-native instances and the sidecar proxies of the others, passing
// or warning), kept by a discovery.Instances with a shared blocking watch
// (started on the first Dial of a target, kept until Close) and picked by
// the Picker (WithPicker). The loss of the last Connect-capable instance of
// a target that keeps other instances is seen within 10 seconds (see
// discovery.Query.Connect); other changes as they happen. The handshake uses ClientTLSConfig(target): the
// server must prove target's SPIFFE ID with a certificate of the current
// CA roots.
//
// Dial waits, within ctx, for the Service to be ready and for the first
// answer of the target's watch. The TCP connection and the handshake are
// bounded by ctx and each by the dialer's Timeout (DefaultDialTimeout by
// default; see WithDialer). A connection that cannot be opened is
// tried on another instance, up to WithRetries times (2); a failed
// handshake is not retried. A target with no healthy instance is an error
// matching ErrNoInstances. With TLS 1.3, a server that refuses this
// service (by its intentions) is seen at the first read of the connection,
// not by Dial.
func (s *Service) Dial(ctx context.Context, target string) (net.Conn, error) {
	if target == "" {
		return nil, errors.New("connect: Dial: empty target")
	}
	conn, err := s.dial(ctx, instKey{service: target})
	if err != nil {
		return nil, err // not a nil *tls.Conn in a non-nil net.Conn
	}
	return conn, nil
}

func (s *Service) dial(ctx context.Context, k instKey) (*tls.Conn, error) {
	if err := s.WaitReady(ctx); err != nil {
		return nil, err
	}
	in, err := s.instancesFor(k)
	if err != nil {
		return nil, err
	}
	if err := in.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("connect: %s: %w", k.service, err)
	}
	cfg := s.ClientTLSConfig(k.service)
	var tried []string
	for attempt := 0; ; attempt++ {
		inst, err := pick(in, tried)
		if err != nil {
			if werr := in.Err(); werr != nil {
				err = fmt.Errorf("%w (last error: %w)", err, werr)
			}
			return nil, fmt.Errorf("connect: %s: %w", k.service, err)
		}
		raw, err := s.o.dialer.DialContext(ctx, "tcp", inst.HostPort())
		if err != nil {
			if attempt >= s.o.retries || ctx.Err() != nil {
				return nil, fmt.Errorf("connect: %s: %w", k.service, err)
			}
			if s.logger != nil {
				s.logger.LogAttrs(ctx, slog.LevelInfo, "connect: connection failed, trying another instance",
					slog.String("service", k.service), slog.String("instance", inst.HostPort()), slog.String("error", err.Error()))
			}
			tried = append(tried, inst.HostPort())
			continue
		}
		conn := tls.Client(raw, cfg)
		hctx := ctx
		if d := s.o.dialer.Timeout; d > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		if err := conn.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("connect: %s at %s: %w", k.service, inst.HostPort(), err)
		}
		return conn, nil
	}
}

// pick returns an instance not yet tried: the Picker's choice when it is
// new, else the first untried in order.
func pick(in *discovery.Instances, tried []string) (*discovery.Instance, error) {
	inst, err := in.Next()
	if err != nil || !slices.Contains(tried, inst.HostPort()) {
		return inst, err
	}
	for _, c := range in.All() {
		if !slices.Contains(tried, c.HostPort()) {
			return c, nil
		}
	}
	return nil, ErrNoInstances
}

// HTTPClient returns an *http.Client for https://<service>.service.consul
// URLs (also <tag>.<service>.service.consul and
// <service>.service.<dc>.consul, as discovery.ParseServiceHost reads
// them): each new connection is made by Dial to a healthy
// Connect-capable instance of the service, with the service's SPIFFE ID
// verified, and kept in the client's pool of that host. The port of the
// URL is ignored. Other URLs, and http:// URLs, are refused with an
// error. It returns the same client on every call; Close closes its idle
// connections. Requests wait for readiness within their context.
func (s *Service) HTTPClient() *http.Client {
	if s == nil {
		// Nowhere to keep one: a client whose every dial fails.
		return &http.Client{Transport: &http.Transport{
			DialTLSContext: func(context.Context, string, string) (net.Conn, error) { return nil, errNotMade },
			DialContext:    func(context.Context, string, string) (net.Conn, error) { return nil, errNotMade },
		}}
	}
	s.httpOnce.Do(func() {
		tr := &http.Transport{
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					host = addr
				}
				q, ok := discovery.ParseServiceHost(host)
				if !ok {
					return nil, fmt.Errorf("connect: %s is not a <service>.service.consul name", host)
				}
				k := instKey{service: q.Service, dc: q.Datacenter}
				if len(q.Tags) > 0 {
					k.tag = q.Tags[0]
				}
				conn, err := s.dial(ctx, k)
				if err != nil {
					return nil, err
				}
				return conn, nil
			},
			DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
				return nil, fmt.Errorf("connect: %s: only https:// URLs go over the service mesh", strings.TrimSuffix(addr, ":80"))
			},
			ForceAttemptHTTP2:     false,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 0,
		}
		c := &http.Client{Transport: tr}
		s.instMu.Lock()
		s.http = c
		s.instMu.Unlock()
	})
	return s.http
}
