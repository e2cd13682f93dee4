package consul

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The naming rule of DESIGN.md ("Names"), checked on the package's exported
// API as its source declares it: every exported func, every exported method
// of an exported type, every method of an exported interface, and every
// exported type name. A name that breaks the rule fails TestNames with the
// reason; a name the rule cannot judge by its form (a singleton read, a
// field accessor) must be listed in nameAllowed with why it is right.

// nameVerbs are the verbs a method may start with: the collection verbs,
// then Consul's own action verbs (Register, Acquire, Fire...) and the verbs
// of this library's own types (Lock, Campaign, Subscribe...). Several words
// make one verb where Consul says so (ForceLeave, EnableMaintenance).
var nameVerbs = []string{
	// Collections and singletons (DESIGN: List, Get, Create, Update,
	// Delete; Put for write-by-key; Set for a singleton).
	"List", "Get", "Create", "Update", "Delete", "Put", "Set",
	// Consul's action verbs.
	"Register", "Deregister", "Join", "Leave", "ForceLeave",
	"Acquire", "Release", "Renew", "Destroy", "Fire", "Pass", "Warn", "Fail",
	"EnableMaintenance", "DisableMaintenance", "Bootstrap", "Login", "Logout",
	"Execute", "Explain", "Save", "Restore", "Establish", "GenerateToken",
	"Reload", "Monitor", "Authorize", "Check", "Match", "Clone", "Preview",
	"Install", "Use", "Remove", "Transfer",
	// This library's own types: locks, elections, caches, watches.
	"Lock", "Unlock", "TryLock", "TryAcquire", "Campaign", "Resign",
	"Proclaim", "Observe", "Close", "WaitReady", "Subscribe", "Watch",
	// Client.Do: the escape hatch that sends any request.
	"Do",
	// Observers of calls (Config.Observer): StartCall, then an Attempt per
	// retry or failover, and End, named by the event they see.
	"Start", "Attempt", "End",
}

// nameFuncVerbs are the verbs a package-level func (other than a
// constructor NewX or an Option constructor) may start with.
var nameFuncVerbs = []string{"Watch", "Bind", "Parse", "Decode", "Is", "Register"}

// nameForbidden are the words the rule bans from every func and method
// name: Get reads one object, Put writes by key; never Read, Info, Fetch,
// Apply or Upsert.
var nameForbidden = []string{"Read", "Info", "Fetch", "Apply", "Upsert"}

// nameCollectionVerbs are the verbs that, found after the first word, mark
// a noun-first name (TokenCreate, PolicyList).
var nameCollectionVerbs = []string{"List", "Get", "Create", "Update", "Delete", "Put", "Set", "Read"}

