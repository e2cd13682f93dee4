package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/internal/deepcopy"
)

// Defaults of Register.
const (
	// DefaultTTL is the TTL of the check Register adds.
	DefaultTTL = 10 * time.Second
	// DefaultDrainPeriod is how long a closing Registration keeps its
	// service registered but not healthy, so that watchers drop it before
	// it disappears.
	DefaultDrainPeriod = 5 * time.Second
)

// drainCallTimeout bounds each call of a drain, whose context has ended.
const drainCallTimeout = 10 * time.Second

// RegisterOption tunes Register.
type RegisterOption func(*registerConfig)

type registerConfig struct {
	ttl             time.Duration
	interval        time.Duration
	drain           time.Duration
	maintenance     bool
	reason          string
	status          consul.HealthStatus
	output          string
	deregisterAfter time.Duration
	callOpts        []consul.Option
}

// WithTTL sets the TTL of the check Register adds (DefaultTTL when not
// given): the service turns critical when no heartbeat reached the agent
// for that long. It does not apply when the registration has a TTL check
// of its own, whose TTL is used.
func WithTTL(d time.Duration) RegisterOption { return func(c *registerConfig) { c.ttl = d } }

// WithHeartbeatInterval sets how often the TTL check is refreshed; the
// default is a third of the TTL, so that two heartbeats in a row can be
// lost without the service turning critical. It must be below the TTL.
// After a failed heartbeat the next one comes sooner (from 100ms,
// doubling up to the interval), so that an agent that comes back gets
// the service back quickly.
func WithHeartbeatInterval(d time.Duration) RegisterOption {
	return func(c *registerConfig) { c.interval = d }
}

// WithDrainPeriod sets how long Close (or the end of Register's context)
// keeps the service registered but critical before deregistering it
// (DefaultDrainPeriod when not given; 0 deregisters at once). Watchers of
// the healthy instances see it go before it disappears, so that nothing
// is sent to an instance that is about to stop.
func WithDrainPeriod(d time.Duration) RegisterOption {
	return func(c *registerConfig) { c.drain = d }
}

// WithMaintenanceDrain makes a drain put the service in maintenance mode
// with reason (PUT /v1/agent/service/maintenance/:id) instead of failing
// its TTL check.
func WithMaintenanceDrain(reason string) RegisterOption {
	return func(c *registerConfig) { c.maintenance, c.reason = true, reason }
}

// WithInitialStatus sets the status the service starts with:
// consul.HealthPassing (the default), consul.HealthWarning or
// consul.HealthCritical (for a service that reports passing with Pass once
// it is ready), with an output.
func WithInitialStatus(status consul.HealthStatus, output string) RegisterOption {
	return func(c *registerConfig) { c.status, c.output = status, output }
}

// WithDeregisterCriticalAfter makes Consul remove the service once its
// TTL check has been critical for d (Consul enforces at least a minute),
// so that a process that died without closing its Registration does not
// stay listed as critical forever. It applies to the check Register adds,
// not to a TTL check of the registration's own (set its
// DeregisterCriticalServiceAfter there).
func WithDeregisterCriticalAfter(d time.Duration) RegisterOption {
	return func(c *registerConfig) { c.deregisterAfter = d }
}

// WithCallOptions adds consul Options to every call the Registration
// makes, e.g. consul.Token(t) for a token of its own.
func WithCallOptions(opts ...consul.Option) RegisterOption {
	return func(c *registerConfig) { c.callOpts = append(c.callOpts, opts...) }
}

// Phase is where a Registration is in its life.
type Phase uint8

const (
	// PhaseActive: the service is registered and its check kept alive.
	PhaseActive Phase = iota
	// PhaseDraining: the service is critical (or in maintenance) and
	// waits out the drain period before being deregistered.
	PhaseDraining
	// PhaseClosed: the drain is over and the service deregistered (or the
	// deregistration failed: see State.Err).
	PhaseClosed
)

