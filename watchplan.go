package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// WatchType is the type of a watch plan: what it watches.
type WatchType string

// The watch types of Consul's watch plans (api/watch), each with the read
// that serves it.
const (
	WatchTypeKey          WatchType = "key"           // one KV key: KV.Get
	WatchTypeKeyPrefix    WatchType = "keyprefix"     // the keys under a prefix: KV.List
	WatchTypeServices     WatchType = "services"      // the catalog's services: Catalog.ListServices
	WatchTypeNodes        WatchType = "nodes"         // the catalog's nodes: Catalog.ListNodes
	WatchTypeService      WatchType = "service"       // a service's instances: Health.ListServiceInstances
	WatchTypeChecks       WatchType = "checks"        // checks in a state, or of a service: Health.ListChecksInState, Health.ListServiceChecks
	WatchTypeEvent        WatchType = "event"         // user events: Event.List
	WatchTypeConnectRoots WatchType = "connect_roots" // the mesh CA roots: Agent.CARoots
	WatchTypeConnectLeaf  WatchType = "connect_leaf"  // a service's leaf certificate: Agent.LeafCert
	WatchTypeAgentService WatchType = "agent_service" // one service of the local agent: Services.Get
)

// article is the type with its indefinite article: "a key", "an event".
func (t WatchType) article() string {
	if t != "" && strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + string(t)
	}
	return "a " + string(t)
}

var watchTypes = []WatchType{WatchTypeKey, WatchTypeKeyPrefix, WatchTypeServices, WatchTypeNodes, WatchTypeService,
	WatchTypeChecks, WatchTypeEvent, WatchTypeConnectRoots, WatchTypeConnectLeaf, WatchTypeAgentService}

// WatchPlan is a parsed watch plan: Consul's JSON description of a watch,
// as `consul watch` configurations and the agent's "watches" stanza write
// it (ParseWatchPlan), or built in Go. Each field is one parameter of the
// format, named in its comment; a parameter applies to the types listed
// there only.
//
// Watch runs it on a client. The plan's handler (a script, an HTTP call)
// is what Consul's agent runs on each change; Watch does not run it: the
// caller's loop is the handler, and Handler says what the plan asked for.
type WatchPlan struct {
	Type WatchType // "type", required
	// Datacenter ("datacenter") and Token ("token") apply to every type,
	// but the agent-local ones (event and agent_service), which take no
	// datacenter.
	Datacenter string
	Token      string
	// Stale ("stale") allows any server to answer: key, keyprefix,
	// services, nodes, service and checks.
	Stale bool
	// Filter ("filter") is a filter expression: services, nodes, service
	// and checks.
	Filter string
	Key    string // "key": the key of a key watch, required
	Prefix string // "prefix": the prefix of a keyprefix watch, required
	// Service ("service") is the service of a service watch (required), of
	// a checks watch (whose checks it watches, instead of a State), or of a
	// connect_leaf watch (required).
	Service string
	// Tags ("tag", a string or a list of them) keep a service watch's
	// instances that have every tag.
	Tags []string
	// PassingOnly ("passingonly") keeps a service watch's instances whose
	// checks all pass.
	PassingOnly bool
	// State ("state") is the state of a checks watch's checks: HealthAny
	// (the default when Service is empty too), HealthPassing,
	// HealthWarning or HealthCritical.
	State HealthStatus
	Name  string // "name": the event name of an event watch; empty for every event
	// ServiceID ("service_id") is the ID of an agent_service watch's
	// service, required.
	ServiceID string
	// Handler is what the plan runs on each change, nil when it names
	// none (a plan for `consul watch`, which takes its handler on the
	// command line).
	Handler *WatchPlanHandler
}

// WatchPlanHandler is the handler of a watch plan, as Consul's agent runs
// it: Args (or the deprecated Shell) for a script, HTTP for an HTTP call.
type WatchPlanHandler struct {
	// Type ("handler_type") is "script" or "http"; "" is a script.
	Type string
	// Args ("args", a string or a list of them) is the command to run and
	// its arguments.
	Args []string
	// Shell ("handler") is the deprecated shell command line.
	Shell string
	// HTTP ("http_handler_config") is the HTTP call of an "http" handler.
	HTTP *WatchPlanHTTPHandler
}

