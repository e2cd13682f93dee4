package consul_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

const membersTestBody = `[{"Name":"node1","Addr":"127.0.0.1","Port":8301,
 "Tags":{"build":"1.19.2:","dc":"dc1","role":"consul","vsn":"2","port":"8300"},
 "Status":1,"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4},
 {"Name":"node2","Addr":"127.0.0.2","Port":8301,"Tags":{"role":"node"},"Status":4,
 "ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}]`

func TestMembersListWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: membersTestBody})
	list, _, err := c.Members.List(ctx)
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/members", nil)
	require.Len(t, list, 2)
	require.Equal(t, consul.AgentMember{Name: "node1", Addr: "127.0.0.1", Port: 8301,
		Tags:   map[string]string{"build": "1.19.2:", "dc": "dc1", "role": "consul", "vsn": "2", "port": "8300"},
		Status: consul.MemberAlive, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2,
		DelegateMin: 2, DelegateMax: 5, DelegateCur: 4}, *list[0])
	require.Equal(t, consul.MemberFailed, list[1].Status)
	require.Equal(t, "failed", list[1].Status.String())

	w, c = newWire(t, reply{Body: `[]`})
	list, _, err = c.Members.List(ctx, consul.MembersWAN(), consul.Filter(`Status == 1`))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/members", q("wan", "1", "filter", "Status == 1"))
	require.NotNil(t, list)
	require.Empty(t, list)

	w, c = newWire(t, reply{Body: `[]`})
	_, _, err = c.Members.List(ctx, consul.MembersSegment("_all"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/members", q("segment", "_all"))
}

func TestMembersJoinLeaveWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{})
	require.NoError(t, c.Members.Join(ctx, "10.11.12.13:8301"))
	w.only(t).expect(t, "PUT", "/v1/agent/join/10.11.12.13:8301", nil)

	w, c = newWire(t, reply{})
	require.NoError(t, c.Members.Join(ctx, "[::1]:8302", consul.MembersWAN()))
	w.only(t).expect(t, "PUT", "/v1/agent/join/%5B::1%5D:8302", q("wan", "1"))

	w, c = newWire(t, reply{})
	require.NoError(t, c.Members.Leave(ctx, consul.Token("t")))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/agent/leave", nil)
	require.Equal(t, "t", s.Header.Get("X-Consul-Token"))

	w, c = newWire(t, reply{})
	require.NoError(t, c.Members.ForceLeave(ctx, "my-node"))
	w.only(t).expect(t, "PUT", "/v1/agent/force-leave/my-node", nil)

	w, c = newWire(t, reply{})
	require.NoError(t, c.Members.ForceLeave(ctx, "my-node.dc2", consul.MembersPrune(), consul.MembersWAN()))
	w.only(t).expect(t, "PUT", "/v1/agent/force-leave/my-node.dc2", q("prune", "", "wan", "1"))

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	require.ErrorIs(t, c.Members.ForceLeave(ctx, "x"), consul.ErrPermissionDenied)

	w, c = newWire(t)
	checksTestArgError(t, c.Members.Join(ctx, ""), "address")
	checksTestArgError(t, c.Members.ForceLeave(ctx, ""), "node")
	w.noRequest(t)
}

func TestMembersIntegrationShared(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	require.NoError(t, c.Members.Join(ctx, srv.SerfLANAddr), "joining its own LAN address")
	list, _, err := c.Members.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	me := list[0]
	require.Equal(t, srv.NodeName, me.Name)
	require.Equal(t, consul.MemberAlive, me.Status)
	require.Equal(t, "consul", me.Tags["role"])
	require.Equal(t, "127.0.0.1", me.Addr)

	require.NoError(t, c.Members.Join(ctx, srv.SerfWANAddr, consul.MembersWAN()))
	wan, _, err := c.Members.List(ctx, consul.MembersWAN())
	require.NoError(t, err)
	require.Len(t, wan, 1)
	require.Equal(t, srv.NodeName+"."+srv.Datacenter, wan[0].Name, "WAN members are name.dc")

	none, _, err := c.Members.List(ctx, consul.Filter(`Name == "nobody"`))
	require.NoError(t, err)
	require.Empty(t, none)

	err = c.Members.Join(ctx, "127.0.0.1:1")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se, "joining nothing fails")

	err = c.Members.ForceLeave(ctx, "no-such-node")
	require.ErrorAs(t, err, &se, "force-leave of an unknown node fails")
}

// TestMembersIntegrationCluster joins a client agent to a private server,
// force-leaves it once it is gone, then makes the server leave.
func TestMembersIntegrationCluster(t *testing.T) {
	server := consultest.NewServer(t, consultest.Config{})
	client := consultest.NewServer(t, consultest.Config{
		Bind: "127.0.0.2", NoWait: true,
		Extra: map[string]any{"server": false, "bootstrap_expect": 0},
	})
	c := newClient(t, server)
	ctx := testCtx(t)

	cc := newClient(t, client)
	require.NoError(t, cc.Members.Join(ctx, server.SerfLANAddr))
	require.Eventually(t, func() bool {
		list, _, err := c.Members.List(ctx)
		if err != nil {
			return false
		}
		for _, m := range list {
			if m.Name == client.NodeName && m.Status == consul.MemberAlive && m.Tags["role"] == "node" {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "the server sees the client")

	require.NoError(t, client.Kill())
	require.NoError(t, c.Members.ForceLeave(ctx, client.NodeName, consul.MembersPrune()))
	require.Eventually(t, func() bool {
		list, _, err := c.Members.List(ctx)
		if err != nil {
			return false
		}
		for _, m := range list {
			if m.Name == client.NodeName {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "the pruned client is gone")

	require.NoError(t, c.Members.Leave(ctx))
	require.Eventually(t, func() bool { return !server.Running() }, 30*time.Second, 100*time.Millisecond,
		"the agent exits after leaving")
}

// List the servers of every datacenter, then the local LAN members.
func ExampleMembersService_List() {
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	wan, _, err := client.Members.List(ctx, consul.MembersWAN())
	if err != nil {
		log.Fatal(err)
	}
	lan, _, err := client.Members.List(ctx, consul.Filter(`Status == 1`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(wan), "servers,", len(lan), "alive LAN members")
}