// String returns "active", "draining" or "closed".
func (p Phase) String() string {
	switch p {
	case PhaseActive:
		return "active"
	case PhaseDraining:
		return "draining"
	case PhaseClosed:
		return "closed"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// State is what a Registration reports about itself.
type State struct {
	Phase Phase
	// Status and Output are what the heartbeat reports: the initial
	// status, then the last one set with Pass, Warn, Fail or Update.
	Status consul.HealthStatus
	Output string
	// LastHeartbeat is when the agent last confirmed an update of the TTL
	// check (a heartbeat or a status update).
	LastHeartbeat time.Time
	// Err is the error of the latest call to the agent, nil after a
	// success.
	Err error
	// Reregistrations counts the times the service was registered again
	// because the agent had lost it.
	Reregistrations int
}

// Registration is a service registered with the local agent by Register,
// whose TTL check is kept passing (or at the status last set) by a
// goroutine until Close, or until Register's context ends. Its methods are
// safe for concurrent use.
type Registration struct {
	client *consul.Client
	logger *slog.Logger
	cfg    registerConfig
	reg    consul.AgentServiceRegistration // with its TTL check
	check  *consul.AgentCheckRegistration  // the TTL check, in reg
	id     string

	// sendMu serialises the calls to the agent, so that a heartbeat never
	// overtakes a status update, and a drain waits for both.
	sendMu sync.Mutex

	mu    sync.Mutex
	state State

	owner string // the value of ownerMetaKey in the service's Meta

	cancel context.CancelFunc
	done   chan struct{}
}

// ownerMetaKey is the service Meta key that marks the registrations of a
// Registration.
const ownerMetaKey = "goconsul-registration"

// errNotOurs says the agent's registration of the ID is not the
// Registration's.
var errNotOurs = errors.New("discovery: the registration is not ours")

// metaMaxPairs is the most Meta pairs Consul accepts on a service.
const metaMaxPairs = 64

// ours reports whether the agent's registration of the service ID is this
// Registration's (false when another process registered the same ID
// since, or when it is gone). An error reading it counts as ours, so that
// a flaky agent does not keep a service registered; so does any
// registration of the ID when this one carries no marker (a full Meta).
func (r *Registration) ours(ctx context.Context) bool {
	s, _, err := r.client.Services.Get(ctx, r.id, r.cfg.callOpts...)
	if err != nil {
		return !errors.Is(err, consul.ErrNotFound)
	}
	return s != nil && (r.owner == "" || s.Meta[ownerMetaKey] == r.owner)
}

// Register registers reg with the local agent (PUT
// /v1/agent/service/register, replacing the checks of an earlier
// registration of the same ID) and returns a Registration that keeps the
// service's TTL check alive until Close or until ctx ends; either one
// drains the service, then deregisters it.
//
// The service gets a TTL check of ID "service:<id>:ttl" and TTL WithTTL
// (DefaultTTL), unless reg has a TTL check of its own (as Check or in
// Checks), which is used instead (an empty ID is then set to that same
// form). Its other checks are registered as they are. An empty reg.ID
// means reg.Name, as for Consul: give each instance of a service on one
// agent an ID of its own. reg is not modified, and is copied whole (its
// slices, maps and pointers too): changing it afterwards changes nothing.
//
// The registration carries a marker of the Registration in its Meta (key
// "goconsul-registration"), unless reg's Meta already holds the 64 pairs
// Consul allows. The drain and the deregistration first read
// the service (GET /v1/agent/service/:id) and leave it alone when another
// process registered the same ID since (a restart on the same host).
//
// The heartbeat (PUT /v1/agent/check/update/:id) repeats the current
// status every heartbeat interval. When the agent answers 404 to it (the
// agent restarted with a wiped data directory, or the service was
// deregistered behind the Registration's back), the service is registered
// again at once, with its current status.
//
// The first registration is made before Register returns: its failure is
// returned, and nothing runs then (a registration the agent applied
// though the call failed is removed). A nil reg, two TTL checks, a TTL or
// heartbeat interval that is not positive, an interval not below the TTL,
// a negative drain period or an unknown initial status are refused with a
// *consul.ArgumentError before sending.
func Register(ctx context.Context, client *consul.Client, reg *consul.AgentServiceRegistration, opts ...RegisterOption) (*Registration, error) {
	cfg := registerConfig{ttl: DefaultTTL, drain: DefaultDrainPeriod, status: consul.HealthPassing}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case client == nil:
		return nil, argError("client", "nil")
	case reg == nil:
		return nil, argError("registration", "nil")
	case !validStatus(cfg.status):
		return nil, argError("WithInitialStatus", "want passing, warning or critical, got %q", cfg.status)
	case cfg.drain < 0:
		return nil, argError("WithDrainPeriod", "negative duration %s", cfg.drain)
	}

	// A copy of all the caller may change or reuse after Register returns
	// (slices, maps, pointers, however deep: a sidecar, a proxy's config):
	// a re-registration must send what was registered.
	r := &Registration{client: client, logger: client.Logger(), reg: deepcopy.Of(*reg), done: make(chan struct{})}
	// A marker of this Registration, so that its drain and deregistration
	// never touch a registration of the same ID made by someone else;
	// none when the Meta is full (Consul takes 64 pairs at most).
	if _, set := r.reg.Meta[ownerMetaKey]; set || len(r.reg.Meta) < metaMaxPairs {
		var tok [12]byte
		rand.Read(tok[:])
		r.owner = hex.EncodeToString(tok[:])
		if r.reg.Meta == nil {
			r.reg.Meta = map[string]string{}
		}
		r.reg.Meta[ownerMetaKey] = r.owner
	}
	r.id = reg.ID
	if r.id == "" {
		r.id = reg.Name
	}
	defaultCheckID := "service:" + r.id + ":ttl"

	// Find the registration's own TTL check, or add one.
	r.reg.Checks = nil
	var ttlChecks int
	take := func(c *consul.AgentCheckRegistration) *consul.AgentCheckRegistration {
		if c == nil {
			return nil
		}
		cp := deepcopy.Of(*c)
		if cp.TTL > 0 {
			ttlChecks++
			if cp.ID == "" {
				cp.ID = defaultCheckID
			}
			r.check = &cp
		}
		return &cp
	}
	r.reg.Check = take(reg.Check)
	for _, c := range reg.Checks {
		if c := take(c); c != nil {
			r.reg.Checks = append(r.reg.Checks, c)
		}
	}
	if ttlChecks > 1 {
		return nil, argError("registration", "has %d TTL checks, want at most one", ttlChecks)
	}
	if r.check == nil {
		r.check = &consul.AgentCheckRegistration{
			ID: defaultCheckID, Name: "Service '" + reg.Name + "' heartbeat", TTL: cfg.ttl,
			Notes:                          "kept alive by github.com/goconsul/consul/discovery",
			DeregisterCriticalServiceAfter: cfg.deregisterAfter,
		}
		if r.reg.Check == nil {
			r.reg.Check = r.check
		} else {
			r.reg.Checks = append(r.reg.Checks, r.check)
		}
	}
	cfg.ttl = r.check.TTL
	if cfg.ttl <= 0 {
		return nil, argError("WithTTL", "not positive: %s", cfg.ttl)
	}
	if cfg.interval == 0 {
		cfg.interval = cfg.ttl / 3
	}
	if cfg.interval <= 0 || cfg.interval >= cfg.ttl {
		return nil, argError("WithHeartbeatInterval", "%s is not between 0 and the TTL %s", cfg.interval, cfg.ttl)
	}
	r.cfg = cfg
	r.state = State{Phase: PhaseActive, Status: cfg.status, Output: cfg.output}

	if err := r.register(ctx, false); err != nil {
		// The agent may hold the registration (the output update failed
		// after it, or the answer was lost): nobody would ever
		// deregister it. Remove it if it is ours.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainCallTimeout)
		if r.ours(cctx) {
			r.client.Services.Deregister(cctx, r.id, r.cfg.callOpts...)
		}
		cancel()
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	go r.run(lctx)
	return r, nil
}

func argError(arg, format string, args ...any) error {
	return &consul.ArgumentError{Arg: arg, Reason: fmt.Sprintf(format, args...)}
}

func validStatus(s consul.HealthStatus) bool {
	return s == consul.HealthPassing || s == consul.HealthWarning || s == consul.HealthCritical
}

// ID returns the service instance's ID ("" for a nil Registration).
func (r *Registration) ID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// CheckID returns the ID of the TTL check the Registration keeps alive
// ("" for a nil or zero Registration).
func (r *Registration) CheckID() string {
	if r.zero() {
		return ""
	}
	return r.check.ID
}

// zero reports whether r is nil or a zero value, not made by Register:
// nothing runs, and it has nothing to send.
func (r *Registration) zero() bool { return r == nil || r.done == nil || r.check == nil }

// closedChan is the Done channel of a nil or zero Registration.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// State returns the Registration's current state; a nil or zero
// Registration, which never registered anything, is closed.
func (r *Registration) State() State {
	if r.zero() {
		return State{Phase: PhaseClosed}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Done is closed once the Registration is closed: drained and
// deregistered, after Close or after Register's context ended.
//
// A nil or zero Registration's channel is closed.
func (r *Registration) Done() <-chan struct{} {
	if r.zero() {
		return closedChan
	}
	return r.done
}

// register registers the service with its current status; the caller
// holds sendMu, or nothing runs yet.
func (r *Registration) register(ctx context.Context, again bool) error {
	r.mu.Lock()
	status, output := r.state.Status, r.state.Output
	r.mu.Unlock()
	reg := r.reg
	check := *r.check
	check.Status = status
	// Point the registration at this copy of the TTL check.
	if reg.Check == r.check {
		reg.Check = &check
	} else {
		reg.Checks = append([]*consul.AgentCheckRegistration(nil), reg.Checks...)
		for i, c := range reg.Checks {
			if c == r.check {
				reg.Checks[i] = &check
			}
		}
	}
	opts := append([]consul.Option{consul.ServicesReplaceChecks()}, r.cfg.callOpts...)
	err := r.client.Services.Register(ctx, &reg, opts...)
	if err == nil && (again || output != "") {
		// A check's registration has no output: set it. And an agent
		// that has just started may hold a registration until it has a
		// leader, long enough for the new check's TTL to run out.
		err = r.client.Checks.Update(ctx, r.check.ID, status, output, r.cfg.callOpts...)
	}
	r.mu.Lock()
	r.state.Err = err
	if err == nil {
		r.state.LastHeartbeat = time.Now()
		if again {
			r.state.Reregistrations++
		}
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("discovery: register %q: %w", r.id, err)
	}
	return nil
}

// send sends the current status to the TTL check, registering the service
// again when the agent does not know the check; the caller holds sendMu.
// The update is bounded by the TTL (a later one is worth nothing); a
// registration by registerTimeout at least, since an agent that has just
// started holds registrations until it has a leader (to read the
// service's central configuration).
func (r *Registration) send(ctx context.Context) error {
	r.mu.Lock()
	status, output := r.state.Status, r.state.Output
	r.mu.Unlock()
	uctx, cancel := context.WithTimeout(ctx, r.cfg.ttl)
	err := r.client.Checks.Update(uctx, r.check.ID, status, output, r.cfg.callOpts...)
	cancel()
	if errors.Is(err, consul.ErrNotFound) {
		if r.logger != nil {
			r.logger.LogAttrs(ctx, slog.LevelWarn, "discovery: the agent lost the service, registering it again",
				slog.String("service_id", r.id))
		}
		rctx, cancel := context.WithTimeout(ctx, max(r.cfg.ttl, registerTimeout))
		defer cancel()
		return r.register(rctx, true)
	}
	r.mu.Lock()
	r.state.Err = err
	if err == nil {
		r.state.LastHeartbeat = time.Now()
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("discovery: heartbeat of %q: %w", r.id, err)
	}
	return nil
}

// registerTimeout is the least bound of a registration made again.
const registerTimeout = 30 * time.Second

// Backoff of the heartbeat after a failure, capped by the interval.
const heartbeatRetryMin = 100 * time.Millisecond

func (r *Registration) run(ctx context.Context) {
	defer close(r.done)
	timer := time.NewTimer(r.cfg.interval)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			r.drain(context.WithoutCancel(ctx))
			return
		case <-timer.C:
		}
		r.sendMu.Lock()
		err := r.send(ctx)
		r.sendMu.Unlock()
		next := r.cfg.interval
		if err != nil && ctx.Err() == nil {
			failures++
			next = min(next, consul.Backoff{Min: heartbeatRetryMin, Max: r.cfg.interval}.Delay(failures, nil))
			if r.logger != nil {
				r.logger.LogAttrs(ctx, slog.LevelWarn, "discovery: heartbeat failed",
					slog.String("service_id", r.id), slog.String("error", err.Error()),
					slog.Int("failures", failures), slog.Duration("retry_in", next))
			}
		} else {
			if failures > 0 && r.logger != nil {
				r.logger.LogAttrs(ctx, slog.LevelInfo, "discovery: heartbeat back", slog.String("service_id", r.id))
			}
			failures = 0
		}
		timer.Reset(next)
	}
}

// Pass sets the service's status to passing with an output, at once and
// for every later heartbeat: PUT /v1/agent/check/update/:id. See Update.
func (r *Registration) Pass(ctx context.Context, output string) error {
	return r.Update(ctx, consul.HealthPassing, output)
}

// Warn sets the service's status to warning with an output. See Update.
func (r *Registration) Warn(ctx context.Context, output string) error {
	return r.Update(ctx, consul.HealthWarning, output)
}

// Fail sets the service's status to critical with an output; the
// heartbeat then keeps it critical until Pass or Warn. See Update.
func (r *Registration) Fail(ctx context.Context, output string) error {
	return r.Update(ctx, consul.HealthCritical, output)
}

// Update sets the service's status (consul.HealthPassing, HealthWarning
// or HealthCritical) and output: it sends them at once (PUT
// /v1/agent/check/update/:id, registering the service again on a 404) and
// the heartbeat repeats them from then on. When the agent cannot be
// reached the status is kept all the same, and the error returned; the
// next heartbeat sends it. It returns ErrClosed once the Registration
// drains (and for a nil or zero Registration), and refuses another status
// with a *consul.ArgumentError.
func (r *Registration) Update(ctx context.Context, status consul.HealthStatus, output string) error {
	if !validStatus(status) {
		return argError("status", "want passing, warning or critical, got %q", status)
	}
	if r.zero() {
		return ErrClosed // nil (a failed Register), or never started
	}
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.mu.Lock()
	if r.state.Phase != PhaseActive {
		r.mu.Unlock()
		return ErrClosed
	}
	r.state.Status, r.state.Output = status, output
	r.mu.Unlock()
	return r.send(ctx)
}

// drainOutput is the TTL check's output while the service drains.
const drainOutput = "draining: the service is shutting down"

// drain marks the service critical (or in maintenance), waits the drain
// period, then deregisters it.
func (r *Registration) drain(ctx context.Context) {
	r.sendMu.Lock()
	r.mu.Lock()
	r.state.Phase = PhaseDraining
	r.mu.Unlock()
	r.sendMu.Unlock()
	if r.logger != nil {
		r.logger.LogAttrs(ctx, slog.LevelInfo, "discovery: draining the service",
			slog.String("service_id", r.id), slog.Duration("drain_period", r.cfg.drain))
	}

	call := func(f func(context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, drainCallTimeout)
		defer cancel()
		return f(cctx)
	}
	leave := func() {
		// Gone, or registered again by someone else (a new process with
		// the same ID): theirs to keep.
		r.mu.Lock()
		r.state.Phase = PhaseClosed
		r.state.Err = nil
		r.mu.Unlock()
	}
	var err error
	if r.cfg.drain > 0 {
		// Never mark someone else's service as draining. (Without a
		// drain, the deregistration's own check below is the only one.)
		if call(func(ctx context.Context) error {
			if r.ours(ctx) {
				return nil
			}
			return errNotOurs
		}) != nil {
			leave()
			return
		}
		err = call(func(ctx context.Context) error {
			if r.cfg.maintenance {
				return r.client.Services.EnableMaintenance(ctx, r.id, r.cfg.reason, r.cfg.callOpts...)
			}
			return r.client.Checks.Update(ctx, r.check.ID, consul.HealthCritical, drainOutput, r.cfg.callOpts...)
		})
		switch {
		case errors.Is(err, consul.ErrNotFound):
			// Already gone: nothing to drain.
		case err != nil:
			if r.logger != nil {
				r.logger.LogAttrs(ctx, slog.LevelWarn, "discovery: could not mark the service as draining",
					slog.String("service_id", r.id), slog.String("error", err.Error()))
			}
			fallthrough
		default:
			// Even when the mark failed, the TTL check runs out meanwhile.
			t := time.NewTimer(r.cfg.drain)
			<-t.C
		}
	}
	err = call(func(ctx context.Context) error {
		// Retried within the call's bound: one transient failure must
		// not leave the service registered for good.
		for n := 1; ; n++ {
			if !r.ours(ctx) {
				return errNotOurs
			}
			err := r.client.Services.Deregister(ctx, r.id, r.cfg.callOpts...)
			if err == nil || consul.IsPermanent(err) || errors.Is(err, consul.ErrNotFound) {
				return err
			}
			t := time.NewTimer(consul.Backoff{Min: heartbeatRetryMin, Max: time.Second}.Delay(n, err))
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
	})
	if errors.Is(err, errNotOurs) {
		leave()
		return
	}
	if errors.Is(err, consul.ErrNotFound) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("discovery: deregister %q: %w", r.id, err)
		if r.logger != nil {
			r.logger.LogAttrs(ctx, slog.LevelError, "discovery: could not deregister the service",
				slog.String("service_id", r.id), slog.String("error", err.Error()))
		}
	} else if r.logger != nil {
		r.logger.LogAttrs(ctx, slog.LevelInfo, "discovery: service deregistered", slog.String("service_id", r.id))
	}
	r.mu.Lock()
	r.state.Phase = PhaseClosed
	r.state.Err = err
	r.mu.Unlock()
}

// Close drains the service and deregisters it, and returns once that is
// done: the TTL check is failed (or the service put in maintenance, with
// WithMaintenanceDrain), the drain period is waited out, and the service
// is deregistered (PUT /v1/agent/service/deregister/:id; a service the
// agent no longer knows is not an error; a temporary failure is retried).
// Each of these steps is bounded by 10 seconds. A service registered
// again by another process with the same ID since is left alone. It
// returns the deregistration's error; closing again
// returns it again. After Register's context ended, Close waits for the
// drain that the end started.
func (r *Registration) Close() error {
	if r.zero() || r.cancel == nil {
		return nil // nil (a failed Register), or never started
	}
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Err
}
