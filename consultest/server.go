// Package consultest starts real Consul agents for tests: this library's
// and its users'.
//
//	func TestSomething(t *testing.T) {
//		srv := consultest.NewServer(t, consultest.Config{})
//		client, _ := consul.NewClient(consul.Config{Address: srv.HTTPAddr})
//		...
//	}
//
// Each agent is a Consul server with its own data directory and free
// loopback ports, started from FindBinary's binary: $CONSUL_BIN, else a
// supported consul on PATH, else one built from Consul's Go module (Version,
// or the version $CONSUL_VERSION or Config.Version asks for). NewServer
// waits until the agent has a leader and has registered its own node, stops
// the agent on t.Cleanup and shows the agent's log when the test failed.
// Stop and Start restart an agent on the same ports and data directory, for
// fault tests. Its HTTP API is plain HTTP on a loopback port, or HTTPS only
// with client certificates (Config.TLS), or a unix socket
// (Config.UnixSocket); Server.Address is what consul.Config.Address takes.
//
// The package needs a Unix system (it uses flock and process signals).
package consultest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Config describes an agent to start. The zero value is a single server of
// datacenter dc1 on 127.0.0.1 with ACLs off.
type Config struct {
	// Bind is the loopback address the agent binds every port to; empty
	// means 127.0.0.1. Agents of a cluster use 127.0.0.2, 127.0.0.3...
	Bind string
	// Datacenter defaults to "dc1".
	Datacenter string
	// NodeName defaults to "consultest-" and the HTTP port.
	NodeName string
	// BootstrapExpect is the number of servers to wait for before electing a
	// leader; 0 means 1.
	BootstrapExpect int
	// RetryJoin lists Serf LAN addresses ("ip:port") to join, and
	// RetryJoinWAN Serf WAN addresses, for clusters and federations.
	RetryJoin    []string
	RetryJoinWAN []string

	// ACL enables ACLs with the default policy deny. ManagementToken is then
	// the initial management token (and the agent's own token); empty means
	// a random one, readable as Server.ManagementToken.
	ACL             bool
	ManagementToken string

	// Extra is merged into the agent's JSON configuration, replacing the
	// keys it names, e.g. {"session_ttl_min": "1s"}.
	Extra map[string]any

	// GRPC opens the gRPC (plaintext) and gRPC TLS ports on free loopback
	// ports, as Server.GRPCAddr and Server.GRPCTLSAddr; they are off
	// otherwise. Cluster peering needs them: the gRPC TLS port is served
	// with certificates of the agent's Connect CA.
	GRPC bool

	// NoWait makes Start return as soon as the HTTP port answers, without
	// waiting for a leader (for servers of a cluster that waits for peers).
	NoWait bool
	// StartTimeout bounds the wait for the agent to be ready; 0 means 60s.
	// It does not include finding or building the binary.
	StartTimeout time.Duration

	// Version asks for a Consul version ("1.19.2"); empty means the one
	// $CONSUL_VERSION asks for, else any supported one (see FindBinary).
	Version string

	// TLS serves the HTTP API over HTTPS only (the plain HTTP port is off),
	// with verify_incoming: every client must present a certificate of the
	// CA that consultest makes for the agent. Server.TLS holds the CA, a
	// client certificate and the server name; Server.Address is
	// "https://ip:port".
	TLS bool
	// UnixSocket serves the HTTP API on a unix socket only
	// (addresses.http = "unix://..."): Server.SocketPath, and
	// Server.Address is "unix://" + SocketPath. TLS and UnixSocket do not
	// go together.
	UnixSocket bool
}