// nameAllowed lists the methods and funcs whose name is not a verb, each
// with the reason it is right: singletons read by their noun, accessors of
// a value, and conversions. An entry that no longer matches a declaration
// fails the test, so that the list stays true.
var nameAllowed = map[string]string{
	// The discovery package.
	"Instance.HostPort":   "accessor: the instance's address as host:port",
	"Instances.All":       "accessor: the current healthy set, every instance",
	"Instances.Err":       "accessor: the error of the latest request, like Cache.Err",
	"Instances.Len":       "accessor: the size of the current set",
	"Instances.Meta":      "accessor: the Meta of the current set",
	"Instances.Next":      "the picker's next instance, as an iterator's Next",
	"Instances.Picker":    "accessor: the picker in use",
	"Instances.Query":     "accessor: what the set selects",
	"Registration.Done":   "accessor: closed when the registration ended, like context.Context.Done",
	"Registration.ID":     "accessor: the registered service's ID",
	"Registration.State":  "accessor: the registration's state",
	"Transport.Instances": "accessor: the live set a host resolves to",
	"Dialer.Instances":    "accessor: the live set a host resolves to",
	// The connect package.
	"Service.Name":            "accessor: the service's name",
	"Service.ID":              "accessor: the service's SPIFFE ID",
	"Service.Ready":           "accessor: whether the first leaf and roots arrived",
	"Service.Err":             "accessor: the error of the latest request, like Cache.Err",
	"Service.Leaf":            "accessor: the current leaf certificate",
	"Service.Roots":           "accessor: the current CA roots",
	"Service.ServerTLSConfig": "accessor: the server side's *tls.Config, named after its type",
	"Service.ClientTLSConfig": "accessor: the client side's *tls.Config for a target, named after its type",
	"Service.HTTPClient":      "accessor: an *http.Client for Connect services, named after its type",
	"Service.Dial":            "net's verb: dial a connection (net.Dial, tls.Dial)",
	"PeerServiceID":           "reads the SPIFFE ID of a TLS connection's peer, like tls.ConnectionState's fields",
	// Singletons read by their noun (DESIGN: "read by its noun").
	"AgentService.Self":                 "singleton: GET /v1/agent/self",
	"AgentService.Host":                 "singleton: GET /v1/agent/host",
	"AgentService.Version":              "singleton: GET /v1/agent/version",
	"AgentService.Metrics":              "singleton: GET /v1/agent/metrics",
	"AgentService.MetricsPrometheus":    "singleton: the same metrics in Prometheus format",
	"AgentService.MetricsStream":        "singleton: GET /v1/agent/metrics/stream, the metrics as a stream",
	"AgentService.CARoots":              "singleton: GET /v1/agent/connect/ca/roots",
	"AgentService.LeafCert":             "singleton per service: the agent's cached leaf certificate",
	"StatusService.Leader":              "singleton: GET /v1/status/leader",
	"StatusService.Peers":               "singleton: GET /v1/status/peers, the Raft peer set",
	"OperatorService.RaftConfiguration": "singleton: GET /v1/operator/raft/configuration",
	"OperatorService.AutopilotConfiguration": "singleton: GET /v1/operator/autopilot/configuration (written with " +
		"SetAutopilotConfiguration)",
	"OperatorService.AutopilotHealth": "singleton: GET /v1/operator/autopilot/health",
	"OperatorService.AutopilotState":  "singleton: GET /v1/operator/autopilot/state",
	"OperatorService.Usage":           "singleton: GET /v1/operator/usage",
	"OperatorService.Utilization":     "singleton: GET /v1/operator/utilization",
	"ConnectService.CAConfiguration":  "singleton: GET /v1/connect/ca/configuration (written with SetCAConfiguration)",
	"ConnectService.CARoots":          "singleton: GET /v1/connect/ca/roots",
	"ConnectService.CARootsPEM":       "singleton: the same roots as PEM",
	"ACLService.Replication":          "singleton: GET /v1/acl/replication",
	"Election.Leader":                 "singleton: the election's current leader, read from its key",
	"TxnService.New":                  "constructor: a new transaction builder (client.Txn.New())",
	"Client.Address":                  "accessor: the agent's address",
	"Client.Agents":                   "accessor: every configured agent's address",
	"Client.Logger":                   "accessor: Config.Logger",
	"Lock.Session":                    "accessor: the ID of the session holding the lock",
	"Semaphore.Session":               "accessor: the ID of the session holding the slot",
	"Backoff.Delay":                   "accessor: the delay before a given attempt, computed from the fields",
	"ConnectCARoots.Active":           "accessor: the active root of the answer",
	"RaftConfiguration.Leader":        "accessor: the leader among the answer's servers",
	"ServiceEntry.AggregatedStatus":   "accessor: the worst status of the entry's checks",
	"Cache.Err":                       "accessor: the last error of the cache's watch",
	"Cache.Snapshot":                  "accessor: the cache's current value",
	"HealthCache.Addresses":           "accessor: host:port of each instance in the cache",
	"HealthCache.Query":               "accessor: what the cache keeps",
	"KVCache.Prefix":                  "accessor: the prefix the cache keeps",
	"Election.Key":                    "accessor: the election's key",
	"Lock.Key":                        "accessor: the lock's key",
	"Election.Session":                "accessor: the ID of the session of the current term",
	"Lock.Index":                      "accessor: the fencing token of the hold",
	"Semaphore.Index":                 "accessor: the fencing token of the slot",
	"Election.Index":                  "accessor: the fencing token of the term",
	"Semaphore.Key":                   "accessor: the contender key of the slot held",
	"Semaphore.Prefix":                "accessor: the semaphore's prefix",
	"Session.ID":                      "accessor: the session's ID",
	"Session.TTL":                     "accessor: the session's TTL",
	"Session.Done":                    "accessor: the channel closed when the session ends (context.Context's spelling)",
	"Session.Err":                     "accessor: why the session ended (context.Context's spelling)",
	"WatchGroup.Len":                  "accessor: the number of shared loops running",
	"StatusError.Temporary":           "predicate: whether a retry may succeed (net.Error's spelling)",
	"ConfigEntryHeader.Header":        "accessor: implements ConfigEntry once for every entry type",
	"ConfigEntry.Header":              "accessor: the fields every configuration entry has",
	"Txn.Ops":                         "accessor: the operations added so far",
	"Txn.KV":                          "builder: adds any KV operation (the verb is in the KVTxnOp)",
	"Txn.Node":                        "builder: adds any catalog node operation (the verb is in the NodeTxnOp)",
	"Txn.Service":                     "builder: adds any catalog service operation (the verb is in the ServiceTxnOp)",
	"Txn.Check":                       "builder: adds any catalog check operation (the verb is in the CheckTxnOp)",
	// Package-level funcs.
	"ConfigFromEnv":    "constructor of a Config from the CONSUL_* variables (DESIGN's name)",
	"EventIDToIndex":   "conversion: an event ID to the index to block on",
	"CheckKey":         "validation: whether the KV calls take a key, for code built on KV keys",
	"NewSessionFromID": "constructor of a concurrency.Session from the ID of an existing session",
}

