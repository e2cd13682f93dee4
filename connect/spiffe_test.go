package connect_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"testing"

	"github.com/goconsul/consul/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ParseServiceID reads the service SPIFFE IDs Consul writes (with and
// without a partition, escaped segments) and refuses Consul's other IDs
// and anything malformed; String writes them back as Consul does.
func TestParseServiceID(t *testing.T) {
	good := map[string]connect.ServiceID{
		"spiffe://td.consul/ns/default/dc/dc1/svc/web":    {TrustDomain: "td.consul", Partition: "default", Namespace: "default", Datacenter: "dc1", Service: "web"},
		"spiffe://td.consul/ap/Team/ns/ns1/dc/dc2/svc/db": {TrustDomain: "td.consul", Partition: "team", Namespace: "ns1", Datacenter: "dc2", Service: "db"},
		"spiffe://td.consul/ns/default/dc/dc1/svc/a%20b":  {TrustDomain: "td.consul", Partition: "default", Namespace: "default", Datacenter: "dc1", Service: "a b"},
	}
	for uri, want := range good {
		id, err := connect.ParseServiceID(uri)
		require.NoError(t, err, uri)
		assert.Equal(t, want, id, uri)
		again, err := connect.ParseServiceID(id.String())
		require.NoError(t, err)
		assert.Equal(t, id, again, "round trip of %s", uri)
	}
	assert.Equal(t, "spiffe://td.consul/ns/default/dc/dc1/svc/web", good["spiffe://td.consul/ns/default/dc/dc1/svc/web"].String())

	for _, uri := range []string{
		"", "web", "https://td.consul/ns/default/dc/dc1/svc/web",
		"spiffe://td.consul", // the CA's signing ID
		"spiffe://td.consul/agent/client/dc/dc1/id/node1",
		"spiffe://td.consul/agent/server/dc/dc1",
		"spiffe://td.consul/gateway/mesh/dc/dc1",
		"spiffe://td.consul/ap/default/ns/default/identity/web",
		"spiffe:///ns/default/dc/dc1/svc/web",
		"spiffe://td.consul:8080/ns/default/dc/dc1/svc/web",
		"spiffe://user@td.consul/ns/default/dc/dc1/svc/web",
		"spiffe://td.consul/ns/default/dc/dc1/svc/web?x=1",
		"spiffe://td.consul/ns/default/dc/dc1/svc/web#f",
		"spiffe://td.consul/ns/default/dc/dc1/svc/",
		"spiffe://td.consul/ns//dc/dc1/svc/web",
		"spiffe://td.consul/ns/default/dc/dc1/svc/web/extra",
		"spiffe://td.consul/ns/default/dc/dc1/svc/a%2Fb",
		"spiffe://td.consul/xx/default/dc/dc1/svc/web",
		"spiffe://td.consul/ap//ns/default/dc/dc1/svc/web",
	} {
		_, err := connect.ParseServiceID(uri)
		require.ErrorIs(t, err, connect.ErrNotServiceID, "%q", uri)
	}
}

// PeerServiceID reads the peer's SPIFFE ID from a connection state.
func TestPeerServiceID(t *testing.T) {
	_, err := connect.PeerServiceID(nil)
	require.ErrorIs(t, err, connect.ErrNotServiceID)
	_, err = connect.PeerServiceID(&tls.ConnectionState{})
	require.ErrorIs(t, err, connect.ErrNotServiceID)
	u, _ := url.Parse("spiffe://td.consul/ns/default/dc/dc1/svc/web")
	id, err := connect.PeerServiceID(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{{URIs: []*url.URL{u}}}})
	require.NoError(t, err)
	assert.Equal(t, "web", id.Service)
	_, err = connect.PeerServiceID(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{{URIs: []*url.URL{u, u}}}})
	require.ErrorIs(t, err, connect.ErrNotServiceID)
}
