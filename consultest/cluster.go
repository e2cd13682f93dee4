package consultest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cluster is a set of Consul servers of one datacenter joined over Serf
// LAN, with one Raft leader. Server i binds to the loopback address
// 127.0.0.(i+1) (on Linux the whole of 127/8 is loopback), so that every
// agent has its own IP, as servers of a real cluster do.
type Cluster struct {
	// Servers are the agents in start order; Servers[i] binds to
	// 127.0.0.(i+1).
	Servers []*Server
	// Datacenter of every server.
	Datacenter string

	timeout time.Duration
}

// NewCluster starts a cluster of n servers for the test (see StartCluster)
// and closes it when the test ends; when the test failed, each agent's log
// is written to the test log. It fails the test if the cluster does not
// form.
//
//	cl := consultest.NewCluster(t, 3, consultest.Config{})
//	leader, _ := cl.Leader()
//	leader.Stop()                  // a new leader is elected among the others
//	next, _ := cl.WaitLeader(0)
//	client, _ := consul.NewClient(consul.Config{Address: next.HTTPAddr})
func NewCluster(t testing.TB, n int, cfg Config) *Cluster {
	t.Helper()
	c, err := StartCluster(n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range c.Servers {
				t.Logf("consultest: log of agent %s (%s):\n%s", s.NodeName, s.Address, s.LogTail(100))
			}
		}
		if err := c.Close(); err != nil {
			t.Logf("consultest: %v", err)
		}
	})
	return c
}

// StartCluster starts n servers (1 to 254) joined as one cluster and waits
// until it is ready: every server knows the same leader, sees all n servers
// alive as LAN members, and the catalog lists the n nodes.
//
// cfg applies to every server, except that Bind is 127.0.0.(i+1) for
// Servers[i], NodeName (when set) gets the suffix "-<i+1>",
// BootstrapExpect is n and RetryJoin lists the Serf LAN addresses of the
// servers started before it (the first server is started alone, the
// others together, joining it; after a restart an agent also rejoins the
// members it knew from its data directory). Unless cfg.Extra sets
// "gossip_lan", the servers probe each other every 200ms, so that a stopped
// server is seen failed in about a second. NoWait is ignored: the cluster
// is always waited for, within cfg.StartTimeout (0 means 60s). Call Close
// when done.
func StartCluster(n int, cfg Config) (*Cluster, error) {
	if n < 1 || n > 254 {
		return nil, fmt.Errorf("consultest: cluster of %d servers: want 1 to 254", n)
	}
	if cfg.Datacenter == "" {
		cfg.Datacenter = "dc1"
	}
	if cfg.ACL && cfg.ManagementToken == "" {
		cfg.ManagementToken = NewUUID()
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	c := &Cluster{Servers: make([]*Server, n), Datacenter: cfg.Datacenter, timeout: timeout}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	member := func(i int, join []string) (*Server, error) {
		sc := cfg
		sc.Bind = fmt.Sprintf("127.0.0.%d", i+1)
		if cfg.NodeName != "" {
			sc.NodeName = fmt.Sprintf("%s-%d", cfg.NodeName, i+1)
		}
		sc.BootstrapExpect = n
		sc.RetryJoin = append(slices.Clone(join), cfg.RetryJoin...)
		sc.NoWait = true
		sc.StartTimeout = timeout
		if _, set := cfg.Extra["gossip_lan"]; !set {
			// Detect a stopped server in about a second, not Consul's 5s.
			sc.Extra = maps.Clone(cfg.Extra)
			if sc.Extra == nil {
				sc.Extra = map[string]any{}
			}
			sc.Extra["gossip_lan"] = map[string]any{"probe_interval": "200ms", "probe_timeout": "100ms", "suspicion_mult": 2}
		}
		return Start(sc)
	}

	first, err := member(0, nil)
	if err != nil {
		return nil, err
	}
	c.Servers[0] = first
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := member(i, []string{first.SerfLANAddr})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			c.Servers[i] = s
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		c.Close()
		return nil, errors.Join(errs...)
	}
	if err := c.waitFormed(ctx); err != nil {
		tails := ""
		for _, s := range c.Servers {
			tails += fmt.Sprintf("\n--- %s (%s):\n%s", s.NodeName, s.Address, s.LogTail(20))
		}
		c.Close()
		return nil, fmt.Errorf("consultest: cluster of %d servers: %w%s", n, err, tails)
	}
	return c, nil
}

