package consultest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// clusterGetJSON GETs path from srv and decodes the JSON answer into out.
func clusterGetJSON(t *testing.T, srv *consultest.Server, path string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr+path, nil)
	require.NoError(t, err)
	if srv.ManagementToken != "" {
		req.Header.Set("X-Consul-Token", srv.ManagementToken)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, b)
	require.NoError(t, json.Unmarshal(b, out), "GET %s: %s", path, b)
}

func TestClusterOfThree(t *testing.T) {
	start := time.Now()
	c := consultest.NewCluster(t, 3, consultest.Config{})
	t.Logf("3-server cluster ready in %s", time.Since(start))
	require.Len(t, c.Servers, 3)
	require.Equal(t, "dc1", c.Datacenter)

	for i, s := range c.Servers {
		require.Equal(t, fmt.Sprintf("127.0.0.%d", i+1), s.HTTPAddr[:len("127.0.0.1")], "distinct loopback IPs")
		require.True(t, s.Running())
		require.Equal(t, s.HTTPAddr, c.HTTPAddrs()[i])
	}

	// Every server lists the three Raft peers, and agrees on the leader.
	want := []string{c.Servers[0].ServerAddr, c.Servers[1].ServerAddr, c.Servers[2].ServerAddr}
	slices.Sort(want)
	leader, err := c.Leader()
	require.NoError(t, err)
	for _, s := range c.Servers {
		var peers []string
		clusterGetJSON(t, s, "/v1/status/peers", &peers)
		slices.Sort(peers)
		require.Equal(t, want, peers, "peers seen by %s", s.NodeName)
		var l string
		clusterGetJSON(t, s, "/v1/status/leader", &l)
		require.Equal(t, leader.ServerAddr, l)
	}

	// The two other servers are the followers.
	followers, err := c.Followers()
	require.NoError(t, err)
	require.Len(t, followers, 2)
	require.NotContains(t, followers, leader)

	// Stopping the leader elects another one among the two left.
	require.NoError(t, leader.Stop())
	next, err := c.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	require.NotSame(t, leader, next)
	require.Contains(t, followers, next)
	got, err := c.Leader()
	require.NoError(t, err)
	require.Same(t, next, got)

	// The old leader comes back on its ports and data, rejoins and follows.
	require.NoError(t, leader.Start())
	deadline := time.Now().Add(30 * time.Second)
	for {
		var l string
		var members []struct {
			Name   string
			Status int
		}
		clusterGetJSON(t, leader, "/v1/status/leader", &l)
		clusterGetJSON(t, leader, "/v1/agent/members", &members)
		alive := 0
		for _, m := range members {
			if m.Status == 1 {
				alive++
			}
		}
		if l == next.ServerAddr && alive == 3 {
			break
		}
		require.False(t, time.Now().After(deadline), "restarted %s: leader %q, %d alive members", leader.NodeName, l, alive)
		time.Sleep(100 * time.Millisecond)
	}
}

func TestClusterNodeNamesAndACL(t *testing.T) {
	c := consultest.NewCluster(t, 2, consultest.Config{NodeName: "acl", ACL: true})
	require.Equal(t, "acl-1", c.Servers[0].NodeName)
	require.Equal(t, "acl-2", c.Servers[1].NodeName)
	require.NotEmpty(t, c.Servers[0].ManagementToken)
	require.Equal(t, c.Servers[0].ManagementToken, c.Servers[1].ManagementToken, "one management token for the cluster")

	var nodes []struct{ Node string }
	clusterGetJSON(t, c.Servers[1], "/v1/catalog/nodes", &nodes)
	var names []string
	for _, n := range nodes {
		names = append(names, n.Node)
	}
	require.ElementsMatch(t, []string{"acl-1", "acl-2"}, names)
}

func TestStartClusterRefusesBadSize(t *testing.T) {
	_, err := consultest.StartCluster(0, consultest.Config{})
	require.ErrorContains(t, err, "want 1 to 254")
}

func TestFederationOfTwo(t *testing.T) {
	start := time.Now()
	f := consultest.NewFederation(t)
	t.Logf("federation ready in %s", time.Since(start))
	require.Len(t, f.Servers, 2)
	dc1, dc2 := f.Server("dc1"), f.Server("dc2")
	require.NotNil(t, dc1)
	require.NotNil(t, dc2)
	require.Nil(t, f.Server("dc3"))

	for _, s := range f.Servers {
		var dcs []string
		clusterGetJSON(t, s, "/v1/catalog/datacenters", &dcs)
		require.ElementsMatch(t, []string{"dc1", "dc2"}, dcs)
	}
	// dc1's agent answers for dc2 over the WAN.
	var nodes []struct {
		Node       string
		Datacenter string
	}
	clusterGetJSON(t, dc1, "/v1/catalog/nodes?dc=dc2", &nodes)
	require.Len(t, nodes, 1)
	require.Equal(t, dc2.NodeName, nodes[0].Node)
	require.Equal(t, "dc2", nodes[0].Datacenter)
}

func TestStartFederationRefusesRepeatedNames(t *testing.T) {
	_, err := consultest.StartFederation("a", "a")
	require.ErrorContains(t, err, "repeated")
}