// WatchPlanHTTPHandler is the HTTP call of a watch plan's "http" handler.
type WatchPlanHTTPHandler struct {
	Path          string              // "path": the URL, required
	Method        string              // "method": POST when empty in the plan
	Header        map[string][]string // "header"
	Timeout       time.Duration       // "timeout": 10s when empty in the plan
	TLSSkipVerify bool                // "tls_skip_verify"
}

// WatchPlanValue is one answer of a watch plan's read: Type says which one
// field holds it.
type WatchPlanValue struct {
	Type WatchType
	// KV is a key watch's entry, nil while the key does not exist.
	KV *KVPair
	// KVPairs are a keyprefix watch's entries, empty while none exists.
	KVPairs []*KVPair
	// Services maps a services watch's service names to their tags.
	Services map[string][]string
	// Nodes are a nodes watch's nodes.
	Nodes []*Node
	// Instances are a service watch's instances with their checks.
	Instances []*ServiceEntry
	// Checks are a checks watch's checks.
	Checks []*HealthCheck
	// Events are an event watch's events received since the previous
	// answer (all of the agent's recent events in the first), oldest
	// first, as Consul's own event watch hands them to its handler.
	Events []*UserEvent
	// CARoots are a connect_roots watch's roots.
	CARoots *ConnectCARoots
	// LeafCert is a connect_leaf watch's certificate.
	LeafCert *AgentLeafCert
	// Service is an agent_service watch's service, nil while the agent
	// has no service of that ID.
	Service *NodeService
}

// planParam is one parameter of the watch-plan format.
type planParam struct {
	key   string      // its JSON key
	field string      // the WatchPlan field
	types []WatchType // the types it applies to; nil for every type
	// isSet reports whether a plan sets it, for plans built in Go.
	isSet func(p *WatchPlan) bool
	// parse reads v, decoded from JSON, into p; arg names the key in
	// errors.
	parse func(p *WatchPlan, arg string, v any) error
}

func (pp *planParam) appliesTo(t WatchType) bool {
	return pp.types == nil || slices.Contains(pp.types, t)
}

var (
	planStaleTypes  = []WatchType{WatchTypeKey, WatchTypeKeyPrefix, WatchTypeServices, WatchTypeNodes, WatchTypeService, WatchTypeChecks}
	planFilterTypes = []WatchType{WatchTypeServices, WatchTypeNodes, WatchTypeService, WatchTypeChecks}
	planDCTypes     = []WatchType{WatchTypeKey, WatchTypeKeyPrefix, WatchTypeServices, WatchTypeNodes, WatchTypeService,
		WatchTypeChecks, WatchTypeConnectRoots, WatchTypeConnectLeaf}
)

