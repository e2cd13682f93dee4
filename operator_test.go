package consul_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Answers recorded from a Consul 1.19.2 agent.
const (
	operatorRaftConfigBody = `{"Servers":[{"ID":"fd7f2e35-770b-c2d4-e43e-28f91b7bbe41","Node":"node-a","Address":"127.0.0.1:34441","Leader":true,"ProtocolVersion":"3","Voter":true,"LastIndex":71},` +
		`{"ID":"0b5e6c1f-11a2-8c5e-7d1c-9a1b4f1f6f6e","Node":"node-b","Address":"127.0.0.2:34442","Leader":false,"ProtocolVersion":"3","Voter":false,"LastIndex":70}],"Index":66}`
	operatorAutopilotBody = `{"CleanupDeadServers":true,"LastContactThreshold":"200ms","MaxTrailingLogs":250,"MinQuorum":0,"ServerStabilizationTime":"10s","RedundancyZoneTag":"","DisableUpgradeMigration":false,"UpgradeVersionTag":"","CreateIndex":4,"ModifyIndex":9}`
	operatorHealthBody    = `{"Healthy":false,"FailureTolerance":0,"Servers":[{"ID":"fd7f2e35-770b-c2d4-e43e-28f91b7bbe41","Name":"node-a","Address":"127.0.0.1:34441","SerfStatus":"alive","Version":"1.19.2","Leader":true,"LastContact":"0s","LastTerm":1,"LastIndex":1,"Healthy":true,"Voter":true,"StableSince":"2026-11-21T22:32:52Z"},` +
		`{"ID":"0b5e6c1f-11a2-8c5e-7d1c-9a1b4f1f6f6e","Name":"node-b","Address":"127.0.0.2:34442","SerfStatus":"failed","Version":"1.19.2","Leader":false,"LastContact":"2.5s","LastTerm":1,"LastIndex":1,"Healthy":false,"Voter":true,"StableSince":"2026-11-21T22:33:10Z"}]}`
	operatorStateBody   = `{"Healthy":true,"FailureTolerance":0,"OptimisticFailureTolerance":0,"Servers":{"fd7f2e35-770b-c2d4-e43e-28f91b7bbe41":{"ID":"fd7f2e35-770b-c2d4-e43e-28f91b7bbe41","Name":"node-a","Address":"127.0.0.1:34441","NodeStatus":"alive","Version":"1.19.2","LastContact":"12ms","LastTerm":2,"LastIndex":30,"Healthy":true,"StableSince":"2026-11-21T22:32:52.139717414Z","ReadReplica":false,"Status":"leader","Meta":{"consul-version":"1.19.2"},"NodeType":"voter"}},"Leader":"fd7f2e35-770b-c2d4-e43e-28f91b7bbe41","Voters":["fd7f2e35-770b-c2d4-e43e-28f91b7bbe41"]}`
	operatorKeyringBody = `[{"WAN":true,"Datacenter":"dc1","Segment":"","Keys":{"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=":1},"PrimaryKeys":{"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=":1},"NumNodes":1},` +
		`{"WAN":false,"Datacenter":"dc1","Segment":"","Keys":{"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=":3,"T9jncgl9mbLus+baTTduRAjGfyr4vUiRm7E1Z6uSkSE=":2},"PrimaryKeys":{"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=":3},"NumNodes":3}]`
	operatorUsageBody = `{"Usage":{"dc1":{"Services":1,"ServiceInstances":1,"ConnectServiceInstances":{"api-gateway":0,"connect-native":0,"connect-proxy":0,"ingress-gateway":0,"mesh-gateway":0,"terminating-gateway":0},"BillableServiceInstances":0,"Nodes":1}},"Index":12,"LastContact":0,"KnownLeader":true,"ConsistencyLevel":"leader","NotModified":false,"Backend":0,"ResultsFilteredByACLs":false}`

	operatorKey1 = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	operatorKey2 = "T9jncgl9mbLus+baTTduRAjGfyr4vUiRm7E1Z6uSkSE="
)

func operatorArgErr(t *testing.T, err error, arg string) {
	t.Helper()
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, arg, ae.Arg)
}