// waitFormed waits until every server sees the same leader, all servers as
// alive LAN members, and the catalog lists every node.
func (c *Cluster) waitFormed(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	names := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		names[i] = s.NodeName
	}
	slices.Sort(names)
	var last string
	check := func() bool {
		var leader string
		for _, s := range c.Servers {
			l, ok := s.getJSON(hc, "/v1/status/leader")
			if !ok || l == `""` {
				last = s.NodeName + " knows no leader"
				return false
			}
			if leader != "" && l != leader {
				last = "servers disagree on the leader"
				return false
			}
			leader = l
			if got := aliveMembers(s, hc); !slices.Equal(got, names) {
				last = fmt.Sprintf("%s sees alive members %v", s.NodeName, got)
				return false
			}
		}
		body, ok := c.Servers[0].getJSON(hc, "/v1/catalog/nodes")
		var nodes []struct{ Node string }
		if !ok || json.Unmarshal([]byte(body), &nodes) != nil {
			last = "catalog nodes unreadable"
			return false
		}
		got := make([]string, 0, len(nodes))
		for _, nd := range nodes {
			got = append(got, nd.Node)
		}
		slices.Sort(got)
		if !slices.Equal(got, names) {
			last = fmt.Sprintf("catalog lists %v", got)
			return false
		}
		return true
	}
	return pollUntil(ctx, check, func() string { return last })
}

// aliveMembers returns the sorted names of the servers s sees alive in its
// LAN pool.
func aliveMembers(s *Server, hc *http.Client) []string {
	body, ok := s.getJSON(hc, "/v1/agent/members")
	if !ok {
		return nil
	}
	var ms []struct {
		Name   string
		Status int
		Tags   map[string]string
	}
	if json.Unmarshal([]byte(body), &ms) != nil {
		return nil
	}
	var out []string
	for _, m := range ms {
		if m.Status == 1 && m.Tags["role"] == "consul" {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// pollUntil calls check every 50ms until it returns true or ctx ends; the
// error then says what why() reports last.
func pollUntil(ctx context.Context, check func() bool, why func() string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if check() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready in time: %s", why())
		case <-tick.C:
		}
	}
}

// Leader returns the server that is the Raft leader now, as the first
// running server that knows one says. It is an error when no running
// server knows a leader, or the leader is not one of Servers.
func (c *Cluster) Leader() (*Server, error) {
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		body, ok := s.getJSON(hc, "/v1/status/leader")
		var addr string
		if !ok || json.Unmarshal([]byte(body), &addr) != nil || addr == "" {
			continue
		}
		for _, l := range c.Servers {
			if l.ServerAddr == addr {
				return l, nil
			}
		}
		return nil, fmt.Errorf("consultest: leader %s is not a server of the cluster", addr)
	}
	return nil, errors.New("consultest: no running server knows a leader")
}

// WaitLeader waits up to timeout (0 means the cluster's start timeout) for
// the running servers to agree on a leader and returns it, e.g. after the
// leader was stopped.
func (c *Cluster) WaitLeader(timeout time.Duration) (*Server, error) {
	if timeout == 0 {
		timeout = c.timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	var (
		leader *Server
		last   = "no running server"
	)
	check := func() bool {
		var addr string
		for _, s := range c.Servers {
			if !s.Running() {
				continue
			}
			body, ok := s.getJSON(hc, "/v1/status/leader")
			var a string
			if !ok || json.Unmarshal([]byte(body), &a) != nil || a == "" {
				last = s.NodeName + " knows no leader"
				return false
			}
			if addr != "" && a != addr {
				last = "servers disagree on the leader"
				return false
			}
			addr = a
		}
		for _, s := range c.Servers {
			if s.ServerAddr == addr && s.Running() {
				leader = s
				return true
			}
		}
		last = "leader " + addr + " is not a running server of the cluster"
		return false
	}
	if err := pollUntil(ctx, check, func() string { return last }); err != nil {
		return nil, fmt.Errorf("consultest: wait for leader: %w", err)
	}
	return leader, nil
}

// Followers returns the running servers that are not the leader now.
func (c *Cluster) Followers() ([]*Server, error) {
	leader, err := c.Leader()
	if err != nil {
		return nil, err
	}
	var out []*Server
	for _, s := range c.Servers {
		if s != leader && s.Running() {
			out = append(out, s)
		}
	}
	return out, nil
}

// HTTPAddrs returns the HTTP addresses of the servers, in order: pass the
// first as consul.Config.Address and the others as Config.Fallbacks.
func (c *Cluster) HTTPAddrs() []string {
	out := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		out[i] = s.HTTPAddr
	}
	return out
}

