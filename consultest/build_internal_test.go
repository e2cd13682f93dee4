package consultest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEveryVersionHasAPinnedBuildModule(t *testing.T) {
	require.Equal(t, Version, Versions()[0], "the default is the newest")
	for _, v := range Versions() {
		mod, err := buildmod.ReadFile("buildmod/" + v + "/go.mod.txt")
		require.NoError(t, err, v)
		sum, err := buildmod.ReadFile("buildmod/" + v + "/go.sum.txt")
		require.NoError(t, err, v)
		require.Regexp(t, `(?m)^\s*(require\s+)?github\.com/hashicorp/consul v`+regexp.QuoteMeta(v)+`$`, string(mod), v)
		require.Contains(t, string(mod), "github.com/hashicorp/go-msgpack v1.1.5", v)
		require.Contains(t, string(mod), "github.com/hashicorp/go-msgpack v1.1.6", v)
		// Pinned: the go.sum has the zip hash of Consul itself and of
		// hundreds of its dependencies.
		require.Contains(t, string(sum), "github.com/hashicorp/consul v"+v+" h1:", v)
		require.Greater(t, bytes.Count(sum, []byte("\n")), 300, v)
	}
	mod, _ := buildmod.ReadFile("buildmod/1.22.7/go.mod.txt")
	require.Contains(t, string(mod), "github.com/hashicorp/consul/api v1.34.5")
}

// fakeConsul writes an executable "consul" into dir that reports version.
func fakeConsul(t *testing.T, dir, version string) string {
	t.Helper()
	p := filepath.Join(dir, "consul")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho 'Consul v"+version+"'\necho 'Revision abc'\n"), 0o755))
	return p
}

func TestFindBinaryOrder(t *testing.T) {
	// A cache that holds a (fake) consul-<Version>, so that nothing is
	// built here.
	cache := t.TempDir()
	t.Setenv("GOCONSUL_CACHE", cache)
	cached := filepath.Join(cache, "consul-"+Version)
	require.NoError(t, os.Rename(fakeConsul(t, t.TempDir(), Version), cached))
	t.Setenv("CONSUL_BIN", "")
	t.Setenv("PATH", t.TempDir())
	b, err := findBinary("")
	require.NoError(t, err)
	require.Equal(t, AgentBinary{Path: cached, Version: Version, Source: "cache"}, b, "no version requested: Version from the cache")

	// A supported consul on PATH comes before the cache when no version
	// is requested, and when it is the one requested.
	dir := t.TempDir()
	onPath := fakeConsul(t, dir, "1.21.3")
	t.Setenv("PATH", dir)
	b, err = findBinary("")
	require.NoError(t, err)
	require.Equal(t, AgentBinary{Path: onPath, Version: "1.21.3", Source: "PATH"}, b)
	b, err = findBinary("1.21.3")
	require.NoError(t, err)
	require.Equal(t, "PATH", b.Source)
	// Not when another version is requested...
	b, err = findBinary(Version)
	require.NoError(t, err)
	require.Equal(t, cached, b.Path)
	// ...nor when it is not a supported version.
	fakeConsul(t, dir, "1.18.2")
	b, err = findBinary("")
	require.NoError(t, err)
	require.Equal(t, cached, b.Path)

	// A version consultest cannot build, and that is not on PATH.
	_, err = findBinary("1.17.0")
	require.ErrorContains(t, err, "consultest builds only")

	// CONSUL_BIN comes first, whatever is on PATH.
	other := fakeConsul(t, t.TempDir(), "1.20.1")
	t.Setenv("CONSUL_BIN", other)
	b, err = findBinary("")
	require.NoError(t, err)
	require.Equal(t, AgentBinary{Path: other, Version: "1.20.1", Source: "$CONSUL_BIN"}, b)
	b, err = findBinary("1.20.1")
	require.NoError(t, err)
	require.Equal(t, "$CONSUL_BIN", b.Source)
	// A CONSUL_BIN of another version than the one requested is an error.
	_, err = findBinary("1.19.2")
	require.ErrorContains(t, err, "but 1.19.2 was requested")
	t.Setenv("CONSUL_BIN", filepath.Join(t.TempDir(), "missing"))
	_, err = findBinary("")
	require.ErrorContains(t, err, "CONSUL_BIN")
}

func TestRequestedVersion(t *testing.T) {
	t.Setenv("CONSUL_VERSION", " v1.19.2 ")
	require.Equal(t, "1.19.2", RequestedVersion())
	t.Setenv("CONSUL_VERSION", "")
	require.Equal(t, "", RequestedVersion())
	require.True(t, supportedSeries("1.19.9"))
	require.True(t, supportedSeries("1.22.0"))
	require.False(t, supportedSeries("1.18.2"))
	require.False(t, supportedSeries("1.23.0"))
}

// fakeGo writes a go command that prints download lines, runs for a while,
// and exits with code.
func fakeGo(t *testing.T, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "go")
	script := "#!/bin/sh\n" +
		"echo 'go: downloading example.com/a v1.0.0' >&2\n" +
		"echo 'go: downloading example.com/b v1.0.0' >&2\n" +
		"sleep 0.5\n" +
		"echo 'go: downloading example.com/c v1.0.0' >&2\n" +
		"echo 'something broke: details' >&2\n" +
		"exit " + string(rune('0'+code)) + "\n"
	require.NoError(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

func TestBuildStepReportsProgress(t *testing.T) {
	old := progressEvery
	progressEvery = 100 * time.Millisecond
	t.Cleanup(func() { progressEvery = old })

	var out bytes.Buffer
	p := &progress{w: &out}
	require.NoError(t, p.run("1.22.7", "step 1/2, downloading modules", t.TempDir(), fakeGo(t, 0), []string{"list"}))
	s := out.String()
	require.Contains(t, s, "consul 1.22.7: step 1/2, downloading modules: go list")
	require.Contains(t, s, "downloading modules: still running (0s, 2 modules downloaded so far)\n")
	require.Regexp(t, `done in \d+s, 3 modules downloaded\n`, s)

	out.Reset()
	err := p.run("1.22.7", "step 2/2, compiling", t.TempDir(), fakeGo(t, 1), []string{"build"})
	require.ErrorContains(t, err, "building consul 1.22.7, step 2/2, compiling")
	require.ErrorContains(t, err, "something broke: details", "the error carries the go command's output")
	require.False(t, strings.Contains(err.Error(), "go: downloading"), "but not the download lines")
}
