package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goconsul/consul"
)

// Query selects the instances of a service that an Instances keeps.
type Query struct {
	// Service is the service's name. Required.
	Service string
	// Tags keeps only the instances that have every one of these tags
	// (?tag=, repeated).
	Tags []string
	// PassingOnly keeps only the instances whose checks all pass
	// (?passing). Without it, instances in warning are kept too (as
	// Consul's DNS interface does); critical instances and instances in
	// maintenance are dropped either way.
	PassingOnly bool
	// Datacenter reads another datacenter than the agent's (?dc=).
	Datacenter string
	// Near sorts the instances by estimated round trip time from a node
	// (?near=), "_agent" for the answering agent; the Nearest picker
	// relies on it.
	Near string
	// Filter is a filter expression on the service entries (?filter=),
	// e.g. `Service.Meta.version == "2"`.
	Filter string
	// Peer reads the instances a cluster peer exports (?peer=).
	Peer string
	// Connect reads the service's Connect-capable instances instead:
	// GET /v1/health/connect/:service, its Connect-native instances and
	// the sidecar proxies in front of the others, each with the address
	// to dial with mutual TLS (a proxy's own). The connect package's Dial
	// uses it. Its blocking reads wait 10 seconds at most, not 5 minutes:
	// Consul answers the removal of the last Connect-capable instance of
	// a service that keeps other instances with an older index, which a
	// blocking read sent just after the change does not see as new; the
	// change is seen within 10 seconds anyway.
	Connect bool
}

// Instance is one healthy instance of a service.
type Instance struct {
	// ID is the service instance's ID, unique on its node.
	ID string
	// Service is the service's name.
	Service string
	// Node and Datacenter are where the instance is registered.
	Node       string
	Datacenter string
	// Address is the service's address, or its node's when the service
	// has none; Port is the service's port.
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
	// Status is consul.HealthPassing or consul.HealthWarning.
	Status consul.HealthStatus
	// Weight is the instance's Consul weight for its status:
	// Weights.Passing when passing, Weights.Warning in warning.
	Weight int
	// Entry is the health entry the instance comes from: its node, service
	// and checks as Consul returned them. Do not modify it.
	Entry *consul.ServiceEntry

	hostPort string
}

// HostPort returns the instance's "host:port", ready for net.Dial.
func (i *Instance) HostPort() string { return i.hostPort }

// snapshot is one immutable set of instances, swapped in as a whole.
type snapshot struct {
	list  []*Instance
	cum   []uint64 // cumulative weights, for Weighted
	total uint64
	meta  *consul.Meta
}

type counter struct{ atomic.Uint64 }

func (c *counter) next() uint64 { return c.Add(1) - 1 }

