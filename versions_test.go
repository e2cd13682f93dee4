package consul_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/goconsul/consul/consultest"
)

// agentAtLeast reports whether srv runs Consul major.minor or newer, from
// the version its binary reports: tests take version-dependent facts from
// the agent, never from a hard-coded version.
func agentAtLeast(t testing.TB, srv *consultest.Server, major, minor int) bool {
	t.Helper()
	parts := strings.SplitN(srv.Version, ".", 3)
	if len(parts) < 2 {
		t.Fatalf("agent version %q does not parse", srv.Version)
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("agent version %q does not parse", srv.Version)
	}
	return ma > major || ma == major && mi >= minor
}