// planParams are the plan parameters other than "type" and the handler's.
var planParams = []planParam{
	{"datacenter", "Datacenter", planDCTypes, func(p *WatchPlan) bool { return p.Datacenter != "" }, planString(func(p *WatchPlan) *string { return &p.Datacenter })},
	{"token", "Token", nil, func(p *WatchPlan) bool { return p.Token != "" }, planString(func(p *WatchPlan) *string { return &p.Token })},
	{"stale", "Stale", planStaleTypes, func(p *WatchPlan) bool { return p.Stale }, planBool(func(p *WatchPlan) *bool { return &p.Stale })},
	{"filter", "Filter", planFilterTypes, func(p *WatchPlan) bool { return p.Filter != "" }, planString(func(p *WatchPlan) *string { return &p.Filter })},
	{"key", "Key", []WatchType{WatchTypeKey}, func(p *WatchPlan) bool { return p.Key != "" }, planString(func(p *WatchPlan) *string { return &p.Key })},
	{"prefix", "Prefix", []WatchType{WatchTypeKeyPrefix}, func(p *WatchPlan) bool { return p.Prefix != "" }, planString(func(p *WatchPlan) *string { return &p.Prefix })},
	{"service", "Service", []WatchType{WatchTypeService, WatchTypeChecks, WatchTypeConnectLeaf}, func(p *WatchPlan) bool { return p.Service != "" }, planString(func(p *WatchPlan) *string { return &p.Service })},
	{"tag", "Tags", []WatchType{WatchTypeService}, func(p *WatchPlan) bool { return p.Tags != nil }, planStrings(func(p *WatchPlan) *[]string { return &p.Tags })},
	{"passingonly", "PassingOnly", []WatchType{WatchTypeService}, func(p *WatchPlan) bool { return p.PassingOnly }, planBool(func(p *WatchPlan) *bool { return &p.PassingOnly })},
	{"state", "State", []WatchType{WatchTypeChecks}, func(p *WatchPlan) bool { return p.State != "" }, planString(func(p *WatchPlan) *string { return (*string)(&p.State) })},
	{"name", "Name", []WatchType{WatchTypeEvent}, func(p *WatchPlan) bool { return p.Name != "" }, planString(func(p *WatchPlan) *string { return &p.Name })},
	{"service_id", "ServiceID", []WatchType{WatchTypeAgentService}, func(p *WatchPlan) bool { return p.ServiceID != "" }, planString(func(p *WatchPlan) *string { return &p.ServiceID })},
}

// The handler's keys, which apply to every type.
const (
	planHandlerType = "handler_type"
	planArgs        = "args"
	planShell       = "handler"
	planHTTP        = "http_handler_config"
)

func planString(field func(*WatchPlan) *string) func(*WatchPlan, string, any) error {
	return func(p *WatchPlan, arg string, v any) error {
		s, ok := v.(string)
		if !ok {
			return planTypeError(arg, "a string", v)
		}
		*field(p) = s
		return nil
	}
}

func planBool(field func(*WatchPlan) *bool) func(*WatchPlan, string, any) error {
	return func(p *WatchPlan, arg string, v any) error {
		b, ok := v.(bool)
		if !ok {
			return planTypeError(arg, "a bool", v)
		}
		*field(p) = b
		return nil
	}
}

func planStrings(field func(*WatchPlan) *[]string) func(*WatchPlan, string, any) error {
	return func(p *WatchPlan, arg string, v any) error {
		l, err := planStringList(arg, v)
		if err != nil {
			return err
		}
		*field(p) = l
		return nil
	}
}

// planStringList reads a string or a list of strings, as Consul's watch
// plans take "tag" and "args".
func planStringList(arg string, v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		l := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, argError(arg, "want a string or a list of strings, got %s at index %d", jsonKind(e), i)
			}
			l[i] = s
		}
		return l, nil
	}
	return nil, planTypeError(arg, "a string or a list of strings", v)
}

func planTypeError(arg, want string, v any) error {
	return argError(arg, "want %s, got %s", want, jsonKind(v))
}

// jsonKind names the JSON kind of a value decoded into an any.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// planArg names a key of the plan in errors: watch plan "stale".
func planArg(key string) string { return fmt.Sprintf("watch plan %q", key) }

// ParseWatchPlan parses one watch plan: a JSON object such as
//
//	{"type": "service", "service": "redis", "tag": ["bar", "foo"], "passingonly": true}
//
// as `consul watch` configurations and each element of the agent's
// "watches" stanza write it (see ParseWatchPlans), with the parameters of
// Consul's api/watch for every type: the WatchPlan fields' comments name
// them. The handler's keys ("handler_type", "args", the deprecated
// "handler", "http_handler_config") fill Handler, with Consul's rules: at
// most one handler, an "http" one with its configuration and path.
//
// A key the plan's type does not take, a value of the wrong JSON type, or a
// missing or bad required value is refused with an *ArgumentError naming
// the key (watch plan "tag"), as Consul refuses it; the token is never
// part of an error. Unlike Consul, which accepts and ignores them, it
// refuses a "datacenter" on the agent-local types (event, agent_service),
// an unknown "handler_type", and unknown keys in "http_handler_config".
func ParseWatchPlan(data []byte) (*WatchPlan, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("consul: watch plan: %w", err)
	}
	if dec.More() {
		return nil, argError("watch plan", "trailing data after the JSON object")
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, argError("watch plan", "want a JSON object, got %s", jsonKind(raw))
	}
	return parseWatchPlan(obj, "")
}

