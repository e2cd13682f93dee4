package consul

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"
)

// AgentService talks to the local agent itself: /v1/agent/ (self, host, version, metrics, maintenance, reload, tokens, monitor, connect).
//
// aioconsul's agent.info is Self; agent.disable(reason) and
// agent.enable(reason) are EnableMaintenance and DisableMaintenance (the
// node goes into and out of maintenance). The agent's services, checks and
// Serf members are client.Services, client.Checks and client.Members.
type AgentService service

// AgentSelf is what the agent says about itself (GET /v1/agent/self).
type AgentSelf struct {
	Config AgentSelfConfig
	// DebugConfig is the agent's whole runtime configuration, secrets
	// redacted; its shape changes between Consul versions.
	DebugConfig map[string]any
	// Coord is the agent's network coordinate in its LAN pool, nil when
	// coordinates are disabled.
	Coord *Coordinate
	// Member is the agent in its LAN Serf pool.
	Member AgentMember
	// Stats are the agent's runtime figures by subsystem ("agent",
	// "runtime", "raft", "serf_lan"...), each a string map.
	Stats map[string]map[string]string
	// Meta is the node metadata.
	Meta map[string]string
	// XDS tells on which gRPC ports the agent serves Envoy proxies, nil when
	// it does not.
	XDS *AgentXDS `json:"xDS,omitempty"`
}

// AgentSelfConfig is the headline of the agent's configuration.
type AgentSelfConfig struct {
	Datacenter        string
	PrimaryDatacenter string
	NodeName          string
	NodeID            string
	Partition         string `json:",omitempty"`
	Revision          string
	// Server is true for a server agent, false for a client.
	Server    bool
	Version   string
	BuildDate string
}

// AgentXDS is the xDS part of AgentSelf.
type AgentXDS struct {
	// SupportedProxies lists the supported versions by proxy ("envoy").
	SupportedProxies map[string][]string
	// Port is the gRPC TLS port, or the plain one when TLS is off.
	Port  int
	Ports struct {
		Plaintext int
		TLS       int
	}
}

// AgentHost describes the agent's host (GET /v1/agent/host).
type AgentHost struct {
	Memory *AgentHostMemory
	CPU    []AgentHostCPU
	Host   *AgentHostOS
	Disk   *AgentHostDisk
	// CollectionTime is when the figures were taken, in Unix nanoseconds.
	CollectionTime int64
	// Errors are the collection errors, as Consul encodes them.
	Errors []json.RawMessage
}

// AgentHostMemory is the host's memory in bytes.
type AgentHostMemory struct {
	Total       uint64  `json:"total"`
	Available   uint64  `json:"available"`
	Used        uint64  `json:"used"`
	UsedPercent float64 `json:"usedPercent"`
	Free        uint64  `json:"free"`
}

// AgentHostCPU is one CPU of the host.
type AgentHostCPU struct {
	CPU       int32   `json:"cpu"`
	VendorID  string  `json:"vendorId"`
	Family    string  `json:"family"`
	Model     string  `json:"model"`
	ModelName string  `json:"modelName"`
	Cores     int32   `json:"cores"`
	Mhz       float64 `json:"mhz"`
}

// AgentHostOS is the host's operating system.
type AgentHostOS struct {
	Hostname        string `json:"hostname"`
	Uptime          uint64 `json:"uptime"`   // seconds
	BootTime        uint64 `json:"bootTime"` // Unix seconds
	Procs           uint64 `json:"procs"`
	OS              string `json:"os"`
	Platform        string `json:"platform"`
	PlatformFamily  string `json:"platformFamily"`
	PlatformVersion string `json:"platformVersion"`
	KernelVersion   string `json:"kernelVersion"`
	KernelArch      string `json:"kernelArch"`
	HostID          string `json:"hostId"`
}

// AgentHostDisk is the usage of the disk of the agent's data directory, in
// bytes.
type AgentHostDisk struct {
	Path        string  `json:"path"`
	Fstype      string  `json:"fstype"`
	Total       uint64  `json:"total"`
	Free        uint64  `json:"free"`
	Used        uint64  `json:"used"`
	UsedPercent float64 `json:"usedPercent"`
}

