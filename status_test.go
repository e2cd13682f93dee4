package consul_test

import (
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `"10.1.1.1:8300"`})
	leader, _, err := c.Status.Leader(testCtx(t), consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.Equal(t, "10.1.1.1:8300", leader)
	w.only(t).expect(t, "GET", "/v1/status/leader", q("dc", "dc2"))

	w, c = newWire(t, reply{Body: `["10.1.1.1:8300","10.1.1.2:8300"]`})
	peers, _, err := c.Status.Peers(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"10.1.1.1:8300", "10.1.1.2:8300"}, peers)
	w.only(t).expect(t, "GET", "/v1/status/peers", nil)
}

func TestStatusIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	leader, _, err := c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, srv.ServerAddr, leader)
	peers, _, err := c.Status.Peers(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, []string{srv.ServerAddr}, peers)

	_, _, err = c.Status.Leader(testCtx(t), consul.Datacenter("nowhere"))
	require.Error(t, err, "an unknown datacenter is an error")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.StatusCode)
	assert.Contains(t, se.Body, "No path to datacenter")
}