// ParseWatchPlans parses the watch plans of an agent configuration: a JSON
// object with a "watches" list (an agent configuration file; its other
// keys are not watch plans and are left alone), or the list itself. Each
// plan is parsed as ParseWatchPlan parses one, and its errors name it
// (watch plan watches[1] "tag").
func ParseWatchPlans(data []byte) ([]*WatchPlan, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("consul: watch plans: %w", err)
	}
	if dec.More() {
		return nil, argError("watch plans", "trailing data after the JSON value")
	}
	if obj, ok := raw.(map[string]any); ok {
		w, ok := obj["watches"]
		if !ok {
			return nil, argError("watch plans", `no "watches" key`)
		}
		raw = w
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, argError("watch plans", "want a list of plans, got %s", jsonKind(raw))
	}
	plans := make([]*WatchPlan, len(list))
	for i, e := range list {
		where := fmt.Sprintf("watches[%d] ", i)
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, argError("watch plan "+strings.TrimSpace(where), "want a JSON object, got %s", jsonKind(e))
		}
		p, err := parseWatchPlan(obj, where)
		if err != nil {
			return nil, err
		}
		plans[i] = p
	}
	return plans, nil
}

// parseWatchPlan reads one plan's object; where prefixes the keys in
// errors.
func parseWatchPlan(obj map[string]any, where string) (*WatchPlan, error) {
	arg := func(key string) string { return planArg(where + key) }
	p := &WatchPlan{}
	rawType, ok := obj["type"]
	if !ok {
		return nil, argError(arg("type"), "missing")
	}
	t, ok := rawType.(string)
	if !ok {
		return nil, planTypeError(arg("type"), "a string", rawType)
	}
	p.Type = WatchType(t)
	if !slices.Contains(watchTypes, p.Type) {
		return nil, argError(arg("type"), "unknown watch type %q", t)
	}

	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h WatchPlanHandler
	var hasHandler, hasArgs, hasShell, hasHTTP bool
	var httpRaw any
	for _, k := range keys {
		v := obj[k]
		switch k {
		case "type":
			continue
		case planHandlerType:
			s, ok := v.(string)
			if !ok {
				return nil, planTypeError(arg(k), "a string", v)
			}
			if s != "script" && s != "http" {
				return nil, argError(arg(k), "%q is neither script nor http", s)
			}
			h.Type, hasHandler = s, true
			continue
		case planArgs:
			l, err := planStringList(arg(k), v)
			if err != nil {
				return nil, err
			}
			h.Args, hasArgs, hasHandler = l, true, true
			continue
		case planShell:
			s, ok := v.(string)
			if !ok {
				return nil, planTypeError(arg(k), "a string", v)
			}
			h.Shell, hasShell, hasHandler = s, true, true
			continue
		case planHTTP:
			httpRaw, hasHTTP, hasHandler = v, true, true
			continue
		}
		i := slices.IndexFunc(planParams, func(pp planParam) bool { return pp.key == k })
		if i < 0 {
			return nil, argError(arg(k), "unknown key")
		}
		pp := &planParams[i]
		if !pp.appliesTo(p.Type) {
			return nil, argError(arg(k), "does not apply to %s watch", p.Type.article())
		}
		if err := pp.parse(p, arg(k), v); err != nil {
			return nil, err
		}
	}
	if hasHandler {
		switch {
		case hasHTTP && h.Type != "http":
			return nil, argError(arg(planHTTP), "applies only to handler_type http")
		case h.Type == "http" && !hasHTTP:
			return nil, argError(arg(planHTTP), "missing: handler_type http needs it")
		case h.Type == "http" && (hasArgs || hasShell), hasArgs && hasShell:
			return nil, argError(arg(planHandlerType), "a plan has one handler: args, handler or http_handler_config")
		case h.Type == "script" && !hasArgs && !hasShell:
			return nil, argError(arg(planArgs), "missing: a script handler needs args (or the deprecated handler)")
		}
		if hasHTTP {
			hh, err := parsePlanHTTP(httpRaw, where+planHTTP)
			if err != nil {
				return nil, err
			}
			h.HTTP = hh
		}
		p.Handler = &h
	}
	if err := p.check(arg); err != nil {
		return nil, err
	}
	return p, nil
}