// AgentVersion is the agent's build (GET /v1/agent/version).
type AgentVersion struct {
	// HumanVersion is e.g. "1.19.2".
	HumanVersion string
	// SHA is the git revision.
	SHA       string
	BuildDate string
	// FIPS names the FIPS mode of an Enterprise build, empty otherwise.
	FIPS string
}

// AgentMetrics is one interval of the agent's in-memory metrics (10s by
// default), as GET /v1/agent/metrics and its stream return them.
type AgentMetrics struct {
	// Timestamp is the start of the interval, as Consul writes it
	// ("2024-08-20 10:00:00 +0000 UTC").
	Timestamp string
	Gauges    []AgentMetricGauge
	Points    []AgentMetricPoints
	Counters  []AgentMetricSample
	Samples   []AgentMetricSample
}

// AgentMetricGauge is a gauge's last value.
type AgentMetricGauge struct {
	Name   string
	Value  float64
	Labels map[string]string
}

// AgentMetricPoints are the raw points of a metric.
type AgentMetricPoints struct {
	Name   string
	Points []float64
}

// AgentMetricSample aggregates a counter or a timer (in milliseconds) over
// the interval.
type AgentMetricSample struct {
	Name   string
	Count  int
	Rate   float64
	Sum    float64
	Min    float64
	Max    float64
	Mean   float64
	Stddev float64
	Labels map[string]string
}

// AgentTokenKind names one of the ACL tokens the agent uses, for
// AgentService.SetToken.
type AgentTokenKind string

// The agent's ACL tokens.
const (
	// AgentTokenDefault is used for requests that carry no token.
	AgentTokenDefault AgentTokenKind = "default"
	// AgentTokenAgent is the agent's own token for its internal operations.
	AgentTokenAgent AgentTokenKind = "agent"
	// AgentTokenAgentRecovery allows agent operations when the servers
	// cannot be reached.
	AgentTokenAgentRecovery AgentTokenKind = "agent_recovery"
	// AgentTokenReplication is used by secondary datacenters' servers to
	// replicate ACLs.
	AgentTokenReplication AgentTokenKind = "replication"
	// AgentTokenConfigFileServiceRegistration registers the services and
	// checks of the configuration files.
	AgentTokenConfigFileServiceRegistration AgentTokenKind = "config_file_service_registration"
	// AgentTokenDNS answers DNS queries.
	AgentTokenDNS AgentTokenKind = "dns"
)