// --- wire tests ---

func TestOperatorRaftConfigurationWire(t *testing.T) {
	w, c := newWire(t, reply{Body: operatorRaftConfigBody, Header: map[string]string{"X-Consul-KnownLeader": "true"}})
	conf, meta, err := c.Operator.RaftConfiguration(testCtx(t), consul.Stale(), consul.Datacenter("dc2"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/operator/raft/configuration", q("stale", "", "dc", "dc2"))
	require.True(t, meta.KnownLeader)
	require.Equal(t, uint64(66), conf.Index)
	require.Len(t, conf.Servers, 2)
	require.Equal(t, &consul.RaftServer{
		ID: "fd7f2e35-770b-c2d4-e43e-28f91b7bbe41", Node: "node-a", Address: "127.0.0.1:34441",
		Leader: true, ProtocolVersion: "3", Voter: true, LastIndex: 71,
	}, conf.Servers[0])
	require.False(t, conf.Servers[1].Voter)
	require.Same(t, conf.Servers[0], conf.Leader())
	require.Nil(t, (&consul.RaftConfiguration{}).Leader())
}

func TestOperatorRaftRemovePeerWire(t *testing.T) {
	w, c := newWire(t, reply{})
	require.NoError(t, c.Operator.RemoveRaftPeerByID(testCtx(t), "0b5e6c1f-11a2", consul.Token("tok")))
	r := w.only(t)
	r.expect(t, "DELETE", "/v1/operator/raft/peer", q("id", "0b5e6c1f-11a2"))
	require.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	require.Empty(t, r.Body)

	w, c = newWire(t, reply{})
	require.NoError(t, c.Operator.RemoveRaftPeerByAddress(testCtx(t), "127.0.0.2:8300"))
	w.only(t).expect(t, "DELETE", "/v1/operator/raft/peer", q("address", "127.0.0.2:8300"))

	_, c = newWire(t, reply{Status: 500, Body: `id "x" was not found in the Raft configuration`})
	err := c.Operator.RemoveRaftPeerByID(testCtx(t), "x")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 500, se.StatusCode)
	require.Contains(t, se.Body, "not found in the Raft configuration")
}

func TestOperatorRaftRemovePeerRefusesBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	operatorArgErr(t, c.Operator.RemoveRaftPeerByID(ctx, ""), "id")
	operatorArgErr(t, c.Operator.RemoveRaftPeerByAddress(ctx, ""), "address")
	operatorArgErr(t, c.Operator.RemoveRaftPeerByAddress(ctx, "127.0.0.1"), "address")
	operatorArgErr(t, c.Operator.RemoveRaftPeerByAddress(ctx, "127.0.0.1:"), "address")
	w.noRequest(t)
}

func TestOperatorRaftTransferLeaderWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"Success":true}`})
	require.NoError(t, c.Operator.TransferLeader(testCtx(t), ""))
	r := w.only(t)
	r.expect(t, "POST", "/v1/operator/raft/transfer-leader", nil)
	require.Empty(t, r.Body)

	w, c = newWire(t, reply{Body: `{"Success":true}`})
	require.NoError(t, c.Operator.TransferLeader(testCtx(t), "0b5e6c1f-11a2"))
	w.only(t).expect(t, "POST", "/v1/operator/raft/transfer-leader", q("id", "0b5e6c1f-11a2"))

	_, c = newWire(t, reply{Body: `{"Success":false}`})
	require.ErrorContains(t, c.Operator.TransferLeader(testCtx(t), ""), "did not succeed")

	_, c = newWire(t, reply{Status: 500, Body: "cannot find peer"})
	var se *consul.StatusError
	require.ErrorAs(t, c.Operator.TransferLeader(testCtx(t), "nope"), &se)
	require.Equal(t, "cannot find peer", se.Body)
}

func TestOperatorAutopilotConfigurationWire(t *testing.T) {
	w, c := newWire(t, reply{Body: operatorAutopilotBody})
	conf, _, err := c.Operator.AutopilotConfiguration(testCtx(t), consul.Stale())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/operator/autopilot/configuration", q("stale", ""))
	require.Equal(t, &consul.AutopilotConfiguration{
		CleanupDeadServers:      true,
		LastContactThreshold:    200 * time.Millisecond,
		MaxTrailingLogs:         250,
		ServerStabilizationTime: 10 * time.Second,
		CreateIndex:             4,
		ModifyIndex:             9,
	}, conf)
}

func TestOperatorSetAutopilotConfigurationWire(t *testing.T) {
	conf := &consul.AutopilotConfiguration{
		CleanupDeadServers:      false,
		LastContactThreshold:    1500 * time.Millisecond,
		MaxTrailingLogs:         300,
		MinQuorum:               3,
		ServerStabilizationTime: 2*time.Minute + 30*time.Second,
		UpgradeVersionTag:       "build",
		CreateIndex:             4,
		ModifyIndex:             9,
	}
	want := `{"CleanupDeadServers":false,"MaxTrailingLogs":300,"MinQuorum":3,"RedundancyZoneTag":"","DisableUpgradeMigration":false,"UpgradeVersionTag":"build","CreateIndex":4,"ModifyIndex":9,"LastContactThreshold":"1.5s","ServerStabilizationTime":"2m30s"}`

	w, c := newWire(t, reply{Body: "true"})
	require.NoError(t, c.Operator.SetAutopilotConfiguration(testCtx(t), conf))
	r := w.only(t)
	r.expect(t, "PUT", "/v1/operator/autopilot/configuration", nil)
	require.JSONEq(t, want, r.Body)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))

	w, c = newWire(t, reply{Body: "false"})
	ok, err := c.Operator.SetAutopilotConfigurationCAS(testCtx(t), conf, 9)
	require.NoError(t, err)
	require.False(t, ok)
	r = w.only(t)
	r.expect(t, "PUT", "/v1/operator/autopilot/configuration", q("cas", "9"))
	require.JSONEq(t, want, r.Body)

	_, c = newWire(t, reply{Body: "true"})
	ok, err = c.Operator.SetAutopilotConfigurationCAS(testCtx(t), conf, 0)
	require.NoError(t, err)
	require.True(t, ok)

	// The configuration round-trips through its JSON form.
	b, err := json.Marshal(conf)
	require.NoError(t, err)
	var back consul.AutopilotConfiguration
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, *conf, back)
}

func TestOperatorSetAutopilotConfigurationRefusesBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	operatorArgErr(t, c.Operator.SetAutopilotConfiguration(ctx, nil), "conf")
	operatorArgErr(t, c.Operator.SetAutopilotConfiguration(ctx, &consul.AutopilotConfiguration{LastContactThreshold: -time.Second}),
		"AutopilotConfiguration.LastContactThreshold")
	_, err := c.Operator.SetAutopilotConfigurationCAS(ctx, &consul.AutopilotConfiguration{ServerStabilizationTime: -1}, 3)
	operatorArgErr(t, err, "AutopilotConfiguration.ServerStabilizationTime")
	w.noRequest(t)
}

func TestOperatorAutopilotHealthWire(t *testing.T) {
	// Consul answers 429 with the JSON body when a server is unhealthy.
	w, c := newWire(t, reply{Status: 429, Body: operatorHealthBody, Header: map[string]string{"Content-Type": "application/json"}})
	h, meta, err := c.Operator.AutopilotHealth(testCtx(t), consul.Datacenter("dc2"))
	require.NoError(t, err)
	require.NotNil(t, meta)
	w.only(t).expect(t, "GET", "/v1/operator/autopilot/health", q("dc", "dc2"))
	require.False(t, h.Healthy)
	require.Len(t, h.Servers, 2)
	require.Equal(t, consul.AutopilotServerHealth{
		ID: "0b5e6c1f-11a2-8c5e-7d1c-9a1b4f1f6f6e", Name: "node-b", Address: "127.0.0.2:34442",
		SerfStatus: "failed", Version: "1.19.2", LastContact: 2500 * time.Millisecond,
		LastTerm: 1, LastIndex: 1, Voter: true,
		StableSince: time.Date(2026, 11, 21, 22, 33, 10, 0, time.UTC),
	}, h.Servers[1])
	require.True(t, h.Servers[0].Leader)

	// A healthy cluster answers 200.
	_, c = newWire(t, reply{Body: `{"Healthy":true,"FailureTolerance":1,"Servers":[]}`, Header: map[string]string{"Content-Type": "application/json"}})
	h, _, err = c.Operator.AutopilotHealth(testCtx(t))
	require.NoError(t, err)
	require.True(t, h.Healthy)
	require.Equal(t, 1, h.FailureTolerance)

	// A 429 of the rate limiter, without JSON, stays an error.
	_, c = newWire(t, reply{Status: 429, Body: "rate limit exceeded, try again later or try a different server\n", Header: map[string]string{"Content-Type": "text/plain"}})
	h, _, err = c.Operator.AutopilotHealth(testCtx(t))
	require.Nil(t, h)
	require.ErrorIs(t, err, consul.ErrRateLimited)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "rate limit exceeded, try again later or try a different server", se.Body)
	require.Equal(t, "/v1/operator/autopilot/health", se.Path)

	// Other errors stay errors.
	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	_, _, err = c.Operator.AutopilotHealth(testCtx(t))
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestOperatorAutopilotStateWire(t *testing.T) {
	w, c := newWire(t, reply{Body: operatorStateBody})
	st, _, err := c.Operator.AutopilotState(testCtx(t), consul.Stale())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/operator/autopilot/state", q("stale", ""))
	id := "fd7f2e35-770b-c2d4-e43e-28f91b7bbe41"
	require.True(t, st.Healthy)
	require.Equal(t, id, st.Leader)
	require.Equal(t, []string{id}, st.Voters)
	require.Nil(t, st.Upgrade)
	require.Equal(t, consul.AutopilotServer{
		ID: id, Name: "node-a", Address: "127.0.0.1:34441", NodeStatus: "alive", Version: "1.19.2",
		LastContact: 12 * time.Millisecond, LastTerm: 2, LastIndex: 30, Healthy: true,
		StableSince: time.Date(2026, 11, 21, 22, 32, 52, 139717414, time.UTC),
		Status:      consul.AutopilotServerLeader, Meta: map[string]string{"consul-version": "1.19.2"},
		NodeType: consul.AutopilotTypeVoter,
	}, st.Servers[id])
}

func TestOperatorKeyringListWire(t *testing.T) {
	w, c := newWire(t, reply{Body: operatorKeyringBody})
	rs, _, err := c.Operator.ListKeys(testCtx(t), consul.KeyringLocalOnly(), consul.KeyringRelayFactor(3), consul.Token("tok"))
	require.NoError(t, err)
	r := w.only(t)
	r.expect(t, "GET", "/v1/operator/keyring", q("local-only", "true", "relay-factor", "3"))
	require.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	require.Len(t, rs, 2)
	require.True(t, rs[0].WAN)
	require.Equal(t, &consul.KeyringResponse{
		Datacenter:  "dc1",
		Keys:        map[string]int{operatorKey1: 3, operatorKey2: 2},
		PrimaryKeys: map[string]int{operatorKey1: 3},
		NumNodes:    3,
	}, rs[1])

	_, c = newWire(t, reply{Body: `null`})
	rs, _, err = c.Operator.ListKeys(testCtx(t))
	require.NoError(t, err)
	require.NotNil(t, rs)
	require.Empty(t, rs)
}

func TestOperatorKeyringWritesWire(t *testing.T) {
	for _, tc := range []struct {
		method string
		call   func(c *consul.Client) error
	}{
		{"POST", func(c *consul.Client) error {
			return c.Operator.InstallKey(testCtx(t), operatorKey2, consul.KeyringRelayFactor(0))
		}},
		{"PUT", func(c *consul.Client) error {
			return c.Operator.UseKey(testCtx(t), operatorKey2, consul.KeyringRelayFactor(0))
		}},
		{"DELETE", func(c *consul.Client) error {
			return c.Operator.RemoveKey(testCtx(t), operatorKey2, consul.KeyringRelayFactor(0))
		}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			w, c := newWire(t, reply{})
			require.NoError(t, tc.call(c))
			r := w.only(t)
			r.expect(t, tc.method, "/v1/operator/keyring", q("relay-factor", "0"))
			require.JSONEq(t, `{"Key":"`+operatorKey2+`"}`, r.Body)
		})
	}
}

func TestOperatorKeyringRefusesBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	operatorArgErr(t, c.Operator.InstallKey(ctx, ""), "key")
	operatorArgErr(t, c.Operator.InstallKey(ctx, "not base64!"), "key")
	operatorArgErr(t, c.Operator.UseKey(ctx, "c2hvcnQ="), "key") // 5 bytes
	operatorArgErr(t, c.Operator.RemoveKey(ctx, operatorKey1, consul.KeyringLocalOnly()), "option KeyringLocalOnly")
	operatorArgErr(t, c.Operator.InstallKey(ctx, operatorKey1, consul.KeyringRelayFactor(6)), "relay-factor")
	_, _, err := c.Operator.ListKeys(ctx, consul.KeyringRelayFactor(-1))
	operatorArgErr(t, err, "relay-factor")
	w.noRequest(t)
	// 16 and 24-byte keys are valid AES keys.
	_, c = newWire(t, reply{})
	require.NoError(t, c.Operator.InstallKey(ctx, "AAECAwQFBgcICQoLDA0ODw=="))
	require.NoError(t, c.Operator.InstallKey(ctx, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"))
}

func TestOperatorUsageWire(t *testing.T) {
	w, c := newWire(t, reply{Body: operatorUsageBody, Header: map[string]string{"X-Consul-Index": "12"}})
	u, meta, err := c.Operator.Usage(testCtx(t), consul.UsageGlobal(), consul.WaitIndex(7), consul.WaitTime(time.Second))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/operator/usage", q("global", "", "index", "7", "wait", "1s"))
	require.Equal(t, uint64(12), meta.Index)
	require.Equal(t, consul.OperatorServiceUsage{
		Nodes: 1, Services: 1, ServiceInstances: 1,
		ConnectServiceInstances: map[string]int{
			"api-gateway": 0, "connect-native": 0, "connect-proxy": 0,
			"ingress-gateway": 0, "mesh-gateway": 0, "terminating-gateway": 0,
		},
	}, u.Usage["dc1"])
}

// --- integration tests ---

func TestOperatorRaftConfiguration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	conf, _, err := c.Operator.RaftConfiguration(testCtx(t))
	require.NoError(t, err)
	require.Len(t, conf.Servers, 1)
	s := conf.Servers[0]
	require.Equal(t, srv.NodeName, s.Node)
	require.Equal(t, srv.ServerAddr, s.Address)
	require.True(t, s.Leader)
	require.True(t, s.Voter)
	require.NotEmpty(t, s.ID)
	require.Equal(t, "3", s.ProtocolVersion)
	require.Same(t, s, conf.Leader())

	// Stale reads are served too.
	conf, _, err = c.Operator.RaftConfiguration(testCtx(t), consul.Stale())
	require.NoError(t, err)
	require.Len(t, conf.Servers, 1)

	// An unknown datacenter is an error.
	_, _, err = c.Operator.RaftConfiguration(testCtx(t), consul.Datacenter("nowhere"))
	require.Error(t, err)
}

func TestOperatorRaftErrorsOnSingleServer(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	var se *consul.StatusError

	err := c.Operator.RemoveRaftPeerByID(ctx, consultest.NewUUID())
	require.ErrorAs(t, err, &se)
	require.Contains(t, se.Body, "not found in the Raft configuration")

	err = c.Operator.RemoveRaftPeerByAddress(ctx, "127.0.0.1:1")
	require.ErrorAs(t, err, &se)
	require.Contains(t, se.Body, "not found in the Raft configuration")

	// A lone server has nobody to hand leadership to.
	err = c.Operator.TransferLeader(ctx, "")
	require.ErrorAs(t, err, &se)

	conf, _, err := c.Operator.RaftConfiguration(ctx)
	require.NoError(t, err)
	require.Len(t, conf.Servers, 1, "the only peer stays")
	require.True(t, conf.Servers[0].Leader)
}

func TestOperatorAutopilotConfiguration(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)

	conf, _, err := c.Operator.AutopilotConfiguration(ctx)
	require.NoError(t, err)
	require.True(t, conf.CleanupDeadServers)
	require.Equal(t, 200*time.Millisecond, conf.LastContactThreshold)
	require.Equal(t, 10*time.Second, conf.ServerStabilizationTime)
	require.Equal(t, uint64(250), conf.MaxTrailingLogs)
	require.NotZero(t, conf.ModifyIndex)

	// Set changes it.
	conf.LastContactThreshold = 750 * time.Millisecond
	conf.ServerStabilizationTime = 2*time.Minute + 30*time.Second
	conf.MaxTrailingLogs = 500
	conf.CleanupDeadServers = false
	require.NoError(t, c.Operator.SetAutopilotConfiguration(ctx, conf))
	got, _, err := c.Operator.AutopilotConfiguration(ctx)
	require.NoError(t, err)
	require.Equal(t, 750*time.Millisecond, got.LastContactThreshold)
	require.Equal(t, 150*time.Second, got.ServerStabilizationTime)
	require.Equal(t, uint64(500), got.MaxTrailingLogs)
	require.False(t, got.CleanupDeadServers)
	require.Greater(t, got.ModifyIndex, conf.ModifyIndex)

	// CAS with a stale index is refused; with the current one it applies.
	got.MinQuorum = 3
	ok, err := c.Operator.SetAutopilotConfigurationCAS(ctx, got, conf.ModifyIndex)
	require.NoError(t, err)
	require.False(t, ok, "stale index")
	again, _, err := c.Operator.AutopilotConfiguration(ctx)
	require.NoError(t, err)
	require.Zero(t, again.MinQuorum)

	ok, err = c.Operator.SetAutopilotConfigurationCAS(ctx, got, got.ModifyIndex)
	require.NoError(t, err)
	require.True(t, ok)
	again, _, err = c.Operator.AutopilotConfiguration(ctx, consul.Stale())
	require.NoError(t, err)
	require.Equal(t, uint(3), again.MinQuorum)
	require.Equal(t, 750*time.Millisecond, again.LastContactThreshold)
}

func TestOperatorAutopilotHealthAndState(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	conf, _, err := c.Operator.RaftConfiguration(ctx)
	require.NoError(t, err)
	id := conf.Servers[0].ID

	// A new server is unhealthy (429) until autopilot has checked it; both
	// answers decode. Wait, bounded, for the healthy one.
	var h *consul.AutopilotHealth
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, _, err = c.Operator.AutopilotHealth(ctx)
		require.NoError(t, err, "an unhealthy answer (429) is a result")
		require.Len(t, h.Servers, 1)
		if h.Healthy || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.True(t, h.Healthy)
	s := h.Servers[0]
	assert.Equal(t, id, s.ID)
	assert.Equal(t, srv.NodeName, s.Name)
	assert.Equal(t, srv.ServerAddr, s.Address)
	assert.Equal(t, "alive", s.SerfStatus)
	assert.Equal(t, srv.Version, s.Version, "autopilot reports the agent's own version")
	assert.True(t, s.Leader)
	assert.True(t, s.Voter)
	assert.True(t, s.Healthy)
	assert.False(t, s.StableSince.IsZero())

	st, _, err := c.Operator.AutopilotState(ctx)
	require.NoError(t, err)
	require.Equal(t, id, st.Leader)
	require.Equal(t, []string{id}, st.Voters)
	require.Contains(t, st.Servers, id)
	as := st.Servers[id]
	assert.Equal(t, srv.NodeName, as.Name)
	assert.Equal(t, srv.ServerAddr, as.Address)
	assert.Equal(t, "alive", as.NodeStatus)
	assert.Equal(t, consul.AutopilotServerLeader, as.Status)
	assert.Equal(t, consul.AutopilotTypeVoter, as.NodeType)
	assert.True(t, as.Healthy)
}

func TestOperatorKeyring(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{Extra: map[string]any{"encrypt": operatorKey1}})
	c := newClient(t, srv)
	ctx := testCtx(t)

	keys := func(opts ...consul.Option) (lan, wan *consul.KeyringResponse) {
		t.Helper()
		rs, _, err := c.Operator.ListKeys(ctx, opts...)
		require.NoError(t, err)
		for _, r := range rs {
			require.Equal(t, "dc1", r.Datacenter)
			require.Equal(t, 1, r.NumNodes)
			if r.WAN {
				wan = r
			} else {
				lan = r
			}
		}
		require.NotNil(t, lan)
		return lan, wan
	}

	lan, wan := keys()
	require.NotNil(t, wan, "the WAN pool answers too")
	require.Equal(t, map[string]int{operatorKey1: 1}, lan.Keys)
	require.Equal(t, map[string]int{operatorKey1: 1}, lan.PrimaryKeys)
	require.Equal(t, map[string]int{operatorKey1: 1}, wan.PrimaryKeys)

	lan, wan = keys(consul.KeyringLocalOnly())
	require.Nil(t, wan, "local-only skips the WAN pool")
	require.Equal(t, map[string]int{operatorKey1: 1}, lan.Keys)

	require.NoError(t, c.Operator.InstallKey(ctx, operatorKey2, consul.KeyringRelayFactor(1)))
	lan, _ = keys(consul.KeyringRelayFactor(2))
	require.Equal(t, map[string]int{operatorKey1: 1, operatorKey2: 1}, lan.Keys)
	require.Equal(t, map[string]int{operatorKey1: 1}, lan.PrimaryKeys)

	require.NoError(t, c.Operator.UseKey(ctx, operatorKey2))
	lan, wan = keys()
	require.Equal(t, map[string]int{operatorKey2: 1}, lan.PrimaryKeys)
	require.Equal(t, map[string]int{operatorKey2: 1}, wan.PrimaryKeys)

	// The primary key cannot be removed (Consul refuses it, with a message
	// that changes between versions, so only the refusal is checked) and
	// stays; the old one can.
	err := c.Operator.RemoveKey(ctx, operatorKey2)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusInternalServerError, se.StatusCode)
	assert.Equal(t, "DELETE", se.Method)
	lan, _ = keys()
	require.Equal(t, map[string]int{operatorKey2: 1}, lan.PrimaryKeys, "the refused removal changed nothing")
	require.Contains(t, lan.Keys, operatorKey2)

	require.NoError(t, c.Operator.RemoveKey(ctx, operatorKey1))
	lan, wan = keys()
	require.Equal(t, map[string]int{operatorKey2: 1}, lan.Keys)
	require.Equal(t, map[string]int{operatorKey2: 1}, wan.Keys)
}

func TestOperatorKeyringWithoutEncryption(t *testing.T) {
	c := newClient(t, testAgent(t))
	_, _, err := c.Operator.ListKeys(testCtx(t))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se, "an agent without gossip encryption has no keyring")
	require.False(t, errors.Is(err, consul.ErrNotFound))
}

func TestOperatorUsage(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	u, meta, err := c.Operator.Usage(ctx)
	require.NoError(t, err)
	require.NotZero(t, meta.Index)
	require.Contains(t, u.Usage, "dc1")
	dc1 := u.Usage["dc1"]
	require.GreaterOrEqual(t, dc1.Nodes, 1)
	require.GreaterOrEqual(t, dc1.Services, 1, "the consul service")
	require.GreaterOrEqual(t, dc1.ServiceInstances, dc1.Services)
	require.Contains(t, dc1.ConnectServiceInstances, "connect-proxy")

	u, _, err = c.Operator.Usage(ctx, consul.UsageGlobal())
	require.NoError(t, err)
	require.Contains(t, u.Usage, "dc1")

	// It blocks on the index until the wait ends (nothing changes a
	// single-agent usage count during a second, or it returns sooner with
	// a higher index).
	start := time.Now()
	_, meta2, err := c.Operator.Usage(ctx, consul.WaitIndex(meta.Index), consul.WaitTime(time.Second))
	require.NoError(t, err)
	if meta2.Index == meta.Index {
		require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "a blocking read waits")
	}
}

func TestOperatorUtilizationWire(t *testing.T) {
	bundle := `{"version":"1","snapshots":[{"metrics":{"consul.billable.nodes":1}}]}`
	w, c := newWire(t, reply{Body: bundle, Header: map[string]string{"Content-Disposition": `attachment; filename="consul-utilization-bundle.json"`}})
	got, meta, err := c.Operator.Utilization(testCtx(t), consul.UtilizationTodayOnly(), consul.UtilizationSendReport(),
		consul.UtilizationMessage("q3 report"), consul.Datacenter("dc2"))
	require.NoError(t, err)
	require.NotNil(t, meta)
	w.only(t).expect(t, "GET", "/v1/operator/utilization", q("today_only", "true", "send_report", "true", "message", "q3 report", "dc", "dc2"))
	assert.JSONEq(t, bundle, string(got), "the bundle is returned as sent")

	// Consul CE's refusal is an error matching ErrNotFound, with its reason.
	_, c = newWire(t, reply{Status: http.StatusNotFound, Body: "operator utilization requires Consul Enterprise"})
	got, _, err = c.Operator.Utilization(testCtx(t))
	require.ErrorIs(t, err, consul.ErrNotFound)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "operator utilization requires Consul Enterprise", se.Body)
	assert.Nil(t, got)
}

func TestOperatorUtilization(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	got, _, err := c.Operator.Utilization(testCtx(t), consul.UtilizationTodayOnly())
	require.Nil(t, got)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se, "Consul CE serves no utilization bundle")
	assert.Equal(t, http.StatusNotFound, se.StatusCode)
	assert.Equal(t, "/v1/operator/utilization", se.Path)
	require.ErrorIs(t, err, consul.ErrNotFound)
	if agentAtLeast(t, srv, 1, 22) {
		// 1.22 registers the route and refuses it in CE, saying why.
		assert.Equal(t, "operator utilization requires Consul Enterprise", se.Body)
	} else {
		// Older agents do not know the route.
		assert.NotContains(t, se.Body, "Enterprise")
	}
}

// --- examples ---

func ExampleOperatorService_RaftConfiguration() {
	client, _ := consul.NewClient(consul.Config{})
	// Stale lets any server answer, even while the datacenter has no leader.
	conf, _, err := client.Operator.RaftConfiguration(context.Background(), consul.Stale())
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range conf.Servers {
		fmt.Printf("%s %s leader=%t voter=%t\n", s.Node, s.Address, s.Leader, s.Voter)
	}
}

func ExampleOperatorService_AutopilotHealth() {
	client, _ := consul.NewClient(consul.Config{})
	// Consul answers 429 when a server is unhealthy: that is a result here.
	h, _, err := client.Operator.AutopilotHealth(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range h.Servers {
		if !s.Healthy {
			fmt.Printf("%s is unhealthy (serf %s, last contact %s ago)\n", s.Name, s.SerfStatus, s.LastContact)
		}
	}
	fmt.Println("failure tolerance:", h.FailureTolerance)
}

func ExampleOperatorService_SetAutopilotConfigurationCAS() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	conf, _, err := client.Operator.AutopilotConfiguration(ctx)
	if err != nil {
		log.Fatal(err)
	}
	conf.LastContactThreshold = 500 * time.Millisecond
	ok, err := client.Operator.SetAutopilotConfigurationCAS(ctx, conf, conf.ModifyIndex)
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		fmt.Println("changed meanwhile: read it again and retry")
	}
}

// Rotating the gossip encryption key: install the new key everywhere, make
// it the primary one, then remove the old one.
func ExampleOperatorService_UseKey() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	oldKey := "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	newKey := "T9jncgl9mbLus+baTTduRAjGfyr4vUiRm7E1Z6uSkSE=" // from `consul keygen`
	for _, step := range []func() error{
		func() error { return client.Operator.InstallKey(ctx, newKey) },
		func() error { return client.Operator.UseKey(ctx, newKey) },
		func() error { return client.Operator.RemoveKey(ctx, oldKey) },
	} {
		if err := step(); err != nil {
			log.Fatal(err)
		}
	}
	pools, _, err := client.Operator.ListKeys(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range pools {
		fmt.Printf("wan=%t dc=%s primary=%v\n", p.WAN, p.Datacenter, p.PrimaryKeys)
	}
}