// nameTxnVerbs are the builder methods of Txn: Consul's verbs of /v1/txn
// (set, cas, lock, get-tree, check-index...), spelled as Consul spells
// them, not as the rule spells calls that touch the network. The KV verbs
// are bare (Set, GetTree); the node, service and check verbs (get, set,
// cas, delete, delete-cas) name their object after the verb, with CAS last
// as the rule puts it (GetNode, SetServiceCAS, DeleteCheckCAS). They add an
// operation and send nothing: a Get here reads nothing yet, which is why
// the rule's "no Get prefix on an accessor" does not apply.
var nameTxnVerbs = map[string]bool{
	"Set": true, "SetFlags": true, "CAS": true, "Lock": true, "Unlock": true,
	"Get": true, "GetOrEmpty": true, "GetTree": true, "CheckIndex": true, "CheckSession": true,
	"CheckNotExists": true, "Delete": true, "DeleteCAS": true, "DeleteTree": true,
	"GetNode": true, "SetNode": true, "SetNodeCAS": true, "DeleteNode": true, "DeleteNodeCAS": true,
	"GetService": true, "SetService": true, "SetServiceCAS": true, "DeleteService": true, "DeleteServiceCAS": true,
	"GetCheck": true, "SetCheck": true, "SetCheckCAS": true, "DeleteCheck": true, "DeleteCheckCAS": true,
}

// nameTypeAllowed lists the exported types whose name holds a word the rule
// bans from calls, with the reason.
var nameTypeAllowed = map[string]string{
	"BlockingRead": "a read as a noun: the function Watch, NewWatchGroup and NewCache run",
	"ACLLoginParams": "Consul's name for the body of POST /v1/acl/login; every field is the login " +
		"itself, not options",
}

// nameInterfaceMethods are methods a type has because a standard interface
// asks for them; their names are the interface's.
var nameInterfaceMethods = map[string]bool{
	"MarshalJSON": true, "UnmarshalJSON": true, // json.Marshaler, json.Unmarshaler
	"Error": true, "Unwrap": true, "Is": true, "As": true, // error
	"String":      true, // fmt.Stringer
	"RoundTrip":   true, // http.RoundTripper
	"DialContext": true, // the dial func of net.Dialer and http.Transport
}

