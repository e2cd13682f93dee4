package consul_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/require"
)

// optionProbe is one option kind, and how to see it in the request it
// was sent with.
type optionProbe struct {
	code string          // the code used in the table below
	name string          // what an ArgumentError calls it
	opts []consul.Option // the option (with what it needs to be sent)
	sent func(s sent) bool
}

func hasQuery(k, v string) func(s sent) bool {
	return func(s sent) bool { vs, ok := s.Query[k]; return ok && len(vs) > 0 && vs[len(vs)-1] == v }
}

// optionProbes covers every kind of option. Token and Param apply to every
// method; the others only where a method declares them.
var optionProbes = []optionProbe{
	{"DC", "Datacenter", []consul.Option{consul.Datacenter("dc9")}, hasQuery("dc", "dc9")},
	{"Cons", "WithConsistency", []consul.Option{consul.Stale()}, hasQuery("stale", "")},
	{"Token", "Token", []consul.Option{consul.Token("probe-token")}, func(s sent) bool { return s.Header.Get("X-Consul-Token") == "probe-token" }},
	{"Idx", "WaitIndex", []consul.Option{consul.WaitIndex(7)}, hasQuery("index", "7")},
	{"Wait", "WaitTime", []consul.Option{consul.WaitTime(3 * time.Second)}, func(sent) bool { return true }},
	{"Hash", "WaitHash", []consul.Option{consul.WaitHash("h1")}, hasQuery("hash", "h1")},
	{"Filter", "Filter", []consul.Option{consul.Filter(`Service == "web"`)}, hasQuery("filter", `Service == "web"`)},
	{"Near", "Near", []consul.Option{consul.Near("_agent")}, hasQuery("near", "_agent")},
	{"NMeta", "NodeMeta", []consul.Option{consul.NodeMeta("env", "prod")}, hasQuery("node-meta", "env:prod")},
	{"Cached", "Cached", []consul.Option{consul.Cached()}, hasQuery("cached", "")},
	{"MaxAge", "MaxAge", []consul.Option{consul.MaxAge(30 * time.Second)}, func(s sent) bool { return s.Header.Get("Cache-Control") == "max-age=30" }},
	{"SIE", "StaleIfError", []consul.Option{consul.StaleIfError(time.Minute)}, func(s sent) bool { return s.Header.Get("Cache-Control") == "stale-if-error=60" }},
	{"MaxStale", "MaxStale", []consul.Option{consul.MaxStale(2 * time.Second)}, hasQuery("max_stale", "2s")},
	{"NS", "Namespace", []consul.Option{consul.Namespace("team")}, hasQuery("ns", "team")},
	{"AP", "Partition", []consul.Option{consul.Partition("part")}, hasQuery("partition", "part")},
	{"Peer", "Peer", []consul.Option{consul.Peer("other")}, hasQuery("peer", "other")},
	{"Tag", "Tag", []consul.Option{consul.Tag("v2")}, hasQuery("tag", "v2")},
	{"Passing", "Passing", []consul.Option{consul.Passing()}, hasQuery("passing", "")},
	{"Sep", "Separator", []consul.Option{consul.Separator("/")}, hasQuery("separator", "/")},
	{"Flags", "Flags", []consul.Option{consul.Flags(42)}, hasQuery("flags", "42")},
	{"Param", "Param", []consul.Option{consul.Param("x-custom", "1")}, hasQuery("x-custom", "1")},
	{"MonJSON", "AgentMonitorJSON", []consul.Option{consul.AgentMonitorJSON()}, hasQuery("logjson", "")},
	{"CoordSeg", "CoordinateSegment", []consul.Option{consul.CoordinateSegment("s1")}, hasQuery("segment", "s1")},
	{"EvNode", "EventNodeFilter", []consul.Option{consul.EventNodeFilter("n.*")}, hasQuery("node", "n.*")},
	{"EvSvc", "EventServiceFilter", []consul.Option{consul.EventServiceFilter("web")}, hasQuery("service", "web")},
	{"EvTag", "EventTagFilter", []consul.Option{consul.EventTagFilter("v2"), consul.EventServiceFilter("web")}, hasQuery("tag", "v2")},
	{"WAN", "MembersWAN", []consul.Option{consul.MembersWAN()}, hasQuery("wan", "1")},
	{"MSeg", "MembersSegment", []consul.Option{consul.MembersSegment("s1")}, hasQuery("segment", "s1")},
	{"Prune", "MembersPrune", []consul.Option{consul.MembersPrune()}, hasQuery("prune", "")},
	{"Relay", "KeyringRelayFactor", []consul.Option{consul.KeyringRelayFactor(2)}, hasQuery("relay-factor", "2")},
	{"LocalOnly", "KeyringLocalOnly", []consul.Option{consul.KeyringLocalOnly()}, hasQuery("local-only", "true")},
	{"Global", "UsageGlobal", []consul.Option{consul.UsageGlobal()}, hasQuery("global", "")},
	{"Replace", "ServicesReplaceChecks", []consul.Option{consul.ServicesReplaceChecks()}, hasQuery("replace-existing-checks", "true")},
	{"UTodayOnly", "UtilizationTodayOnly", []consul.Option{consul.UtilizationTodayOnly()}, hasQuery("today_only", "true")},
	{"USendReport", "UtilizationSendReport", []consul.Option{consul.UtilizationSendReport()}, hasQuery("send_report", "true")},
	{"UMessage", "UtilizationMessage", []consul.Option{consul.UtilizationMessage("hi")}, hasQuery("message", "hi")},
}

