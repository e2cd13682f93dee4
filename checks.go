package consul

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// ChecksService manages the checks registered on the local agent: /v1/agent/check/ and /v1/agent/checks.
//
// aioconsul's checks.passing, checks.warning and checks.critical are Pass,
// Warn and Fail here; they set a TTL check's status to HealthPassing,
// HealthWarning and HealthCritical. Update sets any of the three with an
// output.
type ChecksService service

// AgentCheckRegistration is a check to register on the local agent (Consul's
// CheckDefinition), and also a check of an AgentServiceRegistration.
//
// A check has exactly one kind, chosen by which field is set:
//
//   - TTL: the application reports its status with Pass, Warn, Fail or
//     Update before the TTL runs out, else the check turns critical.
//   - HTTP (with Method, Header, Body, TLSServerName, TLSSkipVerify,
//     DisableRedirects), TCP (TCPUseTLS), UDP, GRPC (GRPCUseTLS), H2PING
//     (H2PingUseTLS) and OSService: the agent probes every Interval.
//   - ScriptArgs: the agent runs a command every Interval (only when
//     enable_script_checks is on); with DockerContainerID it runs in that
//     container, with Shell.
//   - AliasService (and AliasNode): the check mirrors the health of another
//     service or node.
//
// Durations are time.Duration here and Consul's "10s" strings on the wire.
type AgentCheckRegistration struct {
	// ID of the check; empty means Name. For a service's check, it is sent
	// as the CheckID Consul expects there.
	ID   string
	Name string
	// Notes is free text for humans.
	Notes string
	// ServiceID binds the check to a service registered on the agent. It
	// is ignored for the checks of an AgentServiceRegistration, which
	// belong to that service.
	ServiceID string
	// Status is the initial status (HealthPassing, HealthWarning or
	// HealthCritical); empty means critical.
	Status HealthStatus

	TTL time.Duration

	HTTP             string
	Method           string
	Header           map[string][]string
	Body             string
	DisableRedirects bool
	TCP              string
	TCPUseTLS        bool
	UDP              string
	GRPC             string
	GRPCUseTLS       bool
	H2PING           string
	H2PingUseTLS     bool
	OSService        string
	TLSServerName    string
	TLSSkipVerify    bool

	ScriptArgs        []string
	DockerContainerID string
	Shell             string

	AliasNode    string
	AliasService string

	// Interval between runs of a probing check; Timeout bounds one run.
	// A TTL check has none: an Interval set with a TTL is not sent
	// (aioconsul's documented check sets both; Consul refuses the pair).
	Interval time.Duration
	Timeout  time.Duration

	// SuccessBeforePassing, FailuresBeforeWarning and
	// FailuresBeforeCritical make a probing check change status only after
	// that many consecutive results.
	SuccessBeforePassing   int
	FailuresBeforeWarning  int
	FailuresBeforeCritical int
	// DeregisterCriticalServiceAfter deregisters the check's service once
	// the check has been critical this long (Consul enforces a one-minute
	// minimum).
	DeregisterCriticalServiceAfter time.Duration
	// OutputMaxSize caps the output kept from a run, in bytes.
	OutputMaxSize int

	// Token is the ACL token the agent uses for the check's anti-entropy
	// syncs (not the token of this call).
	Token string

	Namespace string
	Partition string
}

type agentCheckAlias AgentCheckRegistration

// agentCheckWire is AgentCheckRegistration as Consul reads it. The fields
// shadow the alias's: durations in "10s" form, the ID sent either as ID
// (a check definition) or CheckID (a service's check), and everything
// optional left out, since Consul refuses unknown fields and the
// Enterprise-only ones on community agents.
type agentCheckWire struct {
	*agentCheckAlias
	ID                             string              `json:",omitempty"`
	CheckID                        string              `json:",omitempty"`
	Name                           string              `json:",omitempty"`
	Notes                          string              `json:",omitempty"`
	ServiceID                      string              `json:",omitempty"`
	Status                         HealthStatus        `json:",omitempty"`
	TTL                            duration            `json:",omitempty"`
	HTTP                           string              `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	DisableRedirects               bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	H2PingUseTLS                   bool                `json:",omitempty"`
	OSService                      string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	DockerContainerID              string              `json:",omitempty"`
	Shell                          string              `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	Interval                       duration            `json:",omitempty"`
	Timeout                        duration            `json:",omitempty"`
	SuccessBeforePassing           int                 `json:",omitempty"`
	FailuresBeforeWarning          int                 `json:",omitempty"`
	FailuresBeforeCritical         int                 `json:",omitempty"`
	DeregisterCriticalServiceAfter duration            `json:",omitempty"`
	OutputMaxSize                  int                 `json:",omitempty"`
	Token                          string              `json:",omitempty"`
	Namespace                      string              `json:",omitempty"`
	Partition                      string              `json:",omitempty"`
}