// nameDecl is one exported func or method as the checker sees it.
type nameDecl struct {
	recv    string // receiver's type name, "" for a func
	name    string
	params  []string // parameter types, as written
	results []string // result types, as written
	iface   bool     // a method of an interface
}

func (d nameDecl) String() string {
	if d.recv == "" {
		return d.name
	}
	return d.recv + "." + d.name
}

// nameWords splits a Go name into words: "SetAutopilotConfigurationCAS" is
// Set Autopilot Configuration CAS, "CARootsPEM" is CA Roots PEM.
func nameWords(name string) []string {
	r := []rune(name)
	var words []string
	start := 0
	for i := 1; i < len(r); i++ {
		lowerToUpper := unicode.IsUpper(r[i]) && !unicode.IsUpper(r[i-1])
		acronymEnd := unicode.IsUpper(r[i]) && unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
		if lowerToUpper || acronymEnd {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	return append(words, string(r[start:]))
}

// nameStartsWith reports whether name's first words are verb's words.
func nameStartsWith(name, verb string) bool {
	if !strings.HasPrefix(name, verb) {
		return false
	}
	rest := name[len(verb):]
	return rest == "" || unicode.IsUpper([]rune(rest)[0])
}

func nameHasWord(words []string, w string) int {
	for i, x := range words {
		if x == w {
			return i
		}
	}
	return -1
}

// nameCheckType returns what is wrong with an exported type's name.
func nameCheckType(name string) []string {
	if _, ok := nameTypeAllowed[name]; ok {
		return nil
	}
	var bad []string
	words := nameWords(name)
	for _, w := range nameForbidden {
		if nameHasWord(words, w) >= 0 {
			bad = append(bad, fmt.Sprintf("type %s: the word %q is not part of the rule's vocabulary", name, w))
		}
	}
	if strings.HasSuffix(name, "Params") || strings.HasSuffix(name, "Opts") {
		bad = append(bad, fmt.Sprintf("type %s: options of a call are XOptions", name))
	}
	return bad
}

// nameCheck returns what is wrong with an exported func or method's name;
// nil when it follows the rule.
func nameCheck(d nameDecl) []string {
	var bad []string
	fail := func(format string, args ...any) {
		bad = append(bad, d.String()+": "+fmt.Sprintf(format, args...))
	}
	if d.recv != "" && nameInterfaceMethods[d.name] {
		return nil
	}
	if d.recv == "Txn" && nameTxnVerbs[d.name] {
		return nil
	}
	words := nameWords(d.name)
	for _, w := range nameForbidden {
		if nameHasWord(words, w) >= 0 {
			fail("%q is not a verb of the rule (reads are Get or List, writes Put, Create, Update or Set)", w)
		}
	}
	if i := nameHasWord(words, "CAS"); i >= 0 {
		if i != len(words)-1 {
			fail("CAS is a suffix: the plain verb, then CAS (PutCAS, SetAutopilotConfigurationCAS)")
		} else if !nameStartsWith(d.name, "Put") && !nameStartsWith(d.name, "Set") && !nameStartsWith(d.name, "Delete") {
			fail("a check-and-set is Put, Set or Delete with the suffix CAS")
		} else if len(d.params) > 0 && d.params[0] == "context.Context" && strings.Join(d.results, ", ") != "bool, error" {
			fail("a check-and-set returns (bool, error): false and a nil error when it was not applied, got (%s)",
				strings.Join(d.results, ", "))
		}
	}
	if _, ok := nameAllowed[d.String()]; ok {
		return bad
	}
	takesCtx := len(d.params) > 0 && d.params[0] == "context.Context"

	if d.recv == "" {
		switch {
		case len(d.results) == 1 && strings.HasSuffix(d.results[0], "Option"):
			// An Option constructor is named after the option it sets
			// (Datacenter, Stale, WatchBackoff); the forbidden words above
			// still apply.
			return bad
		case nameStartsWith(d.name, "New"):
			want := d.name[len("New"):]
			got := ""
			if len(d.results) > 0 {
				got = strings.TrimPrefix(d.results[0], "*")
				if i := strings.IndexByte(got, '['); i >= 0 {
					got = got[:i]
				}
			}
			if got != want {
				fail("a constructor NewX returns an X, this one returns %s", got)
			}
			return bad
		}
		for _, v := range nameFuncVerbs {
			if nameStartsWith(d.name, v) {
				return bad
			}
		}
		fail("a func starts with a verb (%s), is a constructor NewX or an Option constructor, or is listed in nameAllowed with a reason",
			strings.Join(nameFuncVerbs, ", "))
		return bad
	}

	verb := ""
	for _, v := range nameVerbs {
		if nameStartsWith(d.name, v) && len(v) > len(verb) {
			verb = v
		}
	}
	if verb == "" {
		if nameHasWordAfterFirst(words, nameCollectionVerbs) != "" {
			fail("noun-first: the verb comes first (CreateToken, not TokenCreate)")
		} else {
			fail("a method starts with a verb of the rule, or is listed in nameAllowed with a reason")
		}
		return bad
	}
	if verb == "Get" && !takesCtx && !(d.name == "Get" && len(d.params) > 0) {
		fail("no Get prefix on a field accessor: name it after the field")
	}
	return bad
}

// nameHasWordAfterFirst returns the first of verbs found after the first
// word of words, or "".
func nameHasWordAfterFirst(words, verbs []string) string {
	for _, w := range words[1:] {
		for _, v := range verbs {
			if w == v {
				return v
			}
		}
	}
	return ""
}

// nameExprString writes a type expression as the source spells it, for
// the checks that look at signatures (context.Context first, (bool, error)).
func nameExprString(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return nameExprString(t.X) + "." + t.Sel.Name
	case *ast.StarExpr:
		return "*" + nameExprString(t.X)
	case *ast.ArrayType:
		return "[]" + nameExprString(t.Elt)
	case *ast.MapType:
		return "map[" + nameExprString(t.Key) + "]" + nameExprString(t.Value)
	case *ast.Ellipsis:
		return "..." + nameExprString(t.Elt)
	case *ast.IndexExpr:
		return nameExprString(t.X) + "[" + nameExprString(t.Index) + "]"
	case *ast.IndexListExpr:
		var parts []string
		for _, x := range t.Indices {
			parts = append(parts, nameExprString(x))
		}
		return nameExprString(t.X) + "[" + strings.Join(parts, ", ") + "]"
	case *ast.FuncType:
		return "func"
	case *ast.InterfaceType:
		return "interface"
	case *ast.ChanType:
		return "chan " + nameExprString(t.Value)
	}
	return fmt.Sprintf("%T", e)
}

func nameFields(fl *ast.FieldList) []string {
	if fl == nil {
		return nil
	}
	var out []string
	for _, f := range fl.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for range n {
			out = append(out, nameExprString(f.Type))
		}
	}
	return out
}