// Server is a running (or stopped) Consul agent.
type Server struct {
	// Address is the agent's HTTP API as consul.Config.Address takes it:
	// HTTPAddr, or "https://" + HTTPSAddr with Config.TLS, or "unix://" +
	// SocketPath with Config.UnixSocket.
	Address string
	// HTTPAddr is the agent's plain HTTP API, "ip:port"; empty with
	// Config.TLS or Config.UnixSocket.
	HTTPAddr string
	// HTTPSAddr is the agent's HTTPS API, "ip:port", with Config.TLS.
	HTTPSAddr string
	// SocketPath is the unix socket of the HTTP API, with
	// Config.UnixSocket.
	SocketPath string
	// TLS holds the agent's CA, a client certificate and the server name,
	// with Config.TLS; nil otherwise.
	TLS *TLSFiles
	// Version is the agent's Consul version, "1.22.7", and Binary the
	// consul binary it runs.
	Version string
	Binary  string
	// SerfLANAddr and SerfWANAddr are the gossip addresses, for joins.
	SerfLANAddr string
	SerfWANAddr string
	// ServerAddr is the Raft RPC address, as listed by status/peers.
	ServerAddr string
	// GRPCAddr and GRPCTLSAddr are the gRPC ports, "ip:port", set only
	// with Config.GRPC.
	GRPCAddr    string
	GRPCTLSAddr string
	// Datacenter and NodeName of the agent.
	Datacenter string
	NodeName   string
	// ManagementToken is the initial management token when ACLs are on.
	ManagementToken string
	// DataDir holds the agent's state; it survives Stop and is removed by
	// Close.
	DataDir string

	cfg     Config
	dir     string // parent of DataDir, config and log
	cfgPath string
	logPath string

	bin   AgentBinary
	base  string       // scheme://host of the API for consultest's own probes
	probe *http.Client // consultest's own client of the API

	closeOnce sync.Once

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// NewServer starts an agent for the test and stops it, removing its data,
// when the test ends; when the test failed, the agent's log is written to
// the test log. It fails the test if the agent does not start.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("consultest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consultest: log of agent %s (%s):\n%s", s.NodeName, s.Address, s.LogTail(200))
		}
		if err := s.Close(); err != nil {
			t.Logf("consultest: %v", err)
		}
	})
	return s
}