func (c *AgentCheckRegistration) wire(asServiceCheck bool) agentCheckWire {
	w := agentCheckWire{
		agentCheckAlias:                (*agentCheckAlias)(c),
		ID:                             c.ID,
		Name:                           c.Name,
		Notes:                          c.Notes,
		ServiceID:                      c.ServiceID,
		Status:                         c.Status,
		TTL:                            duration(c.TTL),
		HTTP:                           c.HTTP,
		Method:                         c.Method,
		Header:                         c.Header,
		Body:                           c.Body,
		DisableRedirects:               c.DisableRedirects,
		TCP:                            c.TCP,
		TCPUseTLS:                      c.TCPUseTLS,
		UDP:                            c.UDP,
		GRPC:                           c.GRPC,
		GRPCUseTLS:                     c.GRPCUseTLS,
		H2PING:                         c.H2PING,
		H2PingUseTLS:                   c.H2PingUseTLS,
		OSService:                      c.OSService,
		TLSServerName:                  c.TLSServerName,
		TLSSkipVerify:                  c.TLSSkipVerify,
		ScriptArgs:                     c.ScriptArgs,
		DockerContainerID:              c.DockerContainerID,
		Shell:                          c.Shell,
		AliasNode:                      c.AliasNode,
		AliasService:                   c.AliasService,
		Interval:                       duration(c.Interval),
		Timeout:                        duration(c.Timeout),
		SuccessBeforePassing:           c.SuccessBeforePassing,
		FailuresBeforeWarning:          c.FailuresBeforeWarning,
		FailuresBeforeCritical:         c.FailuresBeforeCritical,
		DeregisterCriticalServiceAfter: duration(c.DeregisterCriticalServiceAfter),
		OutputMaxSize:                  c.OutputMaxSize,
		Token:                          c.Token,
		Namespace:                      c.Namespace,
		Partition:                      c.Partition,
	}
	if c.TTL > 0 {
		// Consul refuses a TTL check with an interval, which aioconsul's
		// documentation shows: it is not sent, from any route.
		w.Interval = 0
	}
	if asServiceCheck {
		// Consul's CheckType: CheckID instead of ID, and no ServiceID,
		// Token or Enterprise scope of its own.
		w.ID, w.CheckID, w.ServiceID = "", c.ID, ""
		w.Token, w.Namespace, w.Partition = "", "", ""
	}
	return w
}

// MarshalJSON writes the check as PUT /v1/agent/check/register reads it.
// Hand-written, not generated: the check is written in two shapes (a
// check of its own, or a service's with CheckID for ID), see wire.
func (c AgentCheckRegistration) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.wire(false))
}

// UnmarshalJSON reads a check definition, taking the ID from ID or CheckID
// and the durations as strings or nanoseconds. Hand-written, not
// generated: two JSON names (ID, CheckID) fill one field.
func (c *AgentCheckRegistration) UnmarshalJSON(b []byte) error {
	*c = AgentCheckRegistration{}
	var w agentCheckWire
	w.agentCheckAlias = (*agentCheckAlias)(c)
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	ttl, interval, timeout, dereg := w.TTL, w.Interval, w.Timeout, w.DeregisterCriticalServiceAfter
	id := w.ID
	if id == "" {
		id = w.CheckID
	}
	*c = AgentCheckRegistration{
		ID: id, Name: w.Name, Notes: w.Notes, ServiceID: w.ServiceID, Status: w.Status,
		TTL: time.Duration(ttl), HTTP: w.HTTP, Method: w.Method, Header: w.Header, Body: w.Body,
		DisableRedirects: w.DisableRedirects, TCP: w.TCP, TCPUseTLS: w.TCPUseTLS, UDP: w.UDP,
		GRPC: w.GRPC, GRPCUseTLS: w.GRPCUseTLS, H2PING: w.H2PING, H2PingUseTLS: w.H2PingUseTLS,
		OSService: w.OSService, TLSServerName: w.TLSServerName, TLSSkipVerify: w.TLSSkipVerify,
		ScriptArgs: w.ScriptArgs, DockerContainerID: w.DockerContainerID, Shell: w.Shell,
		AliasNode: w.AliasNode, AliasService: w.AliasService,
		Interval: time.Duration(interval), Timeout: time.Duration(timeout),
		SuccessBeforePassing: w.SuccessBeforePassing, FailuresBeforeWarning: w.FailuresBeforeWarning,
		FailuresBeforeCritical:         w.FailuresBeforeCritical,
		DeregisterCriticalServiceAfter: time.Duration(dereg), OutputMaxSize: w.OutputMaxSize,
		Token: w.Token, Namespace: w.Namespace, Partition: w.Partition,
	}
	return nil
}

