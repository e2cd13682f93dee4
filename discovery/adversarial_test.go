package discovery_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/require"
)

// TestNilAndZeroValuesDoNotPanic: every method of a nil or zero
// Registration, Instances, Transport or Dialer (what a failed constructor
// returned, or a struct literal) returns an error or a zero result; none
// panics or hangs.
func TestNilAndZeroValuesDoNotPanic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, r := range []*discovery.Registration{nil, {}} {
		require.ErrorIs(t, r.Pass(ctx, "ok"), discovery.ErrClosed)
		require.ErrorIs(t, r.Warn(ctx, "hm"), discovery.ErrClosed)
		require.ErrorIs(t, r.Fail(ctx, "ko"), discovery.ErrClosed)
		require.ErrorIs(t, r.Update(ctx, consul.HealthPassing, ""), discovery.ErrClosed)
		require.Equal(t, discovery.PhaseClosed, r.State().Phase, "a registration that never was is closed")
		require.Empty(t, r.ID())
		require.Empty(t, r.CheckID())
		select {
		case <-r.Done():
		default:
			t.Fatal("the Done channel of a registration that never was is open")
		}
		require.NoError(t, r.Close())
		require.NoError(t, r.Close())
	}

	for _, in := range []*discovery.Instances{nil, {}} {
		_, err := in.Next()
		require.ErrorIs(t, err, discovery.ErrNotReady)
		require.Nil(t, in.All())
		require.Zero(t, in.Len())
		require.Nil(t, in.Meta())
		require.NoError(t, in.Err())
		require.Error(t, in.WaitReady(ctx))
		require.Equal(t, discovery.RoundRobin, in.Picker())
		require.Empty(t, in.Query().Service)
		n := 0
		for range in.Subscribe(ctx) {
			n++
		}
		require.Zero(t, n, "nothing comes from an Instances without a watch")
		in.Close()
		in.Close()
	}

	for _, tr := range []*discovery.Transport{nil, {}} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://web.service.consul/", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.Error(t, err)
		require.Nil(t, resp)
		_, _, err = tr.Instances("web.service.consul")
		require.Error(t, err)
		tr.CloseIdleConnections()
		tr.Close()
	}

	for _, d := range []*discovery.Dialer{nil, {}} {
		conn, err := d.DialContext(ctx, "tcp", "web.service.consul:80")
		require.Error(t, err)
		require.Nil(t, conn)
		_, _, err = d.Instances("web.service.consul")
		require.Error(t, err)
		d.Close()
	}
}