// nameRecv returns the type name of a method's receiver: T for t T, *T,
// *T[X].
func nameRecv(fl *ast.FieldList) string {
	e := fl.List[0].Type
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	switch t := e.(type) {
	case *ast.IndexExpr:
		e = t.X
	case *ast.IndexListExpr:
		e = t.X
	}
	return e.(*ast.Ident).Name
}

// nameScan parses the package's non-test files and returns its exported
// funcs and methods and its exported type names.
func nameScan(t *testing.T, dir string) (decls []nameDecl, types []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		require.NoError(t, err)
		if strings.HasSuffix(f.Name.Name, "_test") || f.Name.Name == "main" {
			continue
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				nd := nameDecl{name: d.Name.Name, params: nameFields(d.Type.Params), results: nameFields(d.Type.Results)}
				if d.Recv != nil {
					nd.recv = nameRecv(d.Recv)
					if !ast.IsExported(nd.recv) {
						continue
					}
				}
				decls = append(decls, nd)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok || !ts.Name.IsExported() {
						continue
					}
					types = append(types, ts.Name.Name)
					it, ok := ts.Type.(*ast.InterfaceType)
					if !ok {
						continue
					}
					for _, m := range it.Methods.List {
						ft, ok := m.Type.(*ast.FuncType)
						if !ok {
							continue // an embedded interface
						}
						for _, n := range m.Names {
							if n.IsExported() {
								decls = append(decls, nameDecl{recv: ts.Name.Name, name: n.Name, iface: true,
									params: nameFields(ft.Params), results: nameFields(ft.Results)})
							}
						}
					}
				}
			}
		}
	}
	return decls, types
}

