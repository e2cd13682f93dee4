package connect_test

import (
	"testing"

	"github.com/goconsul/consul/connect"
)

// BenchmarkDialHandshake is a new mTLS connection through Dial: an
// instance picked from memory, a TCP dial on loopback, the TLS 1.3
// handshake with both SPIFFE verifications, the server's authorization
// from its cache, and one byte exchanged so that the server's side is
// done. Run it with
//
//	go test -run '^$' -bench BenchmarkDialHandshake -benchmem -count 5 ./connect
func BenchmarkDialHandshake(b *testing.B) {
	ctx := testCtx(b)
	client := newClient(b, testAgent(b).HTTPAddr)
	dbName, webName := uniqueName("db"), uniqueName("web")
	db := newService(b, ctx, client, dbName, connect.WithAuthorizeCacheTTL(connect.DefaultAuthorizeCacheTTL))
	startMeshServer(b, ctx, client, db)
	web := newService(b, ctx, client, webName)
	req := []byte("GET / HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 1)
	b.ResetTimer()
	for range b.N {
		conn, err := web.Dial(ctx, dbName)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Read(buf); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}