// optionCodes expands a row's codes: READ is a blocking read of the
// servers (DC Cons Idx Wait) and ENT the Enterprise scopes (NS AP).
func optionCodes(codes string) map[string]bool {
	set := map[string]bool{"Token": true, "Param": true}
	for _, c := range strings.Fields(codes) {
		switch c {
		case "READ":
			set["DC"], set["Cons"], set["Idx"], set["Wait"] = true, true, true, true
		case "ENT":
			set["NS"], set["AP"] = true, true
		default:
			set[c] = true
		}
	}
	return set
}

type optionRow struct {
	name  string // as the endpoint declares it, e.g. "KV.Get"
	codes string // the options that apply, besides Token and Param
	call  func(ctx context.Context, c *consul.Client, opts ...consul.Option) error
}

func ignore2[A, B any](_ A, _ B, err error) error         { return err }
func ignore1[A any](_ A, err error) error                 { return err }
func ignore3[A, B, C any](_ A, _ B, _ C, err error) error { return err }

func drain[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}

// optionRows lists every method with the options that apply to it: what
// its Consul route reads and honours (agent/*_endpoint.go of Consul 1.19
// to 1.22; options parsed and then ignored are left out).
var optionRows = []optionRow{
	// ACL
	{"ACL.Bootstrap", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.Bootstrap(ctx, "", o...))
	}},
	{"ACL.CreateToken", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.CreateToken(ctx, &consul.ACLToken{}, o...))
	}},
	{"ACL.UpdateToken", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.UpdateToken(ctx, &consul.ACLToken{AccessorID: "a1"}, o...))
	}},
	{"ACL.GetToken", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetToken(ctx, "a1", o...))
	}},
	{"ACL.GetSelfToken", "READ", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetSelfToken(ctx, o...))
	}},
	{"ACL.CloneToken", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.CloneToken(ctx, "a1", "copy", o...))
	}},
	{"ACL.DeleteToken", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ACL.DeleteToken(ctx, "a1", o...)
	}},
	{"ACL.ListTokens", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.ListTokens(ctx, nil, o...))
	}},
	{"ACL.Login", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: "m", BearerToken: "jwt"}, o...))
	}},
	{"ACL.Logout", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error { return c.ACL.Logout(ctx, o...) }},
	{"ACL.Replication", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.Replication(ctx, o...))
	}},
	{"ACL.CreateAuthMethod", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.CreateAuthMethod(ctx, &consul.ACLAuthMethod{Name: "m", Type: "jwt"}, o...))
	}},
	{"ACL.UpdateAuthMethod", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.UpdateAuthMethod(ctx, &consul.ACLAuthMethod{Name: "m", Type: "jwt"}, o...))
	}},
	{"ACL.GetAuthMethod", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetAuthMethod(ctx, "m", o...))
	}},
	{"ACL.DeleteAuthMethod", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ACL.DeleteAuthMethod(ctx, "m", o...)
	}},
	{"ACL.ListAuthMethods", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.ListAuthMethods(ctx, o...))
	}},
	{"ACL.CreateBindingRule", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.CreateBindingRule(ctx, &consul.ACLBindingRule{AuthMethod: "m", BindType: "service", BindName: "x"}, o...))
	}},
	{"ACL.UpdateBindingRule", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.UpdateBindingRule(ctx, &consul.ACLBindingRule{ID: "r1", AuthMethod: "m", BindType: "service", BindName: "x"}, o...))
	}},
	{"ACL.GetBindingRule", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetBindingRule(ctx, "r1", o...))
	}},
	{"ACL.DeleteBindingRule", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ACL.DeleteBindingRule(ctx, "r1", o...)
	}},
	{"ACL.ListBindingRules", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.ListBindingRules(ctx, "", o...))
	}},
	{"ACL.CreatePolicy", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.CreatePolicy(ctx, &consul.ACLPolicy{Name: "p"}, o...))
	}},
	{"ACL.UpdatePolicy", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.UpdatePolicy(ctx, &consul.ACLPolicy{ID: "p1", Name: "p"}, o...))
	}},
	{"ACL.GetPolicy", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetPolicy(ctx, "p1", o...))
	}},
	{"ACL.GetPolicyByName", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetPolicyByName(ctx, "p", o...))
	}},
	{"ACL.DeletePolicy", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ACL.DeletePolicy(ctx, "p1", o...)
	}},
	{"ACL.ListPolicies", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.ListPolicies(ctx, o...))
	}},
	{"ACL.ListTemplatedPolicies", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.ListTemplatedPolicies(ctx, o...))
	}},
	{"ACL.GetTemplatedPolicy", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetTemplatedPolicy(ctx, "builtin/service", o...))
	}},
	{"ACL.PreviewTemplatedPolicy", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.PreviewTemplatedPolicy(ctx, "builtin/service", &consul.ACLTemplatedPolicyVariables{Name: "web"}, o...))
	}},
	{"ACL.CreateRole", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.CreateRole(ctx, &consul.ACLRole{Name: "r"}, o...))
	}},
	{"ACL.UpdateRole", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ACL.UpdateRole(ctx, &consul.ACLRole{ID: "r1", Name: "r"}, o...))
	}},
	{"ACL.GetRole", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetRole(ctx, "r1", o...))
	}},
	{"ACL.GetRoleByName", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.GetRoleByName(ctx, "r", o...))
	}},
	{"ACL.DeleteRole", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ACL.DeleteRole(ctx, "r1", o...)
	}},
	{"ACL.ListRoles", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ACL.ListRoles(ctx, nil, o...))
	}},

	// Agent: local to the agent, no datacenter.
	{"Agent.Self", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.Self(ctx, o...))
	}},
	{"Agent.Host", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.Host(ctx, o...))
	}},
	{"Agent.Version", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.Version(ctx, o...))
	}},
	{"Agent.Metrics", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.Metrics(ctx, o...))
	}},
	{"Agent.MetricsPrometheus", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.MetricsPrometheus(ctx, o...))
	}},
	{"Agent.MetricsStream", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return drain(c.Agent.MetricsStream(ctx, o...))
	}},
	{"Agent.Monitor", "MonJSON", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return drain(c.Agent.Monitor(ctx, "info", o...))
	}},
	{"Agent.EnableMaintenance", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Agent.EnableMaintenance(ctx, "r", o...)
	}},
	{"Agent.DisableMaintenance", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Agent.DisableMaintenance(ctx, o...)
	}},
	{"Agent.Reload", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Agent.Reload(ctx, o...)
	}},
	{"Agent.SetToken", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Agent.SetToken(ctx, consul.AgentTokenDefault, "t", o...)
	}},
	{"Agent.CARoots", "DC Idx Wait", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.CARoots(ctx, o...))
	}},
	{"Agent.LeafCert", "DC Idx Wait ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.LeafCert(ctx, "web", o...))
	}},
	{"Agent.Authorize", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Agent.Authorize(ctx, &consul.AgentAuthorizeRequest{Target: "db", ClientCertURI: "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web"}, o...))
	}},

	// Catalog
	{"Catalog.Register", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Catalog.Register(ctx, &consul.CatalogRegistration{Node: "n1", Address: "10.0.0.1"}, o...)
	}},
	{"Catalog.Deregister", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: "n1"}, o...)
	}},
	{"Catalog.ListDatacenters", "Cached MaxAge", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.ListDatacenters(ctx, o...))
	}},
	{"Catalog.ListNodes", "READ MaxStale Filter Near NMeta AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.ListNodes(ctx, o...))
	}},
	{"Catalog.ListServices", "READ MaxStale Cached Filter NMeta ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.ListServices(ctx, o...))
	}},
	{"Catalog.ListServiceInstances", "READ MaxStale Cached Filter Near NMeta Tag Peer ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.ListServiceInstances(ctx, "web", o...))
	}},
	{"Catalog.ListConnectInstances", "READ MaxStale Cached Filter Near NMeta Tag Peer ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.ListConnectInstances(ctx, "web", o...))
	}},
	{"Catalog.GetNode", "READ MaxStale Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.GetNode(ctx, "n1", o...))
	}},
	{"Catalog.GetNodeServices", "READ MaxStale Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.GetNodeServices(ctx, "n1", o...))
	}},
	{"Catalog.ListGatewayServices", "READ MaxStale ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Catalog.ListGatewayServices(ctx, "gw", o...))
	}},

	// Checks (the agent's)
	{"Checks.List", "Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Checks.List(ctx, o...))
	}},
	{"Checks.Register", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Checks.Register(ctx, &consul.AgentCheckRegistration{Name: "mem", TTL: 10 * time.Second}, o...)
	}},
	{"Checks.Deregister", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Checks.Deregister(ctx, "mem", o...)
	}},
	{"Checks.Pass", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Checks.Pass(ctx, "mem", "", o...)
	}},
	{"Checks.Warn", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Checks.Warn(ctx, "mem", "", o...)
	}},
	{"Checks.Fail", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Checks.Fail(ctx, "mem", "", o...)
	}},
	{"Checks.Update", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Checks.Update(ctx, "mem", consul.HealthPassing, "", o...)
	}},

	// Config entries
	{"ConfigEntries.Put", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ConfigEntries.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"}}, o...)
	}},
	{"ConfigEntries.PutCAS", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ConfigEntries.PutCAS(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"}}, 3, o...))
	}},
	{"ConfigEntries.Get", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, "web", o...))
	}},
	{"ConfigEntries.List", "READ Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ConfigEntries.List(ctx, consul.ConfigKindServiceDefaults, o...))
	}},
	{"ConfigEntries.Delete", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.ConfigEntries.Delete(ctx, consul.ConfigKindServiceDefaults, "web", o...)
	}},
	{"ConfigEntries.DeleteCAS", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.ConfigEntries.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, "web", 3, o...))
	}},
	{"ConfigEntries.GetDiscoveryChain", "READ MaxStale Cached ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ConfigEntries.GetDiscoveryChain(ctx, "web", nil, o...))
	}},
	{"ConfigEntries.ListImportedServices", "Cons Idx Wait AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ConfigEntries.ListImportedServices(ctx, o...))
	}},
	{"ConfigEntries.ListExportedServices", "Cons Idx Wait AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.ConfigEntries.ListExportedServices(ctx, o...))
	}},

	// Connect
	{"Connect.CAConfiguration", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.CAConfiguration(ctx, o...))
	}},
	{"Connect.SetCAConfiguration", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{Provider: "consul"}, o...)
	}},
	{"Connect.CARoots", "READ", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.CARoots(ctx, o...))
	}},
	{"Connect.CARootsPEM", "READ", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.CARootsPEM(ctx, o...))
	}},
	{"Connect.ListIntentions", "READ Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.ListIntentions(ctx, o...))
	}},
	{"Connect.CreateIntention", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Connect.CreateIntention(ctx, &consul.Intention{SourceName: "a", DestinationName: "b", Action: consul.IntentionAllow}, o...))
	}},
	{"Connect.GetIntention", "READ", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.GetIntention(ctx, "i1", o...))
	}},
	{"Connect.UpdateIntention", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Connect.UpdateIntention(ctx, &consul.Intention{ID: "i1", SourceName: "a", DestinationName: "b", Action: consul.IntentionAllow}, o...)
	}},
	{"Connect.DeleteIntention", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Connect.DeleteIntention(ctx, "i1", o...)
	}},
	{"Connect.GetIntentionExact", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.GetIntentionExact(ctx, "a", "b", o...))
	}},
	{"Connect.PutIntention", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Connect.PutIntention(ctx, &consul.Intention{SourceName: "a", DestinationName: "b", Action: consul.IntentionAllow}, o...))
	}},
	{"Connect.DeleteIntentionExact", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Connect.DeleteIntentionExact(ctx, "a", "b", o...)
	}},
	{"Connect.MatchIntentions", "READ MaxStale Cached ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.MatchIntentions(ctx, consul.IntentionMatchDestination, []string{"b"}, o...))
	}},
	{"Connect.CheckIntention", "DC Cons ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Connect.CheckIntention(ctx, "a", "b", o...))
	}},

	// Coordinates
	{"Coordinate.ListDatacenters", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Coordinate.ListDatacenters(ctx, o...))
	}},
	{"Coordinate.ListNodes", "READ AP CoordSeg", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Coordinate.ListNodes(ctx, o...))
	}},
	{"Coordinate.GetNode", "READ AP CoordSeg", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Coordinate.GetNode(ctx, "n1", o...))
	}},
	{"Coordinate.Update", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Coordinate.Update(ctx, &consul.CoordinateEntry{Node: "n1", Coord: &consul.Coordinate{Vec: []float64{0}}}, o...)
	}},

	// Events
	{"Event.Fire", "DC EvNode EvSvc EvTag", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Event.Fire(ctx, "deploy", []byte("x"), o...))
	}},
	{"Event.List", "Idx Wait", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Event.List(ctx, "", o...))
	}},

	// Health
	{"Health.ListNodeChecks", "READ MaxStale Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Health.ListNodeChecks(ctx, "n1", o...))
	}},
	{"Health.ListServiceChecks", "READ MaxStale Filter Near NMeta ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Health.ListServiceChecks(ctx, "web", o...))
	}},
	{"Health.ListChecksInState", "READ MaxStale Filter Near NMeta ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Health.ListChecksInState(ctx, consul.HealthCritical, o...))
	}},
	{"Health.ListServiceInstances", "READ MaxStale Cached Filter Near NMeta Tag Passing Peer ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Health.ListServiceInstances(ctx, "web", o...))
	}},
	{"Health.ListConnectInstances", "READ MaxStale Cached Filter Near NMeta Tag Passing Peer ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Health.ListConnectInstances(ctx, "web", o...))
	}},
	{"Health.ListIngressInstances", "READ MaxStale Cached Filter Near NMeta Tag Passing Peer ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Health.ListIngressInstances(ctx, "web", o...))
	}},

	// KV
	{"KV.Get", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.KV.Get(ctx, "k", o...))
	}},
	{"KV.GetRaw", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.KV.GetRaw(ctx, "k", o...))
	}},
	{"KV.List", "READ ENT Sep", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.KV.List(ctx, "p", o...))
	}},
	{"KV.ListKeys", "READ ENT Sep", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.KV.ListKeys(ctx, "p", o...))
	}},
	{"KV.Put", "DC ENT Flags", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.KV.Put(ctx, "k", []byte("v"), o...)
	}},
	{"KV.PutCAS", "DC ENT Flags", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.KV.PutCAS(ctx, "k", []byte("v"), 3, o...))
	}},
	{"KV.Acquire", "DC ENT Flags", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.KV.Acquire(ctx, "k", []byte("v"), "s1", o...))
	}},
	{"KV.Release", "DC ENT Flags", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.KV.Release(ctx, "k", []byte("v"), "s1", o...))
	}},
	{"KV.Delete", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.KV.Delete(ctx, "k", o...)
	}},
	{"KV.DeleteTree", "DC ENT Sep", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.KV.DeleteTree(ctx, "p", o...)
	}},
	{"KV.DeleteCAS", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.KV.DeleteCAS(ctx, "k", 3, o...))
	}},

	// Members
	{"Members.List", "Filter AP WAN MSeg", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Members.List(ctx, o...))
	}},
	{"Members.Join", "AP WAN", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Members.Join(ctx, "10.0.0.2:8301", o...)
	}},
	{"Members.Leave", "", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Members.Leave(ctx, o...)
	}},
	{"Members.ForceLeave", "AP Prune WAN", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Members.ForceLeave(ctx, "n2", o...)
	}},

	// Operator
	{"Operator.RaftConfiguration", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.RaftConfiguration(ctx, o...))
	}},
	{"Operator.RemoveRaftPeerByID", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.RemoveRaftPeerByID(ctx, "id1", o...)
	}},
	{"Operator.RemoveRaftPeerByAddress", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.RemoveRaftPeerByAddress(ctx, "10.0.0.2:8300", o...)
	}},
	{"Operator.TransferLeader", "AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.TransferLeader(ctx, "", o...)
	}},
	{"Operator.AutopilotConfiguration", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.AutopilotConfiguration(ctx, o...))
	}},
	{"Operator.SetAutopilotConfiguration", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.SetAutopilotConfiguration(ctx, &consul.AutopilotConfiguration{}, o...)
	}},
	{"Operator.SetAutopilotConfigurationCAS", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Operator.SetAutopilotConfigurationCAS(ctx, &consul.AutopilotConfiguration{}, 3, o...))
	}},
	{"Operator.AutopilotHealth", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.AutopilotHealth(ctx, o...))
	}},
	{"Operator.AutopilotState", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.AutopilotState(ctx, o...))
	}},
	{"Operator.ListKeys", "Relay LocalOnly", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.ListKeys(ctx, o...))
	}},
	{"Operator.InstallKey", "Relay", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.InstallKey(ctx, "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", o...)
	}},
	{"Operator.UseKey", "Relay", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.UseKey(ctx, "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", o...)
	}},
	{"Operator.RemoveKey", "Relay", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Operator.RemoveKey(ctx, "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", o...)
	}},
	{"Operator.Utilization", "DC ENT UTodayOnly USendReport UMessage", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.Utilization(ctx, o...))
	}},
	{"Operator.Usage", "READ MaxStale ENT Global", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Operator.Usage(ctx, o...))
	}},

	// Peering: no datacenter.
	{"Peering.GenerateToken", "AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Peering.GenerateToken(ctx, consul.PeeringGenerateTokenRequest{PeerName: "p"}, o...))
	}},
	{"Peering.Establish", "AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeerName: "p", PeeringToken: "tok"}, o...)
	}},
	{"Peering.Get", "Cons Idx Wait AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Peering.Get(ctx, "p", o...))
	}},
	{"Peering.Delete", "AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Peering.Delete(ctx, "p", o...)
	}},
	{"Peering.List", "Cons Idx Wait AP", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Peering.List(ctx, o...))
	}},

	// Prepared queries: no Enterprise scopes.
	{"Query.Create", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Query.Create(ctx, &consul.PreparedQuery{Service: consul.PreparedQueryService{Service: "web"}}, o...))
	}},
	{"Query.Update", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Query.Update(ctx, &consul.PreparedQuery{ID: "q1", Service: consul.PreparedQueryService{Service: "web"}}, o...)
	}},
	{"Query.Get", "READ MaxStale", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Query.Get(ctx, "q1", o...))
	}},
	{"Query.Delete", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Query.Delete(ctx, "q1", o...)
	}},
	{"Query.List", "READ MaxStale", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Query.List(ctx, o...))
	}},
	{"Query.Execute", "DC Cons MaxStale Cached MaxAge SIE Near", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Query.Execute(ctx, "q1", nil, o...))
	}},
	{"Query.Explain", "DC Cons MaxStale", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Query.Explain(ctx, "q1", o...))
	}},

	// Services (the agent's)
	{"Services.List", "Filter ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Services.List(ctx, o...))
	}},
	{"Services.Get", "Hash Wait ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Services.Get(ctx, "web1", o...))
	}},
	{"Services.Register", "ENT Replace", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Services.Register(ctx, &consul.AgentServiceRegistration{Name: "web"}, o...)
	}},
	{"Services.Deregister", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Services.Deregister(ctx, "web1", o...)
	}},
	{"Services.EnableMaintenance", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Services.EnableMaintenance(ctx, "web1", "r", o...)
	}},
	{"Services.DisableMaintenance", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Services.DisableMaintenance(ctx, "web1", o...)
	}},
	{"Services.GetHealthByID", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Services.GetHealthByID(ctx, "web1", o...))
	}},
	{"Services.GetHealthByName", "ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore3(c.Services.GetHealthByName(ctx, "web", o...))
	}},

	// Sessions
	{"Session.Create", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Session.Create(ctx, nil, o...))
	}},
	{"Session.Destroy", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Session.Destroy(ctx, "s1", o...)
	}},
	{"Session.Renew", "DC ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore1(c.Session.Renew(ctx, "s1", o...))
	}},
	{"Session.Get", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Session.Get(ctx, "s1", o...))
	}},
	{"Session.ListByNode", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Session.ListByNode(ctx, "n1", o...))
	}},
	{"Session.List", "READ ENT", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Session.List(ctx, o...))
	}},

	// Snapshots, status, transactions
	{"Snapshot.Save", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		body, _, err := c.Snapshot.Save(ctx, o...)
		if body != nil {
			_, _ = io.Copy(io.Discard, body)
			body.Close()
		}
		return err
	}},
	{"Snapshot.Restore", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return c.Snapshot.Restore(ctx, strings.NewReader("snap"), o...)
	}},
	{"Status.Leader", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Status.Leader(ctx, o...))
	}},
	{"Status.Peers", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Status.Peers(ctx, o...))
	}},
	{"Txn.Execute", "DC Cons", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Txn.New().Get("k").Execute(ctx, o...)) // reads only
	}},
	{"Txn.Execute", "DC", func(ctx context.Context, c *consul.Client, o ...consul.Option) error {
		return ignore2(c.Txn.New().Set("k", []byte("v")).Execute(ctx, o...)) // writes
	}},
}