// Start starts an agent and waits until it is ready: it has a leader and
// its own node is in the catalog (or, with NoWait, its HTTP port answers).
// Call Close when done.
func Start(cfg Config) (*Server, error) {
	bin, err := FindBinary(cfg.Version)
	if err != nil {
		return nil, err
	}
	if cfg.TLS && cfg.UnixSocket {
		return nil, errors.New("consultest: Config.TLS and Config.UnixSocket do not go together")
	}
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1"
	}
	if ip := net.ParseIP(cfg.Bind); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("consultest: Bind %q is not a loopback address", cfg.Bind)
	}
	if cfg.Datacenter == "" {
		cfg.Datacenter = "dc1"
	}
	if cfg.BootstrapExpect == 0 {
		cfg.BootstrapExpect = 1
	}
	if cfg.ACL && cfg.ManagementToken == "" {
		cfg.ManagementToken = NewUUID()
	}
	nports := 4
	if cfg.GRPC {
		nports = 6
	}
	ports, err := freePorts(cfg.Bind, nports)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "consultest-")
	if err != nil {
		return nil, fmt.Errorf("consultest: %w", err)
	}
	s := &Server{
		HTTPAddr:        net.JoinHostPort(cfg.Bind, strconv.Itoa(ports[0])),
		Version:         bin.Version,
		Binary:          bin.Path,
		bin:             bin,
		SerfLANAddr:     net.JoinHostPort(cfg.Bind, strconv.Itoa(ports[1])),
		SerfWANAddr:     net.JoinHostPort(cfg.Bind, strconv.Itoa(ports[2])),
		ServerAddr:      net.JoinHostPort(cfg.Bind, strconv.Itoa(ports[3])),
		Datacenter:      cfg.Datacenter,
		NodeName:        cfg.NodeName,
		ManagementToken: cfg.ManagementToken,
		DataDir:         filepath.Join(dir, "data"),
		cfg:             cfg,
		dir:             dir,
		cfgPath:         filepath.Join(dir, "agent.json"),
		logPath:         filepath.Join(dir, "agent.log"),
	}
	if s.NodeName == "" {
		s.NodeName = "consultest-" + strconv.Itoa(ports[0])
	}
	if cfg.GRPC {
		s.GRPCAddr = net.JoinHostPort(cfg.Bind, strconv.Itoa(ports[4]))
		s.GRPCTLSAddr = net.JoinHostPort(cfg.Bind, strconv.Itoa(ports[5]))
	}
	if err := s.setAPI(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.writeConfig(ports); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) writeConfig(ports []int) error {
	grpc, grpcTLS := -1, -1
	if s.cfg.GRPC {
		grpc, grpcTLS = ports[4], ports[5]
	}
	c := map[string]any{
		"datacenter":       s.cfg.Datacenter,
		"node_name":        s.NodeName,
		"data_dir":         s.DataDir,
		"server":           true,
		"bootstrap_expect": s.cfg.BootstrapExpect,
		"bind_addr":        s.cfg.Bind,
		"client_addr":      s.cfg.Bind,
		"advertise_addr":   s.cfg.Bind,
		"ports": map[string]any{
			"http": ports[0], "serf_lan": ports[1], "serf_wan": ports[2], "server": ports[3],
			"https": -1, "dns": -1, "grpc": grpc, "grpc_tls": grpcTLS,
		},
		"disable_update_check":    true,
		"disable_host_node_id":    true,
		"log_level":               "debug",
		"performance":             map[string]any{"raft_multiplier": 1},
		"check_update_interval":   "0s",
		"session_ttl_min":         "1s",
		"leave_on_terminate":      false,
		"skip_leave_on_interrupt": true,
		"connect":                 map[string]any{"enabled": true},
		"enable_debug":            true,
		"telemetry":               map[string]any{"disable_hostname": true},
		"ui_config":               map[string]any{"enabled": false},
	}
	if len(s.cfg.RetryJoin) > 0 {
		c["retry_join"] = s.cfg.RetryJoin
		c["retry_interval"] = "200ms"
	}
	if len(s.cfg.RetryJoinWAN) > 0 {
		c["retry_join_wan"] = s.cfg.RetryJoinWAN
		c["retry_interval_wan"] = "200ms"
	}
	if s.cfg.ACL {
		c["acl"] = map[string]any{
			"enabled":                  true,
			"default_policy":           "deny",
			"enable_token_persistence": true,
			"tokens": map[string]any{
				"initial_management": s.ManagementToken,
				"agent":              s.ManagementToken,
			},
		}
	}
	switch {
	case s.cfg.TLS:
		c["ports"].(map[string]any)["http"] = -1
		c["ports"].(map[string]any)["https"] = ports[0]
		c["tls"] = map[string]any{
			"defaults": map[string]any{
				"ca_file":   s.TLS.CAFile,
				"cert_file": s.TLS.serverCert,
				"key_file":  s.TLS.serverKey,
			},
			"https": map[string]any{"verify_incoming": true},
		}
	case s.cfg.UnixSocket:
		c["addresses"] = map[string]any{"http": "unix://" + s.SocketPath}
	}
	for k, v := range s.cfg.Extra {
		c[k] = v
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	return os.WriteFile(s.cfgPath, b, 0o600)
}

// setAPI sets Address and what consultest's probes use, per the kind of
// API the agent serves; with TLS it writes the certificates first.
func (s *Server) setAPI() error {
	tr := &http.Transport{DisableKeepAlives: true}
	s.probe = &http.Client{Timeout: 2 * time.Second, Transport: tr}
	switch {
	case s.cfg.TLS:
		files, err := writeTLSFiles(filepath.Join(s.dir, "tls"), s.Datacenter)
		if err != nil {
			return err
		}
		s.TLS = files
		s.HTTPSAddr, s.HTTPAddr = s.HTTPAddr, ""
		s.Address = "https://" + s.HTTPSAddr
		s.base = s.Address
		tr.TLSClientConfig = files.clientConfig()
	case s.cfg.UnixSocket:
		s.SocketPath = filepath.Join(s.dir, "http.sock")
		s.HTTPAddr = ""
		s.Address = "unix://" + s.SocketPath
		s.base = "http://localhost"
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", s.SocketPath)
		}
	default:
		s.Address = s.HTTPAddr
		s.base = "http://" + s.HTTPAddr
	}
	return nil
}