// Instances is a live set of the healthy instances of a service, kept
// fresh by a blocking query on /v1/health/service/:service (with
// Query.Connect, /v1/health/connect/:service) that every
// Instances of the same Query on the same *consul.Client shares (one
// request per query per process, however many users). Next picks one
// instance per call, without a request and without allocating.
//
// It never returns an instance known to be critical or in maintenance:
// each answer replaces the whole set. While Consul is unreachable, or has
// no leader, the last set received is served (Err reports the failure),
// and the watch catches up when Consul answers again. A permanent error
// (a 403 for the token, a bad filter) ends the shared watch; Instances
// then tries again after a backoff of up to a minute, still serving the
// last set.
//
// Its methods are safe for concurrent use.
type Instances struct {
	query  Query
	picker Picker
	client *consul.Client
	logger *slog.Logger

	rr   counter
	snap atomic.Pointer[snapshot]

	ks *keyState // the shared watch's latest request

	mu      sync.Mutex
	err     error  // the latest error the watch yielded, nil after a value
	errSeq  uint64 // counts the errors yielded
	changed chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// Option tunes NewInstances, NewTransport and NewDialer.
type Option func(*options)

type options struct {
	picker  Picker
	mapping func(host string) (Query, bool)
	retries int
	base    http.RoundTripper
	dialer  *net.Dialer
}

func newOptions(opts []Option) options {
	o := options{picker: RoundRobin, retries: DefaultRetries, mapping: ParseServiceHost}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// WithPicker sets how Next chooses an instance; the default is RoundRobin.
func WithPicker(p Picker) Option { return func(o *options) { o.picker = p } }

// NewInstances starts keeping the healthy instances of q in memory, until
// ctx ends or Close is called: it watches GET /v1/health/service/:service
// (GET /v1/health/connect/:service with q.Connect) with a blocking query
// (shared with every Instances of the same query on client), so that each
// change of the instances or of their checks is seen as it happens. It returns at once: WaitReady waits for the first answer.
// A service that does not exist, or has no healthy instance, is an empty
// set (Consul answers it with an empty list, not a 404). opts may set the
// Picker (default RoundRobin). An empty q.Service or an unknown Picker is
// an *consul.ArgumentError.
//
// The shared watch backs off after errors from 500ms up to 10 seconds,
// and after an error its first request does not block, so that Err clears
// as soon as Consul answers again.
//
// With the Nearest picker and an empty q.Near, the query is sent with
// Near "_agent".
func NewInstances(ctx context.Context, client *consul.Client, q Query, opts ...Option) (*Instances, error) {
	o := newOptions(opts)
	if client == nil {
		return nil, &consul.ArgumentError{Arg: "client", Reason: "nil"}
	}
	if q.Service == "" {
		return nil, &consul.ArgumentError{Arg: "Query.Service", Reason: "empty"}
	}
	if o.picker >= pickerEnd {
		return nil, &consul.ArgumentError{Arg: "Picker", Reason: "unknown " + o.picker.String()}
	}
	q.Tags = slices.Clone(q.Tags)
	if o.picker == Nearest && q.Near == "" {
		q.Near = "_agent"
	}
	cctx, cancel := context.WithCancel(ctx)
	in := &Instances{
		query: q, picker: o.picker, client: client, logger: client.Logger(),
		changed: make(chan struct{}), cancel: cancel, done: make(chan struct{}),
	}
	key := q.key()
	group, ks := acquireGroup(client, key)
	in.ks = ks
	go in.run(cctx, group, key)
	return in, nil
}

// zero reports whether in is nil or a zero value, not made by
// NewInstances: it has no watch and no set.
func (in *Instances) zero() bool { return in == nil || in.done == nil }

// Query returns what the set selects.
func (in *Instances) Query() Query {
	if in == nil {
		return Query{}
	}
	q := in.query
	q.Tags = slices.Clone(q.Tags)
	return q
}

// Picker returns how Next chooses.
func (in *Instances) Picker() Picker {
	if in == nil {
		return RoundRobin
	}
	return in.picker
}

// Backoff of a new watch after a permanent error ended the shared one.
const (
	restartMin = time.Second
	restartMax = time.Minute
)

func (in *Instances) run(ctx context.Context, group *entriesGroup, key queryKey) {
	defer close(in.done)
	defer releaseGroup(in.client, key)
	failures := 0
	for {
		got := false
		for u, err := range group.Watch(ctx, key) {
			if err != nil {
				in.setErr(err)
				continue
			}
			got = true
			in.set(u.Value, u.Meta)
		}
		if ctx.Err() != nil {
			return
		}
		// A permanent error ended the shared watch.
		if got {
			failures = 0
		}
		failures++
		delay := consul.Backoff{Min: restartMin, Max: restartMax}.Delay(failures, nil)
		if in.logger != nil {
			in.logger.LogAttrs(ctx, slog.LevelWarn, "discovery: watch ended, starting it again later",
				slog.String("service", in.query.Service), slog.Duration("delay", delay))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (in *Instances) setErr(err error) {
	in.mu.Lock()
	in.err = err
	in.errSeq++
	close(in.changed)
	in.changed = make(chan struct{})
	in.mu.Unlock()
}

// set builds a snapshot from an answer and swaps it in.
func (in *Instances) set(entries []*consul.ServiceEntry, meta *consul.Meta) {
	s := newSnapshot(entries, meta, &in.query)
	in.mu.Lock()
	in.snap.Store(s)
	in.err = nil
	close(in.changed)
	in.changed = make(chan struct{})
	in.mu.Unlock()
}

// newSnapshot keeps the healthy entries of an answer to q, in the order
// the pickers use.
func newSnapshot(entries []*consul.ServiceEntry, meta *consul.Meta, q *Query) *snapshot {
	s := &snapshot{list: make([]*Instance, 0, len(entries)), meta: meta}
	for _, e := range entries {
		if inst := newInstance(e, q.PassingOnly); inst != nil {
			s.list = append(s.list, inst)
		}
	}
	if q.Near == "" {
		// A stable order for round-robin; with Near, Consul's order is
		// the order of distance.
		slices.SortFunc(s.list, func(a, b *Instance) int {
			return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID))
		})
	}
	s.cum = make([]uint64, len(s.list))
	for i, inst := range s.list {
		s.total += uint64(inst.Weight)
		s.cum[i] = s.total
	}
	return s
}

// newInstance makes the Instance of a healthy entry, nil for an entry
// that is not healthy (or not whole).
func newInstance(e *consul.ServiceEntry, passingOnly bool) *Instance {
	if e == nil || e.Service == nil {
		return nil
	}
	status := e.AggregatedStatus()
	weights := consul.Weights{Passing: 1, Warning: 1}
	if e.Service.Weights != nil {
		weights = *e.Service.Weights
	}
	var weight int
	switch {
	case status == consul.HealthPassing:
		weight = weights.Passing
	case status == consul.HealthWarning && !passingOnly:
		weight = weights.Warning
	default:
		return nil
	}
	inst := &Instance{
		ID: e.Service.ID, Service: e.Service.Service, Address: e.Service.Address, Port: e.Service.Port,
		Tags: e.Service.Tags, Meta: e.Service.Meta, Status: status, Weight: max(weight, 0), Entry: e,
	}
	if e.Node != nil {
		inst.Node, inst.Datacenter = e.Node.Node, e.Node.Datacenter
		if inst.Address == "" {
			inst.Address = e.Node.Address
		}
	}
	if inst.Datacenter == "" {
		inst.Datacenter = e.Service.Datacenter
	}
	inst.hostPort = net.JoinHostPort(inst.Address, strconv.Itoa(inst.Port))
	return inst
}

// Next returns an instance chosen by the Picker among the current
// healthy ones. It returns ErrNotReady before the first answer and
// ErrNoInstances when no instance is healthy. It sends no request and
// does not allocate.
func (in *Instances) Next() (*Instance, error) {
	if in == nil {
		return nil, ErrNotReady
	}
	s := in.snap.Load()
	if s == nil {
		return nil, ErrNotReady
	}
	if len(s.list) == 0 {
		return nil, ErrNoInstances
	}
	return in.picker.pick(s, &in.rr), nil
}

// nextExcept is Next avoiding the instances at the addresses in tried
// (earlier attempts of one call): it asks the Picker a few times, then
// takes the first untried instance in order.
func (in *Instances) nextExcept(tried []string) (*Instance, error) {
	if in == nil {
		return nil, ErrNotReady
	}
	s := in.snap.Load()
	if s == nil {
		return nil, ErrNotReady
	}
	if len(s.list) == 0 {
		return nil, ErrNoInstances
	}
	if len(tried) == 0 {
		return in.picker.pick(s, &in.rr), nil
	}
	for range 2 * len(s.list) {
		if c := in.picker.pick(s, &in.rr); !slices.Contains(tried, c.hostPort) {
			return c, nil
		}
	}
	for _, c := range s.list {
		if !slices.Contains(tried, c.hostPort) {
			return c, nil
		}
	}
	return nil, ErrNoInstances
}

// All returns the current healthy instances (nil before the first
// answer), in the order Nearest and RoundRobin use. The slice and the
// instances are shared: do not modify them.
func (in *Instances) All() []*Instance {
	if in == nil {
		return nil
	}
	if s := in.snap.Load(); s != nil {
		return s.list
	}
	return nil
}

// Len returns the number of healthy instances.
func (in *Instances) Len() int { return len(in.All()) }

// Meta returns the Meta of the answer the current set comes from, nil
// before the first answer.
func (in *Instances) Meta() *consul.Meta {
	if in == nil {
		return nil
	}
	if s := in.snap.Load(); s != nil {
		return s.meta
	}
	return nil
}

// Err returns the error of the watch's latest request when it failed (the
// set then is the last one received), nil once a request succeeds again,
// even with nothing new.
func (in *Instances) Err() error {
	if in.zero() {
		return nil
	}
	if err := in.ks.lastErr(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.err != nil && consul.IsPermanent(in.err) {
		return in.err // the shared watch ended on it
	}
	return nil
}

// WaitReady waits for the first answer. It returns nil then; a permanent
// error of the watch (such as a 403) if one comes first; or, when ctx
// ends first, an error wrapping ctx's error and naming the watch's latest
// error.
func (in *Instances) WaitReady(ctx context.Context) error {
	if in.zero() {
		return fmt.Errorf("discovery: nil or zero Instances (make one with NewInstances): %w", errInstancesClosed)
	}
	for {
		in.mu.Lock()
		ready, err, ch := in.snap.Load() != nil, in.err, in.changed
		in.mu.Unlock()
		if ready {
			return nil
		}
		if err != nil && consul.IsPermanent(err) {
			return fmt.Errorf("discovery: instances of %q: %w", in.query.Service, err)
		}
		select {
		case <-ch:
		case <-in.done:
			if in.snap.Load() != nil {
				return nil
			}
			return fmt.Errorf("discovery: instances of %q: %w", in.query.Service, errInstancesClosed)
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("discovery: instances of %q not known (last error: %v): %w", in.query.Service, err, ctx.Err())
			}
			return fmt.Errorf("discovery: instances of %q not known: %w", in.query.Service, ctx.Err())
		}
	}
}

var errInstancesClosed = errors.New("closed before the first answer")

// Subscribe yields the current set at once if there is one, then each new
// set, and the watch's errors as they happen (with a nil set; the last set
// stays in use), until ctx ends, the caller breaks, or the Instances is
// closed. A slow subscriber skips to the latest set. The slices are
// shared: do not modify them. It starts no goroutine and sends nothing.
func (in *Instances) Subscribe(ctx context.Context) iter.Seq2[[]*Instance, error] {
	return func(yield func([]*Instance, error) bool) {
		if in.zero() {
			return // no watch: nothing will come
		}
		var seen *snapshot
		in.mu.Lock()
		seenErr := in.errSeq
		if in.err != nil && in.snap.Load() == nil {
			seenErr-- // no set yet: show why at once
		}
		in.mu.Unlock()
		for {
			in.mu.Lock()
			s, err, errSeq, ch := in.snap.Load(), in.err, in.errSeq, in.changed
			in.mu.Unlock()
			if err != nil && errSeq != seenErr {
				seenErr = errSeq
				if !yield(nil, err) {
					return
				}
			}
			if s != nil && s != seen {
				seen = s
				if !yield(s.list, nil) {
					return
				}
			}
			select {
			case <-ch:
			case <-in.done:
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// Close stops the watch (the shared request ends with its last user) and
// waits for its goroutine. Next and All keep serving the last set.
func (in *Instances) Close() {
	if in.zero() || in.cancel == nil {
		return // nil (a failed NewInstances), or never started
	}
	in.cancel()
	<-in.done
}
