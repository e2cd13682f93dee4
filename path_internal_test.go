package consul

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuildPathTemplate checks the placeholders themselves: several in one
// route, a literal tail, a multi-segment one, and a route that does not
// match its arguments, which is a bug of the library and panics.
func TestBuildPathTemplate(t *testing.T) {
	p, err := buildPath("/v1/config/{kind}/{name}", "service-defaults", "a b")
	require.NoError(t, err)
	assert.Equal(t, "/v1/config/service-defaults/a%20b", p)

	p, err = buildPath("/v1/query/{idOrName}/execute", "q?1")
	require.NoError(t, err)
	assert.Equal(t, "/v1/query/q%3F1/execute", p)

	p, err = buildPath("/v1/acl/templated-policy/name/{name...}", "builtin/a b")
	require.NoError(t, err)
	assert.Equal(t, "/v1/acl/templated-policy/name/builtin/a%20b", p)

	p, err = buildPath("/v1/agent/self")
	require.NoError(t, err)
	assert.Equal(t, "/v1/agent/self", p)

	// The second argument is checked too, and named.
	_, err = buildPath("/v1/config/{kind}/{name}", "service-defaults", "..")
	var ae *ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "name", ae.Arg)

	assert.Panics(t, func() { _, _ = buildPath("/v1/x/{a}/{b}", "1") })
	assert.Panics(t, func() { _, _ = buildPath("/v1/x/{a}", "1", "2") })
	assert.Panics(t, func() { _, _ = buildPath("/v1/x/{a", "1") })
}

// BenchmarkBuildPath compares the builder with the concatenation it
// replaced, for a plain ID (nothing to escape) and a name to escape.
func BenchmarkBuildPath(b *testing.B) {
	const id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"
	const name = "my service?x"
	b.Run("builder/id", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = buildPath("/v1/session/info/{id}", id)
		}
	})
	b.Run("concat/id", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = "/v1/session/info/" + url.PathEscape(id)
		}
	})
	b.Run("builder/escaped", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = buildPath("/v1/catalog/service/{service}", name)
		}
	})
	b.Run("concat/escaped", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = "/v1/catalog/service/" + url.PathEscape(name)
		}
	})
}
