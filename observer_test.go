package consul_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingObserver keeps what it sees.
type recordingObserver struct {
	mu    sync.Mutex
	calls []*recordedCall
}

type recordedCall struct {
	info     consul.CallStart
	attempts []string
	end      *consul.CallEnd
}

type ctxKey struct{}

func (o *recordingObserver) StartCall(ctx context.Context, info *consul.CallStart) (context.Context, consul.CallObserver) {
	rc := &recordedCall{info: *info}
	o.mu.Lock()
	o.calls = append(o.calls, rc)
	o.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, rc), rc
}

func (rc *recordedCall) Attempt(n int, agent string) {
	rc.attempts = append(rc.attempts, agent)
}

func (rc *recordedCall) End(end *consul.CallEnd) { rc.end = end }

func (o *recordingObserver) all() []*recordedCall {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*recordedCall(nil), o.calls...)
}

func TestObserverSeesCalls(t *testing.T) {
	obs := &recordingObserver{}
	w, c := newWireConfig(t, consul.Config{Observer: obs, Datacenter: "dc2", Retries: 1, RetryBackoff: consul.Backoff{Min: time.Millisecond, Max: time.Millisecond}},
		reply{Status: 500, Body: "boom"}, reply{Header: map[string]string{"X-Consul-Index": "9", "X-Cache": "HIT"}, Body: `[{"Key":"secret/key","Value":"c2VjcmV0"}]`})
	ctx := testCtx(t)
	_, _, err := c.KV.Get(ctx, "secret/key", consul.Stale())
	require.NoError(t, err)
	require.Len(t, w.requests(), 2)
	calls := obs.all()
	require.Len(t, calls, 1, "one call, however many attempts")
	rc := calls[0]
	assert.Equal(t, consul.CallStart{Name: "KV.Get", Method: "GET", Route: "/v1/kv/:key", Datacenter: "dc2",
		Consistency: consul.ConsistencyStale, Agent: w.srv.URL}, rc.info)
	assert.Equal(t, []string{w.srv.URL}, rc.attempts, "the retry is an attempt")
	require.NotNil(t, rc.end)
	assert.Equal(t, 200, rc.end.StatusCode)
	assert.Equal(t, 2, rc.end.Attempts)
	assert.Equal(t, uint64(9), rc.end.Meta.Index)
	assert.True(t, rc.end.Meta.CacheHit)
	assert.NoError(t, rc.end.Err)

	// An error ends the call with its status; no key, ID or token in the
	// info, whatever the call was given.
	w.reset(reply{Status: 403, Body: "denied"})
	_, _, err = c.ACL.GetToken(ctx, "11111111-2222-4333-8444-555555555555", consul.Token("s3cr3t-t0k3n"))
	require.Error(t, err)
	rc = obs.all()[1]
	assert.Equal(t, "/v1/acl/token/:accessorID", rc.info.Route)
	assert.Equal(t, 403, rc.end.StatusCode)
	assert.Equal(t, 1, rc.end.Attempts)
	for _, s := range []string{rc.info.Name, rc.info.Route} {
		assert.NotContains(t, s, "1111")
		assert.NotContains(t, s, "s3cr3t")
	}

	// A call refused before sending is not seen.
	_, _, err = c.KV.Get(ctx, "k", consul.Tag("x"))
	require.Error(t, err)
	assert.Len(t, obs.all(), 2)
}

func TestObserverSeesFailoverAndStreams(t *testing.T) {
	obs := &recordingObserver{}
	w, _ := newWire(t, reply{Body: `"x"`})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := consul.NewClient(consul.Config{Address: dead, Fallbacks: []string{w.srv.URL}, Observer: obs})
	require.NoError(t, err)
	_, _, err = c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	rc := obs.all()[0]
	assert.Equal(t, "http://"+dead, rc.info.Agent, "the call starts with the first agent")
	assert.Equal(t, []string{w.srv.URL}, rc.attempts, "the failover is an attempt")
	assert.Equal(t, w.srv.URL, rc.end.Agent)
	assert.Equal(t, 2, rc.end.Attempts)

	w.reset(reply{Body: "snapshot-bytes"})
	body, _, err := c.Snapshot.Save(testCtx(t))
	require.NoError(t, err)
	b, _ := io.ReadAll(body)
	body.Close()
	assert.Equal(t, "snapshot-bytes", string(b))
	rc = obs.all()[1]
	assert.True(t, rc.info.Stream)
	assert.Equal(t, "Snapshot.Save", rc.info.Name)
	assert.Equal(t, 200, rc.end.StatusCode)
}

// A watch's requests are a call each, carrying the watch's context.
func TestObserverSeesEachWatchRequest(t *testing.T) {
	obs := &recordingObserver{}
	_, c := newWireConfig(t, consul.Config{Observer: obs}, watchTestReply(1, "a"), watchTestReply(2, "b"))
	got := watchTestValues(t, consul.Watch(testCtx(t), consul.Bind(c.KV.Get, "k"), watchTestFast...), 2)
	require.Equal(t, []string{"a", "b"}, got)
	calls := obs.all()
	require.GreaterOrEqual(t, len(calls), 2)
	assert.Zero(t, calls[0].info.Index, "the first read does not block")
	assert.Equal(t, uint64(1), calls[1].info.Index)
	assert.Equal(t, time.Second, calls[1].info.Wait)
	assert.True(t, strings.HasPrefix(calls[1].info.Route, "/v1/kv/"))
}