// TestOptionsPerMethod calls every method with every kind of option: an
// option that applies is sent, any other is refused with an *ArgumentError
// naming the option and the method, before anything is sent.
func TestOptionsPerMethod(t *testing.T) {
	ctx := testCtx(t)
	for _, row := range optionRows {
		allowed := optionCodes(row.codes)
		for _, p := range optionProbes {
			w, c := newWire(t, reply{Body: "null"})
			opts := p.opts
			if p.code == "Wait" && allowed["Idx"] {
				opts = append([]consul.Option{consul.WaitIndex(1)}, opts...)
			} else if p.code == "Wait" && allowed["Hash"] {
				opts = append([]consul.Option{consul.WaitHash("h0")}, opts...)
			}
			err := row.call(ctx, c, opts...)
			var ae *consul.ArgumentError
			refused := errors.As(err, &ae) && strings.HasPrefix(ae.Arg, "option ")
			if allowed[p.code] {
				require.False(t, refused, "%s refused %s: %v", row.name, p.name, err)
				reqs := w.requests()
				require.Len(t, reqs, 1, "%s with %s: %v", row.name, p.name, err)
				require.True(t, p.sent(reqs[0]), "%s did not send %s: %s %v %v", row.name, p.name, reqs[0].RawPath, reqs[0].Query, reqs[0].Header)
				continue
			}
			require.True(t, refused, "%s accepted %s (err %v)", row.name, p.name, err)
			require.Contains(t, ae.Arg, p.name, row.name)
			require.Contains(t, ae.Reason, row.name)
			w.noRequest(t)
		}
	}
}