// parsePlanHTTP reads an "http_handler_config" object.
func parsePlanHTTP(v any, where string) (*WatchPlanHTTPHandler, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, planTypeError(planArg(where), "an object", v)
	}
	arg := func(k string) string { return planArg(where + "." + k) }
	h := &WatchPlanHTTPHandler{Method: "POST", Timeout: 10 * time.Second}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := obj[k]
		switch k {
		case "path", "method", "timeout":
			s, ok := v.(string)
			if !ok {
				return nil, planTypeError(arg(k), "a string", v)
			}
			switch k {
			case "path":
				h.Path = s
			case "method":
				if s != "" {
					h.Method = s
				}
			case "timeout":
				if s == "" {
					break
				}
				d, err := time.ParseDuration(s)
				if err != nil || d < 0 {
					return nil, argError(arg(k), "%q is not a duration", s)
				}
				h.Timeout = d
			}
		case "tls_skip_verify":
			b, ok := v.(bool)
			if !ok {
				return nil, planTypeError(arg(k), "a bool", v)
			}
			h.TLSSkipVerify = b
		case "header":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, planTypeError(arg(k), "an object of lists of strings", v)
			}
			h.Header = make(map[string][]string, len(m))
			for name, vals := range m {
				l, ok := vals.([]any)
				if !ok {
					return nil, planTypeError(arg(k+"."+name), "a list of strings", vals)
				}
				h.Header[name] = make([]string, len(l))
				for i, e := range l {
					s, ok := e.(string)
					if !ok {
						return nil, argError(arg(k+"."+name), "want a list of strings, got %s at index %d", jsonKind(e), i)
					}
					h.Header[name][i] = s
				}
			}
		default:
			return nil, argError(arg(k), "unknown key")
		}
	}
	if h.Path == "" {
		return nil, argError(arg("path"), "missing: an http handler needs its URL")
	}
	return h, nil
}

// check refuses a plan that cannot run: a missing or bad required value,
// a parameter of another type, bad values. arg names a parameter by its
// JSON key.
func (p *WatchPlan) check(arg func(key string) string) error {
	if !slices.Contains(watchTypes, p.Type) {
		return argError(arg("type"), "unknown watch type %q", p.Type)
	}
	for i := range planParams {
		pp := &planParams[i]
		if pp.isSet(p) && !pp.appliesTo(p.Type) {
			return argError(arg(pp.key), "does not apply to %s watch", p.Type.article())
		}
	}
	if err := checkToken(arg("token"), p.Token); err != nil {
		return err
	}
	var b strings.Builder
	switch p.Type {
	case WatchTypeKey:
		return checkKey(arg("key"), p.Key, false)
	case WatchTypeKeyPrefix:
		return checkKey(arg("prefix"), p.Prefix, false)
	case WatchTypeService, WatchTypeConnectLeaf:
		return writeSegment(&b, arg("service"), p.Service, true)
	case WatchTypeAgentService:
		return writeSegment(&b, arg("service_id"), p.ServiceID, true)
	case WatchTypeChecks:
		switch p.State {
		case "", HealthAny, HealthPassing, HealthWarning, HealthCritical:
		default:
			return argError(arg("state"), "%q is not any, passing, warning or critical", p.State)
		}
		if p.Service != "" && p.State != "" {
			return argError(arg("state"), "a checks watch takes a service or a state, not both")
		}
		if p.Service != "" {
			return writeSegment(&b, arg("service"), p.Service, true)
		}
	}
	return nil
}

// planFieldArg names a parameter of a plan built in Go by its field:
// WatchPlan.Tags.
func planFieldArg(key string) string {
	for _, pp := range planParams {
		if pp.key == key {
			return "WatchPlan." + pp.field
		}
	}
	return "WatchPlan.Type" // "type", the one key not in planParams that check names
}

