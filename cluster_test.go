package consul_test

import (
	"slices"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// clusterEventually retries f every 100ms until it returns true or timeout
// passes, then fails the test with msg.
func clusterEventually(t *testing.T, timeout time.Duration, f func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clusterRaftServer returns the server of conf at Raft address addr, or nil.
func clusterRaftServer(conf *consul.RaftConfiguration, addr string) *consul.RaftServer {
	for _, s := range conf.Servers {
		if s.Address == addr {
			return s
		}
	}
	return nil
}

// clusterMember returns the member named name, or nil.
func clusterMember(ms []*consul.AgentMember, name string) *consul.AgentMember {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// TestClusterThreeServers runs the multi-server scenarios on one cluster of
// three servers on 127.0.0.1-3: Raft configuration, leader transfer,
// autopilot health of a stopped server, Raft peer removal.
func TestClusterThreeServers(t *testing.T) {
	cl := consultest.NewCluster(t, 3, consultest.Config{})
	ctx := testCtx(t)
	clients := make(map[*consultest.Server]*consul.Client, 3)
	for _, s := range cl.Servers {
		clients[s] = newClient(t, s)
	}
	leader, err := cl.Leader()
	require.NoError(t, err)

	// The Raft configuration shows three voters and the leader, the same
	// from every server.
	var conf *consul.RaftConfiguration
	for _, s := range cl.Servers {
		conf, _, err = clients[s].Operator.RaftConfiguration(ctx)
		require.NoError(t, err)
		require.Len(t, conf.Servers, 3, "seen by %s", s.NodeName)
		for _, srv := range cl.Servers {
			rs := clusterRaftServer(conf, srv.ServerAddr)
			require.NotNil(t, rs, "%s in the configuration", srv.NodeName)
			require.Equal(t, srv.NodeName, rs.Node)
			require.True(t, rs.Voter, "%s is a voter", srv.NodeName)
			require.Equal(t, srv == leader, rs.Leader, "%s leader flag", srv.NodeName)
		}
	}
	// Every server lists the three servers as alive LAN members.
	for _, s := range cl.Servers {
		ms, _, err := clients[s].Members.List(ctx)
		require.NoError(t, err)
		require.Len(t, ms, 3, "members seen by %s", s.NodeName)
		for _, srv := range cl.Servers {
			m := clusterMember(ms, srv.NodeName)
			require.NotNil(t, m, "%s is a member", srv.NodeName)
			require.Equal(t, consul.MemberAlive, m.Status, "%s is alive", srv.NodeName)
			require.Equal(t, "consul", m.Tags["role"], "%s is a server", srv.NodeName)
			require.Equal(t, "dc1", m.Tags["dc"])
		}
	}

	ids := make(map[*consultest.Server]string, 3)
	for _, srv := range cl.Servers {
		ids[srv] = clusterRaftServer(conf, srv.ServerAddr).ID
	}

	// Autopilot must not remove the stopped server by itself below, so that
	// the peer removal is ours.
	ap, _, err := clients[leader].Operator.AutopilotConfiguration(ctx)
	require.NoError(t, err)
	ap.CleanupDeadServers = false
	require.NoError(t, clients[leader].Operator.SetAutopilotConfiguration(ctx, ap))

	// Transfer leadership to a chosen follower, asking through a server
	// that is not the target; status/leader then names the target
	// everywhere.
	followers, err := cl.Followers()
	require.NoError(t, err)
	require.Len(t, followers, 2)
	target := followers[0]
	require.NoError(t, clients[followers[1]].Operator.TransferLeader(ctx, ids[target]))
	for _, s := range cl.Servers {
		clusterEventually(t, 10*time.Second, func() bool {
			l, _, err := clients[s].Status.Leader(ctx)
			return err == nil && l == target.ServerAddr
		}, "%s does not report %s as the new leader", s.NodeName, target.NodeName)
	}
	got, err := cl.Leader()
	require.NoError(t, err)
	require.Same(t, target, got)
	conf, _, err = clients[target].Operator.RaftConfiguration(ctx)
	require.NoError(t, err)
	require.True(t, clusterRaftServer(conf, target.ServerAddr).Leader)
	require.False(t, clusterRaftServer(conf, leader.ServerAddr).Leader)
	leader = target

	// Stop a follower: autopilot reports it unhealthy, and Consul's 429
	// answer is read as a result.
	var victim *consultest.Server
	for _, s := range cl.Servers {
		if s != leader {
			victim = s
			break
		}
	}
	require.NoError(t, victim.Stop())
	lc := clients[leader]
	var health *consul.AutopilotHealth
	clusterEventually(t, 20*time.Second, func() bool {
		health, _, err = lc.Operator.AutopilotHealth(ctx)
		require.NoError(t, err, "an unhealthy cluster answers 429 with a body")
		if health.Healthy {
			return false
		}
		for _, s := range health.Servers {
			if s.ID == ids[victim] {
				return !s.Healthy
			}
		}
		return false
	}, "autopilot never reported %s unhealthy", victim.NodeName)
	require.Len(t, health.Servers, 3)
	require.Zero(t, health.FailureTolerance)

	// A client whose first agent is the stopped server fails over to the
	// others, for the operator calls too.
	var others []string
	for _, s := range cl.Servers {
		if s != victim {
			others = append(others, s.HTTPAddr)
		}
	}
	fo, err := consul.NewClient(consul.Config{Address: victim.HTTPAddr, Fallbacks: others})
	require.NoError(t, err)
	h2, _, err := fo.Operator.AutopilotHealth(ctx)
	require.NoError(t, err)
	require.False(t, h2.Healthy)
	conf, _, err = fo.Operator.RaftConfiguration(ctx)
	require.NoError(t, err)
	require.Len(t, conf.Servers, 3)

	// Removing the stopped server's Raft peer takes it out of the
	// configuration; the two others keep quorum and the leader.
	require.NoError(t, lc.Operator.RemoveRaftPeerByID(ctx, ids[victim]))
	clusterEventually(t, 10*time.Second, func() bool {
		conf, _, err = lc.Operator.RaftConfiguration(ctx)
		return err == nil && len(conf.Servers) == 2
	}, "the removed peer is still in the Raft configuration")
	require.Nil(t, clusterRaftServer(conf, victim.ServerAddr))
	require.NotNil(t, clusterRaftServer(conf, leader.ServerAddr))
	require.True(t, clusterRaftServer(conf, leader.ServerAddr).Leader)
	peers, _, err := lc.Status.Peers(ctx)
	require.NoError(t, err)
	require.False(t, slices.Contains(peers, victim.ServerAddr), "status/peers: %v", peers)

	// A second removal of the same peer is Consul's error.
	require.Error(t, lc.Operator.RemoveRaftPeerByAddress(ctx, victim.ServerAddr))

	// Force-leave marks the stopped server left in the gossip pool. (It
	// comes after the peer removal: once a server is left, Consul's leader
	// removes its Raft peer by itself, which would race with ours.)
	require.NoError(t, lc.Members.ForceLeave(ctx, victim.NodeName))
	clusterEventually(t, 20*time.Second, func() bool {
		ms, _, err := lc.Members.List(ctx)
		require.NoError(t, err)
		m := clusterMember(ms, victim.NodeName)
		return m != nil && m.Status == consul.MemberLeft
	}, "%s is not marked left after force-leave", victim.NodeName)
	ms, _, err := lc.Members.List(ctx)
	require.NoError(t, err)
	for _, s := range cl.Servers {
		if s != victim {
			require.Equal(t, consul.MemberAlive, clusterMember(ms, s.NodeName).Status, "%s stays alive", s.NodeName)
		}
	}
}

// TestClusterTwoDatacenters runs the multi-datacenter scenarios on one
// federation of dc1 and dc2 (one server each, joined over the WAN): every
// read with Datacenter("dc2") through dc1's agent is answered by dc2.
func TestClusterTwoDatacenters(t *testing.T) {
	fed := consultest.NewFederation(t, "dc1", "dc2")
	dc1, dc2 := fed.Server("dc1"), fed.Server("dc2")
	c := newClient(t, dc1)
	ctx := testCtx(t)

	// The catalog lists both datacenters, from either side.
	for _, s := range fed.Servers {
		dcs, _, err := newClient(t, s).Catalog.ListDatacenters(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"dc1", "dc2"}, dcs, "datacenters seen from %s", s.Datacenter)
	}

	// A catalog read with Datacenter("dc2") through dc1's agent returns
	// dc2's nodes; without it, dc1's.
	nodes, _, err := c.Catalog.ListNodes(ctx, consul.Datacenter("dc2"))
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	require.Equal(t, dc2.NodeName, nodes[0].Node)
	require.Equal(t, "dc2", nodes[0].Datacenter)
	nodes, _, err = c.Catalog.ListNodes(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	require.Equal(t, dc1.NodeName, nodes[0].Node)
	require.Equal(t, "dc1", nodes[0].Datacenter)

	// Network coordinates list both datacenters with their server.
	clusterEventually(t, 20*time.Second, func() bool {
		maps, _, err := c.Coordinate.ListDatacenters(ctx)
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, m := range maps {
			for _, e := range m.Coordinates {
				if e.Coord != nil && (m.Datacenter == "dc1" && e.Node == dc1.NodeName || m.Datacenter == "dc2" && e.Node == dc2.NodeName) {
					seen[m.Datacenter] = true
				}
			}
		}
		return len(maps) == 2 && seen["dc1"] && seen["dc2"]
	}, "coordinate datacenters does not list both datacenters with their server")

	// Operator reads are forwarded to the other datacenter's servers.
	conf, _, err := c.Operator.RaftConfiguration(ctx, consul.Datacenter("dc2"))
	require.NoError(t, err)
	require.Len(t, conf.Servers, 1)
	require.Equal(t, dc2.NodeName, conf.Servers[0].Node)
	require.Equal(t, dc2.ServerAddr, conf.Servers[0].Address)
	conf, _, err = c.Operator.RaftConfiguration(ctx)
	require.NoError(t, err)
	require.Equal(t, dc1.NodeName, conf.Servers[0].Node)

	// Global usage counts both datacenters.
	u, _, err := c.Operator.Usage(ctx, consul.UsageGlobal())
	require.NoError(t, err)
	require.Contains(t, u.Usage, "dc1")
	require.Contains(t, u.Usage, "dc2")
	require.Equal(t, 1, u.Usage["dc2"].Nodes)
	u, _, err = c.Operator.Usage(ctx)
	require.NoError(t, err)
	require.NotContains(t, u.Usage, "dc2", "without global only the local datacenter")
}
