package consul_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An answer recorded from a Consul 1.19.2 agent (certificate shortened).
const peeringTestJSON = `{"ID":"55cc6082-f6c2-a463-a74e-f5cdd0f794a9","Name":"dc1peer","State":"ACTIVE",
"PeerID":"0159bdca-e3a4-1dc7-d97f-45978b35d007","PeerCAPems":["-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"],
"PeerServerName":"server.dc1.peering.5eec5e1a-1251-3a9c-8bd2-358e73a76b27.consul","PeerServerAddresses":["127.0.0.1:40047"],
"StreamStatus":{"ImportedServices":["web"],"ExportedServices":null,"LastHeartbeat":"2026-11-21T22:39:12.5Z",
"LastReceive":"2026-11-21T22:39:12.5Z","LastSend":null},"CreateIndex":14,"ModifyIndex":15,
"Remote":{"Partition":"","Datacenter":"dc1","Locality":{"Region":"eu","Zone":"a"}},"Meta":{"k":"v"}}`

func peeringTestPeering() *consul.Peering {
	hb := time.Date(2026, 11, 21, 22, 39, 12, 500000000, time.UTC)
	return &consul.Peering{
		ID: "55cc6082-f6c2-a463-a74e-f5cdd0f794a9", Name: "dc1peer", State: consul.PeeringStateActive,
		Meta:                map[string]string{"k": "v"},
		PeerID:              "0159bdca-e3a4-1dc7-d97f-45978b35d007",
		PeerCAPems:          []string{"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"},
		PeerServerName:      "server.dc1.peering.5eec5e1a-1251-3a9c-8bd2-358e73a76b27.consul",
		PeerServerAddresses: []string{"127.0.0.1:40047"},
		StreamStatus: consul.PeeringStreamStatus{
			ImportedServices: []string{"web"}, LastHeartbeat: &hb, LastReceive: &hb,
		},
		Remote:      consul.PeeringRemote{Datacenter: "dc1", Locality: &consul.PeeringLocality{Region: "eu", Zone: "a"}},
		CreateIndex: 14, ModifyIndex: 15,
	}
}

func TestPeeringGenerateTokenWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"PeeringToken":"eyJDQSI6WyItLS0t"}`})
	tok, err := c.Peering.GenerateToken(testCtx(t), consul.PeeringGenerateTokenRequest{
		PeerName: "dc2", Meta: map[string]string{"env": "prod"}, ServerExternalAddresses: []string{"lb.example:8503"},
	}, consul.Token("tok"))
	require.NoError(t, err)
	assert.Equal(t, "eyJDQSI6WyItLS0t", tok)
	s := w.only(t)
	s.expect(t, "POST", "/v1/peering/token", nil)
	assert.Equal(t, "tok", s.Header.Get("X-Consul-Token"))
	assert.Equal(t, "application/json", s.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"PeerName":"dc2","Meta":{"env":"prod"},"ServerExternalAddresses":["lb.example:8503"]}`, s.Body)

	_, c = newWire(t, reply{Status: 500, Body: "TLS for gRPC must be enabled when generating peering tokens"})
	_, err = c.Peering.GenerateToken(testCtx(t), consul.PeeringGenerateTokenRequest{PeerName: "dc2"})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, se.Body, "TLS for gRPC")
}

func TestPeeringEstablishWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{}`})
	require.NoError(t, c.Peering.Establish(testCtx(t), consul.PeeringEstablishRequest{
		PeerName: "dc1", PeeringToken: "eyJDQSI6WyItLS0t", Meta: map[string]string{"env": "prod"},
	}, consul.Partition("ap1")))
	s := w.only(t)
	s.expect(t, "POST", "/v1/peering/establish", q("partition", "ap1"))
	assert.JSONEq(t, `{"PeerName":"dc1","PeeringToken":"eyJDQSI6WyItLS0t","Meta":{"env":"prod"}}`, s.Body)
}

func TestPeeringReadListDeleteWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: peeringTestJSON, Header: map[string]string{"X-Consul-Index": "15"}})
	p, meta, err := c.Peering.Get(ctx, "dc1peer", consul.WaitIndex(10))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/peering/dc1peer", q("index", "10"))
	assert.Equal(t, uint64(15), meta.Index)
	assert.Equal(t, peeringTestPeering(), p)

	w, c = newWire(t, reply{Status: 404, Body: `Peering not found for "a b"`, Header: map[string]string{"X-Consul-Index": "3"}})
	p, meta, err = c.Peering.Get(ctx, "a b")
	require.NoError(t, err, "a missing peering is not an error")
	assert.Nil(t, p)
	assert.Equal(t, uint64(3), meta.Index)
	w.only(t).expect(t, "GET", "/v1/peering/a%20b", nil)

	w, c = newWire(t, reply{Body: "[" + peeringTestJSON + "]", Header: map[string]string{"X-Consul-Index": "15"}})
	list, _, err := c.Peering.List(ctx, consul.Partition("ap1"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/peerings", q("partition", "ap1"))
	assert.Equal(t, []*consul.Peering{peeringTestPeering()}, list)

	_, c = newWire(t, reply{Body: "[]"})
	list, _, err = c.Peering.List(ctx)
	require.NoError(t, err)
	assert.NotNil(t, list)
	assert.Empty(t, list)

	w, c = newWire(t, reply{})
	require.NoError(t, c.Peering.Delete(ctx, "dc1?peer", consul.Token("tok")))
	s := w.only(t)
	s.expect(t, "DELETE", "/v1/peering/dc1%3Fpeer", nil)
	assert.Equal(t, "tok", s.Header.Get("X-Consul-Token"))
	assert.Empty(t, s.Body)
}

func TestPeeringBadInput(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t)
	_, gerr := c.Peering.GenerateToken(ctx, consul.PeeringGenerateTokenRequest{})
	_, _, rerr := c.Peering.Get(ctx, "")
	for _, tc := range []struct {
		arg string
		err error
	}{
		{"PeeringGenerateTokenRequest.PeerName", gerr},
		{"PeeringEstablishRequest.PeerName", c.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeeringToken: "t"})},
		{"PeeringEstablishRequest.PeeringToken", c.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeerName: "p"})},
		{"name", rerr},
		{"name", c.Peering.Delete(ctx, "")},
	} {
		var ae *consul.ArgumentError
		if assert.True(t, errors.As(tc.err, &ae), "%s: got %v", tc.arg, tc.err) {
			assert.Equal(t, tc.arg, ae.Arg)
		}
	}
	w.noRequest(t)
}

// TestPeering peers two single-server clusters of different datacenters,
// on 127.0.0.1 and 127.0.0.2, that know nothing of each other otherwise.
func TestPeering(t *testing.T) {
	acc := consultest.NewServer(t, consultest.Config{GRPC: true, Datacenter: "dc1"})
	dia := consultest.NewServer(t, consultest.Config{GRPC: true, Datacenter: "dc2", Bind: "127.0.0.2"})
	ca, cd := newClient(t, acc), newClient(t, dia)
	ctx := testCtx(t)

	list, _, err := ca.Peering.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	p, meta, err := ca.Peering.Get(ctx, "dc2")
	require.NoError(t, err)
	assert.Nil(t, p)
	assert.NotNil(t, meta)

	tok, err := ca.Peering.GenerateToken(ctx, consul.PeeringGenerateTokenRequest{PeerName: "dc2", Meta: map[string]string{"env": "test"}})
	require.NoError(t, err)
	require.NotEmpty(t, tok)
	p, _, err = ca.Peering.Get(ctx, "dc2")
	require.NoError(t, err)
	require.NotNil(t, p)
	assert.Equal(t, consul.PeeringStatePending, p.State)
	assert.Equal(t, map[string]string{"env": "test"}, p.Meta)

	// A token that is not one is refused by Consul.
	err = cd.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeerName: "dc1", PeeringToken: "bm90IGEgdG9rZW4="})
	require.ErrorAs(t, err, new(*consul.StatusError))

	require.NoError(t, cd.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeerName: "dc1", PeeringToken: tok}))

	// Both sides become active; follow the dialer with blocking reads.
	var dp *consul.Peering
	var idx uint64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		dp, meta, err = cd.Peering.Get(ctx, "dc1", consul.WaitIndex(idx), consul.WaitTime(2*time.Second))
		require.NoError(t, err)
		require.NotNil(t, dp)
		idx = meta.Index
		if dp.State == consul.PeeringStateActive {
			break
		}
	}
	require.Equal(t, consul.PeeringStateActive, dp.State)
	assert.Equal(t, "dc1", dp.Remote.Datacenter)
	assert.Equal(t, []string{acc.GRPCTLSAddr}, dp.PeerServerAddresses)
	assert.NotEmpty(t, dp.PeerCAPems)
	assert.Contains(t, dp.PeerServerName, "server.dc1.peering.")
	assert.Equal(t, p.ID, dp.PeerID, "the dialer knows the acceptor's ID of the peering")

	require.Eventually(t, func() bool {
		p, _, err := ca.Peering.Get(ctx, "dc2")
		return err == nil && p != nil && p.State == consul.PeeringStateActive
	}, 30*time.Second, 100*time.Millisecond)
	p, _, err = ca.Peering.Get(ctx, "dc2")
	require.NoError(t, err)
	assert.Equal(t, "dc2", p.Remote.Datacenter)

	list, _, err = cd.Peering.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "dc1", list[0].Name)
	assert.Equal(t, dp.ID, list[0].ID)

	// An intention can name a service of the peer as its source. The
	// intention routes cannot write one (Consul refuses SourcePeer there):
	// it is written as a service-intentions config entry.
	_, err = cd.Connect.PutIntention(ctx, &consul.Intention{
		SourceName: "web", SourcePeer: "dc1", DestinationName: "db", Action: consul.IntentionAllow,
	})
	require.ErrorAs(t, err, new(*consul.ArgumentError))
	require.NoError(t, cd.ConfigEntries.Put(ctx, &consul.ServiceIntentionsConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "db"},
		Sources:           []*consul.ServiceIntentionsSource{{Name: "web", Peer: "dc1", Action: consul.IntentionAllow}},
	}))
	ixn, _, err := cd.Connect.GetIntentionExact(ctx, "peer:dc1/web", "db")
	require.NoError(t, err)
	require.NotNil(t, ixn)
	assert.Equal(t, "dc1", ixn.SourcePeer)
	assert.Equal(t, "web", ixn.SourceName)
	ixn, _, err = cd.Connect.GetIntentionExact(ctx, "web", "db")
	require.NoError(t, err)
	assert.Nil(t, ixn, "the local web has no intention")

	// Deleting on the dialer terminates the acceptor's side.
	require.NoError(t, cd.Peering.Delete(ctx, "dc1"))
	require.Eventually(t, func() bool {
		p, _, err := cd.Peering.Get(ctx, "dc1")
		return err == nil && p == nil
	}, 30*time.Second, 100*time.Millisecond, "the deleted peering goes away")
	require.Eventually(t, func() bool {
		p, _, err := ca.Peering.Get(ctx, "dc2")
		return err == nil && p != nil && p.State == consul.PeeringStateTerminated
	}, 30*time.Second, 100*time.Millisecond, "the peer sees the peering terminated")
	require.NoError(t, ca.Peering.Delete(ctx, "dc2"))
	require.Eventually(t, func() bool {
		list, _, err := ca.Peering.List(ctx)
		return err == nil && len(list) == 0
	}, 30*time.Second, 100*time.Millisecond)
	require.NoError(t, ca.Peering.Delete(ctx, "dc2"), "deleting a missing peering is not an error")
}

// TestPeeringNeedsGRPCTLS: an agent without the gRPC TLS port cannot
// generate tokens; Consul says why.
func TestPeeringNeedsGRPCTLS(t *testing.T) {
	c := newClient(t, testAgent(t))
	_, err := c.Peering.GenerateToken(testCtx(t), consul.PeeringGenerateTokenRequest{PeerName: "no-grpc-tls"})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, se.Body, "TLS for gRPC must be enabled")
}

func ExamplePeeringService_GenerateToken() {
	ctx := context.Background()
	dc1, _ := consul.NewClient(consul.Config{Address: "consul.dc1.example:8500"})
	dc2, _ := consul.NewClient(consul.Config{Address: "consul.dc2.example:8500"})

	// dc1 accepts: it generates a token for its peer-to-be...
	token, err := dc1.Peering.GenerateToken(ctx, consul.PeeringGenerateTokenRequest{PeerName: "dc2"})
	if err != nil {
		log.Fatal(err)
	}
	// ...which dc2 uses to dial dc1.
	if err := dc2.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeerName: "dc1", PeeringToken: token}); err != nil {
		log.Fatal(err)
	}
	p, _, err := dc2.Peering.Get(ctx, "dc1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name, p.State)
}