// Close stops every server and removes their data.
func (c *Cluster) Close() error {
	return closeAll(c.Servers)
}

func closeAll(servers []*Server) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range servers {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Federation is one single-server datacenter per name, joined over Serf
// WAN so that each can serve the others' requests (?dc=).
type Federation struct {
	// Servers are the datacenters' servers, in the order of the names
	// given; Servers[i] binds to 127.0.0.(i+1).
	Servers []*Server
}

// NewFederation starts a federation for the test (see StartFederation) and
// closes it when the test ends, writing the agents' logs to the test log
// when the test failed. It fails the test if the federation does not form.
func NewFederation(t testing.TB, dcs ...string) *Federation {
	t.Helper()
	f, err := StartFederation(dcs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range f.Servers {
				t.Logf("consultest: log of agent %s of %s (%s):\n%s", s.NodeName, s.Datacenter, s.Address, s.LogTail(100))
			}
		}
		if err := f.Close(); err != nil {
			t.Logf("consultest: %v", err)
		}
	})
	return f
}

// StartFederation starts one server per datacenter name (no names means
// "dc1" and "dc2"), the first on 127.0.0.1, the next on 127.0.0.2 and so
// on, each joining the first one's Serf WAN address (retry_join_wan) and
// probing the WAN every 500ms (Consul's default is 5s), and waits until
// every datacenter has a leader and lists all the datacenters (GET
// /v1/catalog/datacenters). Call Close when done.
func StartFederation(dcs ...string) (*Federation, error) {
	if len(dcs) == 0 {
		dcs = []string{"dc1", "dc2"}
	}
	if len(dcs) > 254 {
		return nil, fmt.Errorf("consultest: federation of %d datacenters: want at most 254", len(dcs))
	}
	seen := map[string]bool{}
	for _, dc := range dcs {
		if dc == "" || seen[dc] {
			return nil, fmt.Errorf("consultest: federation: empty or repeated datacenter %q", dc)
		}
		seen[dc] = true
	}
	const timeout = 60 * time.Second
	f := &Federation{Servers: make([]*Server, len(dcs))}
	member := func(i int, join []string) (*Server, error) {
		return Start(Config{
			Bind:         fmt.Sprintf("127.0.0.%d", i+1),
			Datacenter:   dcs[i],
			RetryJoinWAN: join,
			NoWait:       true,
			StartTimeout: timeout,
			// Probe the WAN every 500ms instead of 5s, so that WAN
			// coordinates and failures show within a second or two.
			Extra: map[string]any{"gossip_wan": map[string]any{"probe_interval": "500ms", "probe_timeout": "250ms"}},
		})
	}
	first, err := member(0, nil)
	if err != nil {
		return nil, err
	}
	f.Servers[0] = first
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := 1; i < len(dcs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := member(i, []string{first.SerfWANAddr})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			f.Servers[i] = s
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		f.Close()
		return nil, errors.Join(errs...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	want := slices.Sorted(slices.Values(dcs))
	hc := &http.Client{Timeout: 2 * time.Second}
	var last string
	check := func() bool {
		for _, s := range f.Servers {
			l, ok := s.getJSON(hc, "/v1/status/leader")
			if !ok || l == `""` {
				last = s.Datacenter + " has no leader"
				return false
			}
			node, ok := s.getJSON(hc, "/v1/health/node/"+s.NodeName)
			if !ok || !strings.Contains(node, "serfHealth") {
				last = s.Datacenter + " has not registered its node"
				return false
			}
			body, ok := s.getJSON(hc, "/v1/catalog/datacenters")
			var got []string
			if !ok || json.Unmarshal([]byte(body), &got) != nil {
				last = s.Datacenter + ": datacenters unreadable"
				return false
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				last = fmt.Sprintf("%s sees datacenters %v", s.Datacenter, got)
				return false
			}
		}
		return true
	}
	if err := pollUntil(ctx, check, func() string { return last }); err != nil {
		tails := ""
		for _, s := range f.Servers {
			tails += fmt.Sprintf("\n--- %s of %s (%s):\n%s", s.NodeName, s.Datacenter, s.Address, s.LogTail(20))
		}
		f.Close()
		return nil, fmt.Errorf("consultest: federation of %v: %w%s", dcs, err, tails)
	}
	return f, nil
}

// Server returns the server of datacenter dc, or nil.
func (f *Federation) Server(dc string) *Server {
	for _, s := range f.Servers {
		if s.Datacenter == dc {
			return s
		}
	}
	return nil
}

// Close stops every server and removes their data.
func (f *Federation) Close() error {
	return closeAll(f.Servers)
}
