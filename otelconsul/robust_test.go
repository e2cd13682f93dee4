package otelconsul_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

// A call that panics (here in the transport; also a panicking decoder or
// a panicking observer-wrapped RoundTripper) never ends its span: the
// span is lost, and its children (otelhttp's) are orphans.
// TestSpanEndedOnPanic: a call that panics (here in its Transport) still
// ends its span; the panic goes on.
func TestSpanEndedOnPanic(t *testing.T) {
	c, exp, _ := traced(t, consul.Config{Address: "127.0.0.1:1", Transport: panicTransport{}})
	func() {
		defer func() { require.NotNil(t, recover()) }()
		_, _, _ = c.Status.Leader(context.Background())
	}()
	assert.Len(t, exp.GetSpans(), 1, "the span of the call that panicked is ended")
}

// The library scrubs a SecretID or a bearer token that Consul echoes in an
// error body from the error it returns (aclScrub), but only after the
// Observer's End saw the raw error: the span's status description keeps
// the secret.
// TestEchoedSecretNotInSpan: a SecretID or bearer token that Consul echoes
// in an error is redacted before the span records the error, not only in
// the error the caller gets.
func TestEchoedSecretNotInSpan(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Consul-Default-ACL-Policy", "deny")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "Invalid request: %s", body) // a server echoing its input
	}))
	defer srv.Close()
	const secretID = "6f3b1a52-9d0e-4c4b-a1f2-5e8d7c6b5a49"
	const bearer = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWJlYXJlcg.sig"
	c, exp, _ := traced(t, consul.Config{Address: srv.Listener.Addr().String()})
	ctx := context.Background()

	_, err := c.ACL.CreateToken(ctx, &consul.ACLToken{SecretID: secretID})
	require.Error(t, err)
	require.NotContains(t, err.Error(), secretID, "the caller's error is scrubbed")
	_, err = c.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: "k8s", BearerToken: bearer})
	require.Error(t, err)
	require.NotContains(t, err.Error(), bearer, "the caller's error is scrubbed")

	spans := exp.GetSpans()
	require.Len(t, spans, 2)
	for _, s := range spans {
		for _, str := range everyString(s) {
			assert.NotContains(t, str, secretID, "span %s", s.Name)
			assert.NotContains(t, str, bearer, "span %s", s.Name)
		}
	}
}