// AgentLeafCert is a Connect leaf certificate of a service and its private
// key (Consul's IssuedCert).
type AgentLeafCert struct {
	SerialNumber  string
	CertPEM       string
	PrivateKeyPEM string
	// Service and ServiceURI (the SPIFFE ID) name the certified service.
	Service    string `json:",omitempty"`
	ServiceURI string `json:",omitempty"`
	// Agent and AgentURI are set instead for an agent's certificate.
	Agent       string `json:",omitempty"`
	AgentURI    string `json:",omitempty"`
	Kind        string `json:",omitempty"`
	KindURI     string `json:",omitempty"`
	ValidAfter  time.Time
	ValidBefore time.Time
	Namespace   string `json:",omitempty"`
	Partition   string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// AgentAuthorizeRequest asks whether a client may connect to a service.
type AgentAuthorizeRequest struct {
	// Target is the destination service's name; required.
	Target string
	// ClientCertURI is the SPIFFE ID of the client's certificate, e.g.
	// "spiffe://<trust domain>/ns/default/dc/dc1/svc/web"; required.
	ClientCertURI string
	// ClientCertSerial is the client certificate's colon-hex serial number.
	ClientCertSerial string `json:",omitempty"`
	Namespace        string `json:",omitempty"`
	Partition        string `json:",omitempty"`
}

// AgentAuthorization is the answer of AgentService.Authorize.
type AgentAuthorization struct {
	Authorized bool
	// Reason says which intention or default decided.
	Reason string
}

var epAgentSelf = endpoint{name: "Agent.Self", method: http.MethodGet, route: "/v1/agent/self", opts: 0, read: true}

// Self returns the agent's configuration, member and statistics
// (aioconsul's agent.info): GET /v1/agent/self. It needs agent:read.
func (s *AgentService) Self(ctx context.Context, opts ...Option) (*AgentSelf, *Meta, error) {
	var out AgentSelf
	meta, err := s.client.call(ctx, &epAgentSelf, "/v1/agent/self", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epAgentHost = endpoint{name: "Agent.Host", method: http.MethodGet, route: "/v1/agent/host", opts: 0, read: true}

// Host returns facts about the agent's host: GET /v1/agent/host. It needs
// operator:read, and the agent must have enable_debug on or ACLs enabled.
func (s *AgentService) Host(ctx context.Context, opts ...Option) (*AgentHost, *Meta, error) {
	var out AgentHost
	meta, err := s.client.call(ctx, &epAgentHost, "/v1/agent/host", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epAgentVersion = endpoint{name: "Agent.Version", method: http.MethodGet, route: "/v1/agent/version", opts: 0, read: true}

// Version returns the agent's build: GET /v1/agent/version. It needs no
// permission.
func (s *AgentService) Version(ctx context.Context, opts ...Option) (*AgentVersion, *Meta, error) {
	var out AgentVersion
	meta, err := s.client.call(ctx, &epAgentVersion, "/v1/agent/version", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epAgentMetrics = endpoint{name: "Agent.Metrics", method: http.MethodGet, route: "/v1/agent/metrics", opts: 0, read: true}

// Metrics returns the last complete interval of the agent's in-memory
// metrics: GET /v1/agent/metrics. It needs agent:read.
func (s *AgentService) Metrics(ctx context.Context, opts ...Option) (*AgentMetrics, *Meta, error) {
	var out AgentMetrics
	meta, err := s.client.call(ctx, &epAgentMetrics, "/v1/agent/metrics", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epAgentMetricsPrometheus = endpoint{name: "Agent.MetricsPrometheus", method: http.MethodGet, route: "/v1/agent/metrics", opts: 0, read: true}

// MetricsPrometheus returns the agent's metrics in the Prometheus text
// format: GET /v1/agent/metrics?format=prometheus. The agent must have
// telemetry.prometheus_retention_time set: without it Consul 1.19 answers
// an empty body (some versions a 415 *StatusError). It needs agent:read.
func (s *AgentService) MetricsPrometheus(ctx context.Context, opts ...Option) ([]byte, *Meta, error) {
	var out []byte
	meta, err := s.client.call(ctx, &epAgentMetricsPrometheus, "/v1/agent/metrics", []param{{"format", "prometheus"}}, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

// MetricsStream yields each interval of the agent's in-memory metrics as it
// ends (every 10s by default): GET /v1/agent/metrics/stream.
//
// The request is sent when the iteration starts, and runs until ctx ends or
// the loop breaks; both end the sequence quietly, closing the connection. A
// failure (the request refused, the stream cut or undecodable) is yielded
// once as an error, and ends the sequence. It starts no goroutine.
//
//	for m, err := range client.Agent.MetricsStream(ctx) {
//		if err != nil { return err }
//		fmt.Println(m.Timestamp, len(m.Gauges))
//	}
func (s *AgentService) MetricsStream(ctx context.Context, opts ...Option) iter.Seq2[*AgentMetrics, error] {
	return func(yield func(*AgentMetrics, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		body, err := s.stream(ctx, &epAgentMetricsStream, nil, opts)
		if err != nil {
			if ctx.Err() == nil {
				yield(nil, err)
			}
			return
		}
		defer body.Close()
		dec := json.NewDecoder(body)
		for {
			var m AgentMetrics
			if err := dec.Decode(&m); err != nil {
				if ctx.Err() == nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					yield(nil, fmt.Errorf("consul: GET /v1/agent/metrics/stream: %w", err))
				}
				return
			}
			if !yield(&m, nil) {
				return
			}
		}
	}
}

var (
	epAgentMetricsStream = endpoint{name: "Agent.MetricsStream", method: http.MethodGet, route: "/v1/agent/metrics/stream", long: true}
	epAgentMonitor       = endpoint{name: "Agent.Monitor", method: http.MethodGet, route: "/v1/agent/monitor", opts: 1 << optMonitorJSON, long: true}
)

// agentLogLevels are the levels the agent's monitor accepts.
var agentLogLevels = []string{"trace", "debug", "info", "warn", "err", "error"}

// AgentMonitorJSON makes AgentService.Monitor stream JSON log lines
// (?logjson), one JSON object a line.
func AgentMonitorJSON() Option { return routeOption(optMonitorJSON, "logjson", "") }

// Monitor yields the agent's log lines at level or above, as they are
// written: GET /v1/agent/monitor?loglevel=. level is "trace", "debug",
// "info", "warn" or "error" (any case); "" means "info". Pass
// AgentMonitorJSON() for JSON lines. It needs agent:read.
//
// The request is sent when the iteration starts and streams until ctx ends
// or the loop breaks; both end the sequence quietly and close the
// connection. A failure (an unknown level, the request refused, the stream
// cut by the agent) is yielded once as an error and ends the sequence. It
// starts no goroutine: nothing remains once the loop is over.
//
//	ctx, cancel := context.WithTimeout(ctx, time.Minute)
//	defer cancel()
//	for line, err := range client.Agent.Monitor(ctx, "debug") {
//		if err != nil { return err }
//		fmt.Println(line)
//	}
func (s *AgentService) Monitor(ctx context.Context, level string, opts ...Option) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		var ps []param
		if level != "" {
			lower := strings.ToLower(level)
			ok := false
			for _, l := range agentLogLevels {
				ok = ok || l == lower
			}
			if !ok {
				yield("", argError("level", "want trace, debug, info, warn or error, got %q", level))
				return
			}
			ps = []param{{"loglevel", lower}}
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		body, err := s.stream(ctx, &epAgentMonitor, ps, opts)
		if err != nil {
			if ctx.Err() == nil {
				yield("", err)
			}
			return
		}
		defer body.Close()
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 0, 16<<10), 1<<20)
		for sc.Scan() {
			if !yield(sc.Text(), nil) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		err = sc.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		yield("", fmt.Errorf("consul: GET /v1/agent/monitor: %w", err))
	}
}

// stream sends a GET whose answer streams until ctx ends, returning the
// open body; the caller closes it.
func (s *AgentService) stream(ctx context.Context, e *endpoint, ps []param, opts []Option) (io.ReadCloser, error) {
	// No retry: a stream is not a read that can be replayed transparently.
	resp, _, err := s.client.stream(ctx, e, e.route, ps, opts)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

var epAgentEnableMaintenance = endpoint{name: "Agent.EnableMaintenance", method: http.MethodPut, route: "/v1/agent/maintenance", opts: 0}

// EnableMaintenance puts the agent's node in maintenance mode with a reason
// (aioconsul's agent.disable): PUT /v1/agent/maintenance?enable=true&reason=.
// The agent adds a critical "_node_maintenance" check, so every service of
// the node leaves DNS and healthy lists. It needs node:write.
func (s *AgentService) EnableMaintenance(ctx context.Context, reason string, opts ...Option) error {
	ps := []param{{"enable", "true"}}
	if reason != "" {
		ps = append(ps, param{"reason", reason})
	}
	_, err := s.client.call(ctx, &epAgentEnableMaintenance, "/v1/agent/maintenance", ps, nil, opts, nil)
	return err
}

var epAgentDisableMaintenance = endpoint{name: "Agent.DisableMaintenance", method: http.MethodPut, route: "/v1/agent/maintenance", opts: 0}

// DisableMaintenance takes the agent's node out of maintenance mode
// (aioconsul's agent.enable, whose reason Consul ignores): PUT
// /v1/agent/maintenance?enable=false.
func (s *AgentService) DisableMaintenance(ctx context.Context, opts ...Option) error {
	_, err := s.client.call(ctx, &epAgentDisableMaintenance, "/v1/agent/maintenance", []param{{"enable", "false"}}, nil, opts, nil)
	return err
}

var epAgentReload = endpoint{name: "Agent.Reload", method: http.MethodPut, route: "/v1/agent/reload", opts: 0}

// Reload makes the agent reload its configuration files: PUT
// /v1/agent/reload. A configuration that does not load is a *StatusError
// (500) and the agent keeps the old one. It needs agent:write.
func (s *AgentService) Reload(ctx context.Context, opts ...Option) error {
	_, err := s.client.call(ctx, &epAgentReload, "/v1/agent/reload", nil, nil, opts, nil)
	return err
}

// agentTokenBody is the body of PUT /v1/agent/token/:kind.
type agentTokenBody struct {
	Token string
}

var epAgentSetToken = endpoint{name: "Agent.SetToken", method: http.MethodPut, route: "/v1/agent/token/:kind", opts: 0}

// SetToken sets one of the ACL tokens the agent uses: PUT
// /v1/agent/token/:kind with {"Token": token}. An empty token clears it.
// With ACLs disabled Consul answers 401; an unknown kind is a *StatusError
// matching ErrNotFound; a kind that is not one path segment (empty, "." or
// "..", with a '/' or a control character) is refused before sending. It
// needs agent:write. The token travels only in the body and never appears
// in errors.
func (s *AgentService) SetToken(ctx context.Context, kind AgentTokenKind, token string, opts ...Option) error {
	path, err := buildPath("/v1/agent/token/{kind}", string(kind))
	if err != nil {
		return err
	}
	_, err = s.client.callSecret(ctx, &epAgentSetToken, path, agentTokenBody{Token: token}, token, opts, nil)
	return err
}

var epAgentCARoots = endpoint{name: "Agent.CARoots", method: http.MethodGet, route: "/v1/agent/connect/ca/roots", opts: oDC | oBlocking, read: true}

// CARoots returns the Connect CA roots, as ConnectService.CARoots does,
// but served from the agent's cache: GET /v1/agent/connect/ca/roots. It
// supports blocking (WaitIndex, WaitTime) and Cached options.
func (s *AgentService) CARoots(ctx context.Context, opts ...Option) (*ConnectCARoots, *Meta, error) {
	var out ConnectCARoots
	meta, err := s.client.call(ctx, &epAgentCARoots, "/v1/agent/connect/ca/roots", nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epAgentLeafCert = endpoint{name: "Agent.LeafCert", method: http.MethodGet, route: "/v1/agent/connect/ca/leaf/:service", opts: oDC | oBlocking | oEnt, read: true}

// LeafCert returns a Connect leaf certificate for a service name,
// generating one if needed: GET /v1/agent/connect/ca/leaf/:service. It
// needs service:write on the service. It supports blocking (WaitIndex
// returns once the certificate is renewed or rotated). A service name that
// is not one path segment is refused before sending.
func (s *AgentService) LeafCert(ctx context.Context, service string, opts ...Option) (*AgentLeafCert, *Meta, error) {
	path, err := buildPath("/v1/agent/connect/ca/leaf/{service}", service)
	if err != nil {
		return nil, nil, err
	}
	var out AgentLeafCert
	meta, err := s.client.call(ctx, &epAgentLeafCert, path, nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}

var epAgentAuthorize = endpoint{name: "Agent.Authorize", method: http.MethodPost, route: "/v1/agent/connect/authorize", opts: oEnt}

// Authorize asks whether a client certificate may connect to a service,
// by the intentions: POST /v1/agent/connect/authorize. An empty Target or
// ClientCertURI is refused before sending. It needs service:write on the
// target.
func (s *AgentService) Authorize(ctx context.Context, req *AgentAuthorizeRequest, opts ...Option) (*AgentAuthorization, *Meta, error) {
	switch {
	case req == nil:
		return nil, nil, argError("AgentAuthorizeRequest", "nil")
	case req.Target == "":
		return nil, nil, argError("AgentAuthorizeRequest.Target", "empty")
	case req.ClientCertURI == "":
		return nil, nil, argError("AgentAuthorizeRequest.ClientCertURI", "empty")
	}
	var out AgentAuthorization
	meta, err := s.client.call(ctx, &epAgentAuthorize, "/v1/agent/connect/authorize", nil, req, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return &out, meta, nil
}