// The client's defaults apply only where the method takes that option:
// Config.Namespace is never sent to a route that does not read it (Consul
// CE refuses any namespace on the routes that do).
func TestClientDefaultsOnlyWhereTheyApply(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWireConfig(t, consul.Config{Datacenter: "dc7", Namespace: "team", Partition: "part", Consistency: consul.ConsistencyStale}, reply{Body: "null"})
	_, _, err := c.KV.Get(ctx, "k")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/kv/k", q("dc", "dc7", "ns", "team", "partition", "part", "stale", ""))

	w.reset(reply{Body: "null"})
	_, _, err = c.Agent.Self(ctx)
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/self", nil)

	w.reset(reply{Body: "null"})
	_, _, err = c.Catalog.ListNodes(ctx)
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/nodes", q("dc", "dc7", "partition", "part", "stale", ""))

	w.reset(reply{Body: "true"})
	require.NoError(t, c.KV.Put(ctx, "k", nil))
	w.only(t).expect(t, "PUT", "/v1/kv/k", q("dc", "dc7", "ns", "team", "partition", "part"))
}

// The example: a write given read and catalog options is refused,
// naming the first option that does not apply, and sends nothing.
func TestWriteRefusesReadOptions(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	err := c.KV.Put(testCtx(t), "k", []byte("v"), consul.Tag("prod"), consul.Passing(), consul.MembersWAN(), consul.WaitIndex(7), consul.Stale())
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "option Tag", ae.Arg)
	require.Contains(t, ae.Reason, "KV.Put")
	w.noRequest(t)
}

// TestEveryMethodDeclaresItsOptions: every endpoint the package declares
// has a row in optionRows, and every row names a declared endpoint, so
// that a new method cannot skip the table.
func TestEveryMethodDeclaresItsOptions(t *testing.T) {
	declared := map[string]bool{}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "endpoint" {
				return true
			}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "name" {
					if s, ok := kv.Value.(*ast.BasicLit); ok {
						name, _ := strconv.Unquote(s.Value)
						declared[name] = true
					}
				}
			}
			return true
		})
	}
	delete(declared, "Client.Do") // every option applies: TestEveryOptionWire
	rows := map[string]bool{}
	for _, r := range optionRows {
		rows[r.name] = true
	}
	var missing, stale []string
	for n := range declared {
		if !rows[n] {
			missing = append(missing, n)
		}
	}
	for n := range rows {
		if !declared[n] {
			stale = append(stale, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	require.Empty(t, missing, "methods without a row in optionRows")
	require.Empty(t, stale, "rows of methods that declare no endpoint")
	require.Greater(t, len(declared), 150)
}