// agentServiceCheck sends an AgentCheckRegistration as a service's check
// (Consul's CheckType): its ID as CheckID, no ServiceID.
type agentServiceCheck struct{ c *AgentCheckRegistration }

// MarshalJSON writes the check in its service shape. Hand-written: see
// AgentCheckRegistration.MarshalJSON.
func (s agentServiceCheck) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.c.wire(true))
}

// kinds lists the kinds of check c sets.
func (c *AgentCheckRegistration) kinds() []string {
	var k []string
	add := func(set bool, name string) {
		if set {
			k = append(k, name)
		}
	}
	add(c.TTL != 0, "TTL")
	add(c.HTTP != "", "HTTP")
	add(c.TCP != "", "TCP")
	add(c.UDP != "", "UDP")
	add(c.GRPC != "", "GRPC")
	add(c.H2PING != "", "H2PING")
	add(c.OSService != "", "OSService")
	add(len(c.ScriptArgs) > 0, "ScriptArgs")
	add(c.AliasService != "" || c.AliasNode != "", "AliasService")
	return k
}

// validate refuses a check Consul would refuse, naming the field under
// prefix (e.g. "AgentCheckRegistration" or "AgentServiceRegistration.Checks[1]").
func (c *AgentCheckRegistration) validate(prefix string, serviceCheck bool) error {
	if !serviceCheck && c.Name == "" {
		return argError(prefix+".Name", "empty")
	}
	if serviceCheck {
		switch {
		case c.Token != "":
			return argError(prefix+".Token", "not allowed on a service's check: set AgentServiceRegistration.Token")
		case c.Namespace != "" || c.Partition != "":
			return argError(prefix+".Namespace", "not allowed on a service's check: set the service's")
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"TTL", c.TTL}, {"Interval", c.Interval}, {"Timeout", c.Timeout},
		{"DeregisterCriticalServiceAfter", c.DeregisterCriticalServiceAfter},
	} {
		if d.v < 0 {
			return argError(prefix+"."+d.name, "negative duration %s", d.v)
		}
	}
	kinds := c.kinds()
	switch len(kinds) {
	case 0:
		return argError(prefix, "a check with no kind: set one of TTL, HTTP, TCP, UDP, GRPC, H2PING, OSService, ScriptArgs or AliasService/AliasNode")
	case 1:
	default:
		return argError(prefix+"."+kinds[1], "a check has one kind, but %s are set", strings.Join(kinds, " and "))
	}
	switch kinds[0] {
	case "TTL":
		// An Interval is dropped before sending (wire).
	case "AliasService":
		if c.Interval > 0 {
			return argError(prefix+".Interval", "an alias check has no interval")
		}
	default:
		if c.Interval == 0 {
			return argError(prefix+".Interval", "required for a %s check", kinds[0])
		}
	}
	if c.DockerContainerID != "" && len(c.ScriptArgs) == 0 {
		return argError(prefix+".ScriptArgs", "required with DockerContainerID")
	}
	if c.Status != "" && !checksValidStatus(c.Status) {
		return argError(prefix+".Status", "want passing, warning or critical, got %q", c.Status)
	}
	if c.FailuresBeforeWarning > c.FailuresBeforeCritical && c.FailuresBeforeCritical > 0 {
		return argError(prefix+".FailuresBeforeWarning", "above FailuresBeforeCritical")
	}
	if c.OutputMaxSize < 0 {
		return argError(prefix+".OutputMaxSize", "negative")
	}
	return nil
}

func checksValidStatus(s HealthStatus) bool {
	return s == HealthPassing || s == HealthWarning || s == HealthCritical
}

var epChecksList = endpoint{name: "Checks.List", method: http.MethodGet, route: "/v1/agent/checks", opts: oFilter | oEnt, read: true}

// List returns the checks registered on the local agent, by check ID
// (aioconsul's checks.items): GET /v1/agent/checks. It takes Filter; no
// check returns an empty map. It does not block.
func (s *ChecksService) List(ctx context.Context, opts ...Option) (map[string]*HealthCheck, *Meta, error) {
	out := map[string]*HealthCheck{}
	meta, err := s.client.call(ctx, &epChecksList, "/v1/agent/checks", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = map[string]*HealthCheck{}
	}
	return out, meta, nil
}

var epChecksRegister = endpoint{name: "Checks.Register", method: http.MethodPut, route: "/v1/agent/check/register", opts: oEnt}