// TestNames applies the naming rule to the exported API of the package and
// of its concurrency, discovery and connect packages.
func TestNames(t *testing.T) {
	decls, types := nameScan(t, ".")
	for _, dir := range []string{"concurrency", "discovery", "connect"} {
		pdecls, ptypes := nameScan(t, dir)
		decls, types = append(decls, pdecls...), append(types, ptypes...)
	}
	// The scan must see the API, or the test would pass on nothing.
	require.Greater(t, len(decls), 250, "exported funcs and methods found")
	seen := map[string]bool{}
	for _, d := range decls {
		seen[d.String()] = true
	}
	for _, want := range []string{"KVService.Get", "ACLService.CreateToken", "NewClient", "ConfigEntry.Header", "Cache.Subscribe", "Lock.Unlock"} {
		require.True(t, seen[want], "the scan misses %s", want)
	}

	var bad []string
	for _, d := range decls {
		bad = append(bad, nameCheck(d)...)
	}
	for _, ty := range types {
		bad = append(bad, nameCheckType(ty)...)
	}
	sort.Strings(bad)
	assert.Empty(t, bad, "names that break the rule of DESIGN.md (Names):\n%s", strings.Join(bad, "\n"))

	typeSet := map[string]bool{}
	for _, ty := range types {
		typeSet[ty] = true
	}
	for k := range nameAllowed {
		assert.True(t, seen[k], "nameAllowed lists %s, which the package no longer declares", k)
	}
	for k := range nameTypeAllowed {
		assert.True(t, typeSet[k], "nameTypeAllowed lists %s, which the package no longer declares", k)
	}
}