// Watch runs the plan's read on c in a loop, as Watch does, and yields each
// new answer in the one field of WatchPlanValue that its type fills, with
// its Meta, until ctx ends or the caller breaks out:
//
//	plan, err := consul.ParseWatchPlan([]byte(`{"type": "keyprefix", "prefix": "app/"}`))
//	...
//	for u, err := range plan.Watch(ctx, client) {
//		if err != nil {
//			log.Print(err) // retried after a backoff; a permanent error ends the loop
//			continue
//		}
//		apply(u.Value.KVPairs)
//	}
//
// The plan's parameters become the read's options: Datacenter, Token
// (which travels in the request header only), Stale, Filter, each of Tags,
// PassingOnly as Passing. opts tune the loop as they tune Watch. Each
// request is a call of the client, seen by its Config.Observer with ctx
// as its parent.
//
// An event watch yields the events received since its previous answer, as
// Consul's own event watch does. An agent_service watch blocks on the
// service's content hash while the agent has it; while it does not (the
// agent answers 404 at once, so there is nothing to block on), it asks
// again every second and yields nil once.
//
// A plan that cannot run (built in Go with a parameter of another type, a
// missing required value...) yields one *ArgumentError naming the field
// and sends nothing. The plan's Handler is not run.
func (p *WatchPlan) Watch(ctx context.Context, c *Client, opts ...WatchOption) iter.Seq2[WatchUpdate[WatchPlanValue], error] {
	read, err := p.read(c)
	if err != nil {
		return func(yield func(WatchUpdate[WatchPlanValue], error) bool) {
			yield(WatchUpdate[WatchPlanValue]{Value: WatchPlanValue{Type: p.Type}}, err)
		}
	}
	return Watch(ctx, read, opts...)
}

// watchPlanAbsentPoll is how often an agent_service watch asks again for a
// service the agent does not have. It is a variable only for tests.
var watchPlanAbsentPoll = time.Second

// watchPlanAbsent is the content hash an agent_service watch gives its
// loop while the agent has no such service: Consul's hashes are hex, so
// that it never equals a real one. Its next request, which the loop makes
// with this hash, becomes a plain read after watchPlanAbsentPoll.
const watchPlanAbsent = "absent"

// read makes the plan's read: its type's method, with the plan's options,
// its answer in a WatchPlanValue.
func (p *WatchPlan) read(c *Client) (BlockingRead[WatchPlanValue], error) {
	if c == nil {
		return nil, argError("client", "nil")
	}
	if err := p.check(planFieldArg); err != nil {
		return nil, err
	}
	var base []Option
	if p.Datacenter != "" {
		base = append(base, Datacenter(p.Datacenter))
	}
	if p.Token != "" {
		base = append(base, Token(p.Token))
	}
	if p.Stale {
		base = append(base, Stale())
	}
	if p.Filter != "" {
		base = append(base, Filter(p.Filter))
	}
	t := p.Type
	switch t {
	case WatchTypeKey:
		return planRead(t, Bind(c.KV.Get, p.Key, base...), func(v *WatchPlanValue, x *KVPair) { v.KV = x }), nil
	case WatchTypeKeyPrefix:
		return planRead(t, Bind(c.KV.List, p.Prefix, base...), func(v *WatchPlanValue, x []*KVPair) { v.KVPairs = x }), nil
	case WatchTypeServices:
		return planRead(t, withOptions(c.Catalog.ListServices, base), func(v *WatchPlanValue, x map[string][]string) { v.Services = x }), nil
	case WatchTypeNodes:
		return planRead(t, withOptions(c.Catalog.ListNodes, base), func(v *WatchPlanValue, x []*Node) { v.Nodes = x }), nil
	case WatchTypeService:
		for _, tag := range p.Tags {
			base = append(base, Tag(tag))
		}
		if p.PassingOnly {
			base = append(base, Passing())
		}
		return planRead(t, Bind(c.Health.ListServiceInstances, p.Service, base...), func(v *WatchPlanValue, x []*ServiceEntry) { v.Instances = x }), nil
	case WatchTypeChecks:
		set := func(v *WatchPlanValue, x []*HealthCheck) { v.Checks = x }
		if p.Service != "" {
			return planRead(t, Bind(c.Health.ListServiceChecks, p.Service, base...), set), nil
		}
		state := p.State
		if state == "" {
			state = HealthAny
		}
		return planRead(t, Bind(c.Health.ListChecksInState, state, base...), set), nil
	case WatchTypeEvent:
		return planEvents(c, p.Name, base), nil
	case WatchTypeConnectRoots:
		return planRead(t, withOptions(c.Agent.CARoots, base), func(v *WatchPlanValue, x *ConnectCARoots) { v.CARoots = x }), nil
	case WatchTypeConnectLeaf:
		return planRead(t, Bind(c.Agent.LeafCert, p.Service, base...), func(v *WatchPlanValue, x *AgentLeafCert) { v.LeafCert = x }), nil
	case WatchTypeAgentService:
		return planAgentService(c, p.ServiceID, base), nil
	}
	panic("consul: WatchPlan.read: unchecked type " + string(t))
}