// start runs the agent with the written config and waits for readiness.
func (s *Server) start() error {
	bin := s.bin.Path
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	cmd := exec.Command(bin, "agent", "-config-file", s.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("consultest: start agent: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	timeout := s.cfg.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.waitReady(ctx, done); err != nil {
		return fmt.Errorf("consultest: agent %s on %s: %w\n%s", s.NodeName, s.Address, err, s.LogTail(40))
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	hc := s.probe
	check := func() bool {
		if s.cfg.NoWait {
			// Any answer will do: a client agent without servers answers
			// /v1/status/leader with a 500, and with ACLs on a token cannot
			// be resolved before there is a leader.
			resp, err := s.probe.Get(s.base + "/v1/agent/version?" + probeMarker)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return true
		}
		leader, ok := s.getJSON(hc, "/v1/status/leader")
		if !ok || leader == `""` {
			return false
		}
		node, ok := s.getJSON(hc, "/v1/health/node/"+s.NodeName)
		return ok && strings.Contains(node, "serfHealth")
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if check() {
			return nil
		}
		select {
		case <-exited:
			return errors.New("agent exited before it was ready")
		case <-ctx.Done():
			return errors.New("agent not ready in time")
		case <-tick.C:
		}
	}
}

// probeMarker is added to the query of consultest's own requests, so that
// Requests can tell them from the requests of the code under test.
const probeMarker = "consultest=probe"

// getJSON GETs path with consultest's own client of the agent (hc is used
// for a plain HTTP API) and returns the body and whether the status was 200.
func (s *Server) getJSON(hc *http.Client, path string) (string, bool) {
	if s.HTTPAddr == "" {
		hc = s.probe
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := http.NewRequest(http.MethodGet, s.base+path+sep+probeMarker, nil)
	if err != nil {
		return "", false
	}
	if s.ManagementToken != "" {
		req.Header.Set("X-Consul-Token", s.ManagementToken)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return strings.TrimSpace(string(b)), resp.StatusCode == http.StatusOK
}

// Running reports whether the agent process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop stops the agent (SIGTERM, then SIGKILL after 10s) and keeps its
// ports and data directory so that Start can bring it back. Stopping a
// stopped agent does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Kill stops the agent at once with SIGKILL, as a crash would; Start can
// bring it back.
func (s *Server) Kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Kill()
	<-done
	return nil
}

// Start starts a stopped agent again on the same ports, configuration and
// data directory, and waits until it is ready.
func (s *Server) Start() error {
	if s.Running() {
		return errors.New("consultest: agent already running")
	}
	return s.start()
}

// Restart is Stop then Start.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Close stops the agent, runs the OnClose functions, and removes its data
// directory, config and log.
func (s *Server) Close() error {
	err := s.Stop()
	runOnClose(s)
	if rmErr := os.RemoveAll(s.dir); err == nil && rmErr != nil {
		err = fmt.Errorf("consultest: %w", rmErr)
	}
	return err
}

// LogTail returns the last n lines of the agent's log.
func (s *Server) LogTail(n int) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 2*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Log returns the agent's whole log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(bytes.TrimSpace(b))
}

// freePorts returns n distinct TCP ports free on ip now; Consul also uses
// the Serf ports over UDP, which are free too in practice.
func freePorts(ip string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("consultest: free port on %s: %w", ip, err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// NewUUID returns a random UUID (version 4), the form Consul wants for
// tokens and IDs.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