// TestNamesRefuseOldNames proves the checker rejects every name the rule
// replaced, with the signature it had.
func TestNamesRefuseOldNames(t *testing.T) {
	read := func(recv, name string, arg ...string) nameDecl {
		return nameDecl{recv: recv, name: name, params: append([]string{"context.Context"}, append(arg, "...Option")...),
			results: []string{"*X", "*Meta", "error"}}
	}
	write := func(recv, name string, arg ...string) nameDecl {
		return nameDecl{recv: recv, name: name, params: append([]string{"context.Context"}, append(arg, "...Option")...),
			results: []string{"error"}}
	}
	cas := func(recv, name string) nameDecl {
		return nameDecl{recv: recv, name: name, params: []string{"context.Context", "ConfigEntry", "uint64", "...Option"},
			results: []string{"bool", "error"}}
	}
	accessor := func(recv, name string) nameDecl {
		return nameDecl{recv: recv, name: name, results: []string{"string"}}
	}
	var old []nameDecl
	for _, n := range []string{"AuthMethodRead", "BindingRuleRead", "PolicyRead", "PolicyReadByName", "RoleRead",
		"RoleReadByName", "TemplatedPolicyRead", "TokenRead", "TokenReadSelf", "AuthMethodList", "BindingRuleList",
		"PolicyList", "RoleList", "TemplatedPolicyList", "TokenList"} {
		old = append(old, read("ACLService", n, "string"))
	}
	for _, n := range []string{"AuthMethodCreate", "AuthMethodUpdate", "AuthMethodDelete", "BindingRuleCreate",
		"BindingRuleUpdate", "BindingRuleDelete", "PolicyCreate", "PolicyUpdate", "PolicyDelete", "RoleCreate",
		"RoleUpdate", "RoleDelete", "TemplatedPolicyPreview", "TokenCreate", "TokenUpdate", "TokenDelete", "TokenClone"} {
		old = append(old, write("ACLService", n, "string"))
	}
	for _, n := range []string{"Datacenters", "Nodes", "Services", "Service", "Connect", "Node", "NodeServices", "GatewayServices"} {
		old = append(old, read("CatalogService", n))
	}
	old = append(old,
		write("ConfigEntriesService", "Apply", "ConfigEntry"), cas("ConfigEntriesService", "ApplyCAS"),
		read("ConfigEntriesService", "DiscoveryChain", "string"), read("ConfigEntriesService", "ExportedServices"),
		write("ConnectService", "UpsertIntention", "*Intention"),
		read("CoordinateService", "Datacenters"), read("CoordinateService", "Nodes"), read("CoordinateService", "Node", "string"),
		cas("KVService", "CAS"), read("KVService", "Keys", "string"),
		nameDecl{recv: "KVService", name: "Txn", results: []string{"*Txn"}},
		cas("OperatorService", "CASAutopilotConfiguration"),
		read("OperatorService", "KeyringList"), write("OperatorService", "KeyringInstall", "string"),
		write("OperatorService", "KeyringUse", "string"), write("OperatorService", "KeyringRemove", "string"),
		write("OperatorService", "RaftRemovePeerByAddress", "string"), write("OperatorService", "RaftRemovePeerByID", "string"),
		write("OperatorService", "RaftTransferLeader", "string"),
		read("PeeringService", "Read", "string"), read("QueryService", "Read", "string"),
		read("SessionService", "Info", "string"), read("SessionService", "Node", "string"),
		read("ServicesService", "HealthByID", "string"), read("ServicesService", "HealthByName", "string"),
		nameDecl{recv: "", name: "WatchReadOptions", params: []string{"...Option"}, results: []string{"WatchOption"}},
		// Not renamed but broken in other ways: a CAS that is not (bool, error),
		// a constructor of the wrong type.
		nameDecl{recv: "KVService", name: "PutCAS", params: []string{"context.Context", "string", "uint64"}, results: []string{"error"}},
		nameDecl{recv: "", name: "NewLock", results: []string{"*Semaphore", "error"}},
	)
	for _, n := range []string{"Node", "Checks", "State", "Service", "Connect", "Ingress"} {
		old = append(old, read("HealthService", n, "string"))
	}
	for _, n := range []string{"GetKind", "GetName", "GetNamespace", "GetPartition", "GetMeta", "GetCreateIndex", "GetModifyIndex"} {
		old = append(old, accessor("ServiceDefaultsConfigEntry", n), accessor("ConfigEntry", n))
	}
	// (Agent's UpdateToken became SetToken by the singleton rule, which a
	// name alone cannot tell: Update is a verb of the rule.)
	for _, d := range old {
		assert.NotEmpty(t, nameCheck(d), "%s follows the rule?", d)
	}
	for _, ty := range []string{"AgentHostInfo", "PeeringRemoteInfo", "QueryExecuteParams"} {
		assert.NotEmpty(t, nameCheckType(ty), "type %s follows the rule?", ty)
	}

	// And the new names pass.
	for _, d := range []nameDecl{
		read("ACLService", "GetSelfToken"), read("ACLService", "ListTemplatedPolicies"),
		write("OperatorService", "RemoveRaftPeerByAddress", "string"), cas("ConfigEntriesService", "PutCAS"),
		cas("OperatorService", "SetAutopilotConfigurationCAS"), read("HealthService", "ListChecksInState", "HealthStatus"),
		{recv: "KVCache", name: "Get", params: []string{"string"}, results: []string{"*KVPair", "bool"}},
	} {
		assert.Empty(t, nameCheck(d), "%s", d)
	}
}

func TestNameWords(t *testing.T) {
	for name, want := range map[string]string{
		"SetAutopilotConfigurationCAS": "Set Autopilot Configuration CAS",
		"CASAutopilotConfiguration":    "CAS Autopilot Configuration",
		"CARootsPEM":                   "CA Roots PEM",
		"GetHealthByID":                "Get Health By ID",
		"KVCache":                      "KV Cache",
		"Get":                          "Get",
	} {
		assert.Equal(t, want, strings.Join(nameWords(name), " "), name)
	}
}