// withOptions adds opts before the watch's own to a read without argument.
func withOptions[T any](read BlockingRead[T], opts []Option) BlockingRead[T] {
	if len(opts) == 0 {
		return read
	}
	return func(ctx context.Context, more ...Option) (T, *Meta, error) {
		return read(ctx, append(slices.Clip(opts), more...)...)
	}
}

// planRead puts read's answers in a WatchPlanValue of type t.
func planRead[T any](t WatchType, read BlockingRead[T], set func(*WatchPlanValue, T)) BlockingRead[WatchPlanValue] {
	return func(ctx context.Context, opts ...Option) (WatchPlanValue, *Meta, error) {
		x, meta, err := read(ctx, opts...)
		v := WatchPlanValue{Type: t}
		if err == nil {
			set(&v, x)
		}
		return v, meta, err
	}
}

// planEvents reads the events received since the previous answer: the
// ones after the event whose index was the previous answer's (all of
// them when that event is gone from the agent's buffer, or at first).
func planEvents(c *Client, name string, base []Option) BlockingRead[WatchPlanValue] {
	read := Bind(c.Event.List, name, base...)
	var last uint64
	var seen bool
	return func(ctx context.Context, opts ...Option) (WatchPlanValue, *Meta, error) {
		evs, meta, err := read(ctx, opts...)
		v := WatchPlanValue{Type: WatchTypeEvent}
		if err != nil {
			return v, meta, err
		}
		if seen {
			for i, e := range evs {
				if idx, err := EventIDToIndex(e.ID); err == nil && idx == last {
					evs = evs[i+1:]
					break
				}
			}
		}
		seen, last = true, meta.Index
		v.Events = evs
		return v, meta, nil
	}
}

// planAgentService reads a service of the local agent, blocking on its
// content hash; see watchPlanAbsent for the service the agent lacks.
func planAgentService(c *Client, id string, base []Option) BlockingRead[WatchPlanValue] {
	return func(ctx context.Context, opts ...Option) (WatchPlanValue, *Meta, error) {
		v := WatchPlanValue{Type: WatchTypeAgentService}
		all := append(slices.Clip(base), opts...)
		if slices.ContainsFunc(all, func(o Option) bool { return o.kind == optWaitHash && o.s1 == watchPlanAbsent }) {
			all = slices.DeleteFunc(all, func(o Option) bool { return o.kind == optWaitHash || o.kind == optWaitTime })
			if err := sleepCtx(ctx, watchPlanAbsentPoll); err != nil {
				return v, nil, err
			}
		}
		svc, meta, err := c.Services.Get(ctx, id, all...)
		if err != nil {
			return v, meta, err
		}
		if svc == nil && meta != nil && meta.ContentHash == "" {
			m := *meta
			m.ContentHash = watchPlanAbsent
			meta = &m
		}
		v.Service = svc
		return v, meta, nil
	}
}
