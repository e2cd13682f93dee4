// Package connect makes Go services Connect-native: they take part in
// Consul's service mesh without a sidecar proxy, speaking mutual TLS with
// certificates of Consul's CA and admitting clients by the intentions. It
// needs only the standard library, the consul package and the discovery
// package (the official github.com/hashicorp/consul/connect lives in
// Consul's main module and brings its dependency graph).
//
//	svc, err := connect.NewService(ctx, client, "db")
//	defer svc.Close()
//	if err := svc.WaitReady(ctx); err != nil { // the first leaf and roots
//		return err
//	}
//	srv := &http.Server{Handler: h, TLSConfig: svc.ServerTLSConfig()}
//	go srv.ServeTLS(listener, "", "")
//
//	web, err := connect.NewService(ctx, client, "web")
//	resp, err := web.HTTPClient().Get("https://db.service.consul/rows")
//	conn, err := web.Dial(ctx, "db") // any protocol over mTLS
//
// A Service keeps its leaf certificate and the CA roots fresh with
// blocking watches on the local agent; every handshake uses the current
// ones, so that leaf renewals and CA rotations need no restart and cut no
// connection. The server side verifies the client's certificate against
// the roots and its SPIFFE ID, then asks the agent whether the intentions
// allow it (a decision cached for a bounded time, WithAuthorizeCacheTTL):
// a refused client fails the handshake. The client side verifies that the
// server is the service it dialled. Nothing is used before the first
// certificate: see Service for what waits and what fails until then.
package connect
