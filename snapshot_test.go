package consul_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotSaveWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: "\x1f\x8bsnapshot-bytes", Header: map[string]string{
		"X-Consul-Index": "42", "X-Consul-KnownLeader": "true", "Content-Type": "application/octet-stream",
	}})
	body, meta, err := c.Snapshot.Save(ctx, consul.Stale(), consul.Datacenter("dc2"), consul.Token("mgmt"))
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Equal(t, "\x1f\x8bsnapshot-bytes", string(got))
	assert.Equal(t, uint64(42), meta.Index)
	assert.True(t, meta.KnownLeader)
	s := w.only(t)
	s.expect(t, "GET", "/v1/snapshot", q("dc", "dc2", "stale", ""))
	assert.Equal(t, "mgmt", s.Header.Get("X-Consul-Token"))

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	body, _, err = c.Snapshot.Save(ctx)
	assert.Nil(t, body)
	assert.ErrorIs(t, err, consul.ErrPermissionDenied)
}

// TestSnapshotSaveStreams proves that Save hands the body over before the
// server has finished sending it: nothing is buffered.
func TestSnapshotSaveStreams(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Consul-Index", "7")
		_, _ = io.WriteString(rw, "first-chunk;")
		rw.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Second):
			return
		}
		_, _ = io.WriteString(rw, "second-chunk")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)

	body, meta, err := c.Snapshot.Save(testCtx(t))
	require.NoError(t, err, "Save must return while the server is still sending")
	defer body.Close()
	assert.Equal(t, uint64(7), meta.Index)
	first := make([]byte, len("first-chunk;"))
	_, err = io.ReadFull(body, first)
	require.NoError(t, err)
	assert.Equal(t, "first-chunk;", string(first))
	close(release)
	rest, err := io.ReadAll(body)
	require.NoError(t, err)
	assert.Equal(t, "second-chunk", string(rest))
}

// snapshotTestCloser records whether Restore closed the caller's reader.
type snapshotTestCloser struct {
	io.Reader
	closed bool
}

func (c *snapshotTestCloser) Close() error { c.closed = true; return nil }

func TestSnapshotRestoreWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{})
	snap := &snapshotTestCloser{Reader: strings.NewReader("\x1f\x8bsnapshot-bytes")}
	require.NoError(t, c.Snapshot.Restore(ctx, snap, consul.Datacenter("dc2"), consul.Token("mgmt")))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/snapshot", q("dc", "dc2"))
	assert.Equal(t, "\x1f\x8bsnapshot-bytes", s.Body)
	assert.Equal(t, "mgmt", s.Header.Get("X-Consul-Token"))
	assert.Empty(t, s.Header.Get("Content-Type"), "a snapshot is not JSON")
	assert.False(t, snap.closed, "the caller owns the reader")

	_, c = newWire(t, reply{Status: 500, Body: "failed to read snapshot file: gzip: invalid header"})
	err := c.Snapshot.Restore(ctx, strings.NewReader("junk"))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.StatusCode)

	w, c = newWire(t)
	var ae *consul.ArgumentError
	require.ErrorAs(t, c.Snapshot.Restore(ctx, nil), &ae)
	assert.Equal(t, "snap", ae.Arg)
	w.noRequest(t)
}

func TestSnapshotSaveAndRestore(t *testing.T) {
	// A private agent: a restore rewrites the whole state.
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)

	require.NoError(t, c.KV.Put(ctx, "snap/key", []byte("before")))

	body, meta, err := c.Snapshot.Save(ctx)
	require.NoError(t, err)
	assert.NotZero(t, meta.Index)
	path := filepath.Join(t.TempDir(), "consul.snap")
	f, err := os.Create(path)
	require.NoError(t, err)
	n, err := io.Copy(f, body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.NoError(t, f.Close())
	require.Greater(t, n, int64(100))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(raw, []byte{0x1f, 0x8b}), "a snapshot is gzipped")

	require.NoError(t, c.KV.Put(ctx, "snap/key", []byte("after")))
	require.NoError(t, c.KV.Put(ctx, "snap/new", []byte("x")))

	f, err = os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, c.Snapshot.Restore(ctx, f))

	kv, _, err := c.KV.Get(ctx, "snap/key")
	require.NoError(t, err)
	require.NotNil(t, kv)
	assert.Equal(t, "before", string(kv.Value), "the restore undid the change")
	kv, _, err = c.KV.Get(ctx, "snap/new")
	require.NoError(t, err)
	assert.Nil(t, kv, "the key written after the snapshot is gone")

	// Garbage is refused by Consul and changes nothing.
	require.Error(t, c.Snapshot.Restore(ctx, strings.NewReader("not a snapshot")))
	kv, _, err = c.KV.Get(ctx, "snap/key")
	require.NoError(t, err)
	assert.Equal(t, "before", string(kv.Value))
}

func TestSnapshotACL(t *testing.T) {
	srv := testACLAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	_, _, err := c.Snapshot.Save(ctx)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.ErrorIs(t, c.Snapshot.Restore(ctx, strings.NewReader("x")), consul.ErrPermissionDenied)

	// Saving never changes the state: allowed on the shared agent.
	body, _, err := c.Snapshot.Save(ctx, consul.Token(srv.ManagementToken))
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Greater(t, n, int64(100))
}

func ExampleSnapshotService_Save() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	body, meta, err := client.Snapshot.Save(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer body.Close()
	f, err := os.Create("backup.snap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil { // streamed, never held in memory
		log.Fatal(err)
	}
	fmt.Println("saved at index", meta.Index)
}

func ExampleSnapshotService_Restore() {
	client, _ := consul.NewClient(consul.Config{})
	f, err := os.Open("backup.snap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := client.Snapshot.Restore(context.Background(), f); err != nil {
		log.Fatal(err)
	}
}