// Register adds a check to the local agent, or replaces the check of the
// same ID: PUT /v1/agent/check/register. An empty Name, a check with no
// kind (or two), a negative duration or a probing check without Interval is
// refused before sending; the Interval of a TTL check is not sent. A ServiceID the agent does not know is a
// *StatusError matching ErrNotFound.
func (s *ChecksService) Register(ctx context.Context, check *AgentCheckRegistration, opts ...Option) error {
	if check == nil {
		return argError("check", "nil")
	}
	if err := check.validate("AgentCheckRegistration", false); err != nil {
		return err
	}
	_, err := s.client.call(ctx, &epChecksRegister, "/v1/agent/check/register", nil, check, opts, nil)
	return err
}

var epChecksDeregister = endpoint{name: "Checks.Deregister", method: http.MethodPut, route: "/v1/agent/check/deregister/:checkID", opts: oEnt}

// Deregister removes a check from the local agent (aioconsul's
// checks.deregister): PUT /v1/agent/check/deregister/:id. A check ID the
// agent does not know is a *StatusError matching ErrNotFound. A check ID
// that is not one path segment (empty, "." or "..", with a '/' or a control
// character) is refused before sending.
func (s *ChecksService) Deregister(ctx context.Context, checkID string, opts ...Option) error {
	path, err := buildPath("/v1/agent/check/deregister/{checkID}", checkID)
	if err != nil {
		return err
	}
	_, err = s.client.call(ctx, &epChecksDeregister, path, nil, nil, opts, nil)
	return err
}

var epChecksPass = endpoint{name: "Checks.Pass", method: http.MethodPut, route: "/v1/agent/check/pass/:checkID", opts: oEnt}

// Pass marks a TTL check passing with an optional note (aioconsul's
// checks.passing): PUT /v1/agent/check/pass/:id?note=. The note becomes the
// check's Output. A check ID the agent does not know is a *StatusError
// matching ErrNotFound; a check that is not a TTL check is a *StatusError
// too (500). A check ID that is not one path segment is refused before
// sending.
func (s *ChecksService) Pass(ctx context.Context, checkID, note string, opts ...Option) error {
	return s.mark(ctx, &epChecksPass, "/v1/agent/check/pass/{checkID}", checkID, note, opts)
}

var epChecksWarn = endpoint{name: "Checks.Warn", method: http.MethodPut, route: "/v1/agent/check/warn/:checkID", opts: oEnt}

// Warn marks a TTL check warning with an optional note (aioconsul's
// checks.warning): PUT /v1/agent/check/warn/:id?note=. See Pass.
func (s *ChecksService) Warn(ctx context.Context, checkID, note string, opts ...Option) error {
	return s.mark(ctx, &epChecksWarn, "/v1/agent/check/warn/{checkID}", checkID, note, opts)
}

var epChecksFail = endpoint{name: "Checks.Fail", method: http.MethodPut, route: "/v1/agent/check/fail/:checkID", opts: oEnt}

// Fail marks a TTL check critical with an optional note (aioconsul's
// checks.critical): PUT /v1/agent/check/fail/:id?note=. See Pass.
func (s *ChecksService) Fail(ctx context.Context, checkID, note string, opts ...Option) error {
	return s.mark(ctx, &epChecksFail, "/v1/agent/check/fail/{checkID}", checkID, note, opts)
}

// mark sends a TTL check's new state to route, whose one placeholder takes
// the check ID.
func (s *ChecksService) mark(ctx context.Context, e *endpoint, route, checkID, note string, opts []Option) error {
	path, err := buildPath(route, checkID)
	if err != nil {
		return err
	}
	var ps []param
	if note != "" {
		ps = []param{{"note", note}}
	}
	_, err = s.client.call(ctx, e, path, ps, nil, opts, nil)
	return err
}

// checksUpdate is the body of PUT /v1/agent/check/update/:id.
type checksUpdate struct {
	Status HealthStatus
	Output string
}

var epChecksUpdate = endpoint{name: "Checks.Update", method: http.MethodPut, route: "/v1/agent/check/update/:checkID", opts: oEnt}

// Update sets a TTL check's status (HealthPassing, HealthWarning or
// HealthCritical) and output: PUT /v1/agent/check/update/:id with
// {"Status", "Output"}. Any other status, or a check ID that is not one
// path segment, is refused before sending. See Pass for the errors.
func (s *ChecksService) Update(ctx context.Context, checkID string, status HealthStatus, output string, opts ...Option) error {
	path, err := buildPath("/v1/agent/check/update/{checkID}", checkID)
	if err != nil {
		return err
	}
	if !checksValidStatus(status) {
		return argError("status", "want passing, warning or critical, got %q", status)
	}
	_, err = s.client.call(ctx, &epChecksUpdate, path, nil, checksUpdate{Status: status, Output: output}, opts, nil)
	return err
}
