package consul

// Internal tests of decode.go's fast path: every answer it decodes must
// equal encoding/json's reading of the same bytes, and every input it does
// not handle must fall back to encoding/json with the same result.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fdecTestTargets returns fresh outputs of every fast-path answer: the
// answers of fastAnswers by field name, and the short names of the tables
// below.
func fdecTestTargets() map[string]func() any {
	m := fastRoots()
	for short, root := range map[string]string{
		"kv": "KVPairs", "health": "ServiceEntries", "services": "Services", "txn": "Txn",
		"checks": "HealthChecks", "nodes": "Nodes", "instances": "ServiceNodes", "id": "CreatedID",
		"bool": "WriteResult",
	} {
		m[short] = m[root]
	}
	return m
}

// fdecTestCompare decodes b with the fast path and with json.Decoder (the
// pipeline's former decoder) into fresh values of mk, and requires equal
// values and errors; it returns whether the fast path took it.
func fdecTestCompare(t *testing.T, mk func() any, b []byte) bool {
	t.Helper()
	fast, slow := mk(), mk()
	took := fastDecode(b, mk())
	errFast := unmarshalAnswer(b, fast)
	errSlow := fdecTestReference(b, slow)
	require.Equal(t, errSlow == nil, errFast == nil, "error: fast %v, encoding/json %v, input %s", errFast, errSlow, b)
	if errSlow != nil {
		require.Equal(t, fmt.Sprintf("%T", errSlow), fmt.Sprintf("%T", errFast))
		// On an error, what encoding/json leaves in the value depends on
		// whether the types have JSON methods (an error of a method ends
		// the decode, a type mismatch elsewhere does not): the fast path
		// gave up, and the value must be the one encoding/json leaves in
		// the real types.
		require.False(t, took, "the fast path took input %s that encoding/json refuses", b)
		slow = mk()
		fdecOff = true
		errSlow = json.NewDecoder(bytes.NewReader(b)).Decode(slow)
		fdecOff = false
		require.Error(t, errSlow)
	}
	require.Equal(t, slow, fast, "input %s", b)
	return took
}

// fdecTestReference decodes as encoding/json decodes the mirror of out's
// type (codegen_test.go): json.Decoder, as the pipeline reads an answer,
// and durations read by the duration codec.
func fdecTestReference(b []byte, out any) error {
	return refDecode(b, out)
}

// TestFastDecodeOne compares the UnmarshalJSON methods with and without
// their fast path, on the recorded checks and on damaged copies.
func TestFastDecodeOne(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "decode", "health_state.json"))
	require.NoError(t, err)
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal(b, &raw))
	cases := []string{`null`, `{}`, `{"Interval":"1.5s"}`, `{"Interval":"10s"} x`, `{"interval":"1s"}`}
	for _, r := range raw[:4] {
		cases = append(cases, string(r))
		for i := 0; i < len(r); i += 7 {
			for _, c := range []byte{'"', '}', '1', 'x'} {
				m := append([]byte(nil), r...)
				m[i] = c
				cases = append(cases, string(m))
			}
		}
	}
	for _, c := range cases {
		var fast, slow HealthCheck
		errFast := fast.UnmarshalJSON([]byte(c))
		fdecOff = true
		errSlow := slow.UnmarshalJSON([]byte(c))
		fdecOff = false
		require.Equal(t, errSlow == nil, errFast == nil, "input %s: %v, %v", c, errFast, errSlow)
		require.Equal(t, slow, fast, "input %s", c)
		if c[0] == '{' && c[len(c)-1] == '}' {
			var fd, sd HealthCheckDefinition
			errFast := fd.UnmarshalJSON([]byte(c))
			fdecOff = true
			errSlow := sd.UnmarshalJSON([]byte(c))
			fdecOff = false
			require.Equal(t, errSlow == nil, errFast == nil, "input %s", c)
			require.Equal(t, sd, fd, "input %s", c)
		}
	}
	// A non-zero value is merged into by encoding/json, as before.
	c := HealthCheck{Notes: "kept"}
	require.NoError(t, c.UnmarshalJSON([]byte(`{"Name":"n"}`)))
	require.Equal(t, HealthCheck{Notes: "kept", Name: "n"}, c)
}

func TestFastDecodeRecorded(t *testing.T) {
	for file, target := range map[string]string{
		"kv_get.json":           "kv",
		"kv_list.json":          "kv",
		"health_service.json":   "health",
		"catalog_services.json": "services",
		"txn.json":              "txn",
		"session_create.json":   "id",
		"catalog_service.json":  "instances",
		"catalog_nodes.json":    "nodes",
		"health_state.json":     "checks",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "decode", file))
		require.NoError(t, err)
		require.True(t, fdecTestCompare(t, fdecTestTargets()[target], b), "%s must take the fast path", file)
	}
}

// fdecTestFill sets every field of v (recursively) to a non-zero value;
// strings carry escapes and non-ASCII text.
func fdecTestFill(v reflect.Value, name string) {
	if v.Type() == reflect.TypeOf(json.RawMessage(nil)) {
		n, _ := json.Marshal(name)
		v.SetBytes(append(append([]byte(`{"raw":[1,`), n...), "]}"...))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(name + ` "quoted" <b>&é\ ` + name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			v.SetInt(int64(90 * time.Second))
		} else {
			v.SetInt(-4242)
		}
	case reflect.Uint, reflect.Uint64:
		v.SetUint(18446744073709551615)
	case reflect.Ptr:
		p := reflect.New(v.Type().Elem())
		fdecTestFill(p.Elem(), name)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fdecTestFill(v.Field(i), v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fdecTestFill(s.Index(i), fmt.Sprintf("%s%d", name, i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		// Escaped or non-ASCII map keys take the slow path: plain keys here.
		k := reflect.ValueOf("key-" + name).Convert(v.Type().Key())
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf("any-" + name))
		} else {
			fdecTestFill(e, "val-"+name)
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{"n": 1.5, "s": name}))
	}
}

// TestFastDecodeEveryField fails when a field of the fast-path types is not
// read by the fast path: a field added to them must be added to decode.go.
func TestFastDecodeEveryField(t *testing.T) {
	for name, mk := range fdecTestTargets() {
		v := reflect.ValueOf(mk()).Elem()
		fdecTestFill(v, name)
		b, err := json.Marshal(v.Interface())
		require.NoError(t, err)
		require.True(t, fdecTestCompare(t, mk, b), "%s must take the fast path", name)
		// A plain value too: no escapes, the common case.
		plain := bytes.ReplaceAll(b, []byte(`\"quoted\" \u003cb\u003e\u0026é\\ `), []byte("x"))
		require.True(t, fdecTestCompare(t, mk, plain), "%s must take the fast path", name)
	}
}

func TestFastDecodeEdges(t *testing.T) {
	kv := []string{
		``, ` `, `null`, `[]`, `[null]`, ` [ { "Key" : "a" , "Value" : null } ] `,
		`[{"Key":"a","Value":""}]`, `[{"Key":"a","Value":"aGVsbG8="}]`, `[{"Value":"aGVs\nbG8="}]`,
		`[{"Value":"aGVsbG8"}]`, `[{"Value":"a\/Vs"}]`, `[{"Value":5}]`,
		`[{"key":"a"}]`, `[{"KEY":"a"}]`, `[{"Key":"\u00e9\ud83d\ude00"}]`, `[{"Key":"bad \xff utf8"}]`,
		`[{"Key":"tab	inside"}]`, `[{"Key":"a"}] trailing`, `[{"Key":"a"}`, `[{"Key":"a",}]`, `[{"Key" "a"}]`,
		`[{"CreateIndex":1.5}]`, `[{"CreateIndex":-1}]`, `[{"CreateIndex":1e3}]`, `[{"CreateIndex":012}]`,
		`[{"CreateIndex":18446744073709551615}]`, `[{"CreateIndex":18446744073709551616}]`,
		`[{"CreateIndex":"1"}]`, `[{"Flags":null,"Session":null}]`,
		`[{"Unknown":{"a":[1,2.5e-3,"x",true,false,null,{}]},"Key":"k"}]`, `[{"Unknown":[1,}]`,
		`[{"Unknown":tru}]`, `[{"Unknown":-}]`, `[{"Unknown":01}]`, `[{"Key":"a","Key":"b"}]`, `{"Key":"a"}`,
		`[{"K\u0065y":"a"}]`, `[{"Kéy":"a"}]`, `[1]`, `["a"]`,
		`[{"Value":[1,2,255]}]`, `[{"Value":[]}]`, `[{"Value":[256]}]`, `[{"Value":[null,1]}]`, `[{"Value":[1.5]}]`,
		`[{"Value":[-1]}]`, `[{"Value":["a"]}]`,
	}
	health := []string{
		`[]`, `[{}]`, `[{"Node":null,"Service":null,"Checks":null}]`, `[{"Checks":[]}]`, `[{"Checks":[null,{}]}]`,
		`[{"Checks":[{"Interval":"","Timeout":"10s"}]}]`, `[{"Checks":[{"Interval":"1h0m0s","Timeout":"1m30s"}]}]`,
		`[{"Checks":[{"Interval":1000000000,"Timeout":null}]}]`, `[{"Checks":[{"Interval":"1.5s"}]}]`,
		`[{"Checks":[{"Interval":"-1s"}]}]`, `[{"Checks":[{"Interval":"5µs"}]}]`, `[{"Checks":[{"Interval":"bogus"}]}]`,
		`[{"Checks":[{"Interval":"0"}]}]`, `[{"Checks":[{"Interval":"9999999999h"}]}]`, `[{"Checks":[{"Interval":"2562047h"}]}]`,
		`[{"Checks":[{"Interval":1.5}]}]`, `[{"Checks":[{"interval":"1s"}]}]`,
		`[{"Checks":[{"Definition":{"Interval":"30s","HTTP":"http://x","Header":{"A":["b"]}}}]}]`,
		`[{"Checks":[{"Definition":{"OutputMaxSize":-1}}]}]`, `[{"Checks":[{"ServiceTags":[]}]}]`,
		`[{"Service":{"Tags":[],"Meta":{},"Weights":null,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{}}}]`,
		`[{"Service":{"Port":-1,"Weights":{"Passing":1,"Warning":0}}}]`, `[{"Service":{"Port":99999999999999999999}}]`,
		`[{"Service":{"Meta":{"a":null,"b":"c","a":"d"}}}]`, `[{"Service":{"Tags":[null,"x"]}}]`,
		`[{"Service":{"TaggedAddresses":{"lan":{"Address":"a","Port":1}}}}]`,
		`[{"Service":{"Proxy":{"Config":{"a":1},"Upstreams":[{"DestinationName":"db"}]}}}]`,
		`[{"Service":{"Proxy":{"Config":{"a":1,}}}}]`, `[{"Service":{"Kind":"connect-proxy"}}]`,
		`[{"Node":{"Meta":{"k\u00e9":"v"}}}]`, `[{"Node":{"Meta":{"ké":"v"}}}]`, `[{"Node":{"Meta":[]}}]`,
		`[{"Service":{"EnableTagOverride":"yes"}}]`,
	}
	services := []string{
		`{}`, `null`, `{"a":[],"b":null,"c":["x","y"]}`, `{"a":["x"],"a":["y"]}`, `{"a":[1]}`, `[]`, `{"a":["x",]}`,
	}
	txn := []string{
		`{}`, `null`, `{"Results":null,"Errors":null}`, `{"Results":[],"Errors":[]}`,
		`{"Results":[{"KV":{"Key":"a","Value":null}},{"KV":null},{}],"Errors":null}`,
		`{"Results":null,"Errors":[{"OpIndex":3,"What":"failed \"x\""}]}`, `{"Results":[{"kv":{}}]}`,
		`{"Results":[{"KV":{"Key":"a"},"Node":{"Node":"n"}}]}`, `{"Results":[1]}`,
		// The catalog operations' results.
		`{"Results":[{"Node":{"ID":"","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":{"a":"b"},"CreateIndex":19,"ModifyIndex":19}},` +
			`{"Service":{"ID":"web1","Service":"web","Tags":null,"Port":80,"Weights":{"Passing":1,"Warning":1},"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"CreateIndex":19,"ModifyIndex":19}},` +
			`{"Check":{"Node":"n1","CheckID":"c1","Status":"passing","Interval":"","Timeout":"","Definition":{"Interval":"10s","HTTP":"http://x"},"CreateIndex":19,"ModifyIndex":19}},` +
			`{"KV":{"Key":"k","Value":"dg=="}}],"Errors":null}`,
		`{"Results":[{"Node":null,"Service":null,"Check":null}]}`, `{"Results":[{"node":{"Node":"n"}}]}`,
		`{"Results":[{"Node":{"Node":1}}]}`, `{"Results":[{"Check":{"Interval":"soon"}}]}`,
	}
	other := map[string][]string{
		"checks":    {`[]`, `null`, `[null,{}]`, `[{"Interval":"10s","Definition":null}]`, `[{"Status":1}]`},
		"nodes":     {`[]`, `[{"Node":"a","Locality":null}]`, `[{"Locality":{"Region":"r","Zone":"z"}}]`, `[{"node":"a"}]`},
		"instances": {`[]`, `[{"ServiceWeights":null}]`, `[{"ServiceWeights":{"Passing":2}}]`, `[{"ServiceProxy":null,"ServiceConnect":{}}]`, `[{"ServiceTaggedAddresses":{"lan":{"Address":"a","Port":1}}}]`, `[{"ServicePort":"80"}]`},
		"id":        {`{"ID":"abc"}`, `{"ID":"a\u00e9"}`, `{"id":"x"}`, `{}`, `null`, `{"ID":null}`, `{"ID":1}`, `{"ID":"x","Other":[1]}`},
		"bool":      {`true`, `false`, ` true `, "true\n", `null`, `"true"`, `tru`, `1`, ``},
	}
	targets := fdecTestTargets()
	for _, c := range txn {
		fdecTestCompare(t, targets["txn"], []byte(c))
	}
	for target, cases := range other {
		for _, c := range cases {
			fdecTestCompare(t, targets[target], []byte(c))
		}
	}
	for _, c := range kv {
		fdecTestCompare(t, targets["kv"], []byte(c))
	}
	for _, c := range health {
		fdecTestCompare(t, targets["health"], []byte(c))
	}
	for _, c := range services {
		fdecTestCompare(t, targets["services"], []byte(c))
	}
}

// fdecTestDuplicates are answers that name a key twice in one object:
// scalars, a null after a value and a value after a null, nested objects
// (merged by encoding/json), arrays (decoded into the first one's
// elements), maps, and keys that differ only by case. fast says whether the
// fast path decodes it itself: a key repeated inside a map or inside a
// field it hands to encoding/json, or an unknown key repeated.
var fdecTestDuplicates = []struct {
	target, json string
	fast         bool
}{
	// The report of issue 9 item 13.
	{"kv", `[{"Key":"a","Value":"YQ==","Value":null}]`, false},
	{"kv", `[{"Key":"a","Key":"b"}]`, false},
	{"kv", `[{"Key":"a","Key":""}]`, false},
	{"kv", `[{"Key":"a","Key":null}]`, false},
	{"kv", `[{"Key":null,"Key":"a"}]`, false},
	{"kv", `[{"Flags":5,"Flags":null}]`, false},
	{"kv", `[{"Flags":5,"Key":"k","Flags":6}]`, false},
	{"kv", `[{"Value":"YQ==","Value":""}]`, false},
	{"kv", `[{"Value":null,"Value":"YQ=="}]`, false},
	{"kv", `[{"Session":"s","Key":"k","Session":""}]`, false},
	{"kv", `[{"Key":"a","key":"b"}]`, false},
	{"kv", `[{"key":"b","Key":"a"}]`, false},
	{"kv", `[{"KEY":"b","key":"c"}]`, false},
	{"kv", `[{"Key":"a","Other":1,"Other":[2]}]`, true},
	{"kv", `[{"Key":"a"},{"Key":"a"}]`, true},
	{"health", `[{"Node":{"Node":"n","Address":"a"},"Node":{"Address":"b"}}]`, false},
	{"health", `[{"Node":{"Node":"n"},"Node":null}]`, false},
	{"health", `[{"Node":null,"Node":{"Node":"n"}}]`, false},
	{"health", `[{"Node":{"Meta":{"a":"1"}},"Node":{"Meta":{"b":"2"}}}]`, false},
	{"health", `[{"Node":{"Meta":{"a":"1"},"Meta":null}}]`, false},
	{"health", `[{"Node":{"Meta":{"a":"1"},"Meta":{"b":"2"}}}]`, false},
	{"health", `[{"Node":{"Meta":{"a":"1","a":null,"b":"2","b":"3"}}}]`, true},
	{"health", `[{"Node":{"TaggedAddresses":{"lan":"1","wan":"2","lan":"3"}}}]`, true},
	{"health", `[{"Node":{"Locality":{"Region":"r"},"Locality":{"Zone":"z"}}}]`, false},
	{"health", `[{"Service":{"Tags":["a","b"],"Tags":["c"]}}]`, false},
	{"health", `[{"Service":{"Tags":["a","b"],"Tags":[null]}}]`, false},
	{"health", `[{"Service":{"Tags":["a","b"],"Tags":[]}}]`, false},
	{"health", `[{"Service":{"Tags":["a","b"],"Tags":null}}]`, false},
	{"health", `[{"Service":{"Tags":["a"],"tags":["b","c"]}}]`, false},
	{"health", `[{"Service":{"Weights":{"Passing":3},"Weights":{"Warning":1}}}]`, false},
	{"health", `[{"Service":{"Weights":{"Passing":3},"Weights":null}}]`, false},
	{"health", `[{"Service":{"Weights":{"Passing":3,"Passing":null,"Warning":1,"Warning":2}}}]`, false},
	{"health", `[{"Service":{"Proxy":{"Mode":"m","Config":{"a":1}},"Proxy":{"Config":{"b":2}}}}]`, false},
	{"health", `[{"Service":{"Proxy":{"Config":{"a":1},"Config":{"b":2}}}}]`, false},
	{"health", `[{"Service":{"Proxy":{"Config":{"a":1,"a":{"b":2}}}}}]`, true},
	{"health", `[{"Service":{"Proxy":{"Upstreams":[{"DestinationName":"a","LocalBindPort":1}],"Upstreams":[{"DestinationName":"b"}]}}}]`, false},
	{"health", `[{"Service":{"TaggedAddresses":{"lan":{"Address":"a","Port":1}},"TaggedAddresses":{"lan":{"Port":2}}}}]`, false},
	{"health", `[{"Service":{"TaggedAddresses":{"lan":{"Address":"a","Port":1},"lan":{"Port":2}}}}]`, true},
	{"health", `[{"Service":{"TaggedAddresses":{"lan":{"Address":"a","Port":1,"Port":null}}}}]`, false},
	{"health", `[{"Service":{"Connect":{"Native":true},"Connect":{}}}]`, false},
	{"health", `[{"Service":{"Connect":{"Native":true,"Native":null}}}]`, false},
	{"health", `[{"Service":{"Port":1,"port":2}}]`, false},
	{"health", `[{"Service":{"ID":"a"},"service":{"Port":2}}]`, false},
	{"health", `[{"Checks":[{"Name":"a","Status":"passing"}],"Checks":[{"Status":"critical"}]}]`, false},
	{"health", `[{"Checks":[{"Name":"a"},{"Name":"b"}],"Checks":[null]}]`, false},
	{"health", `[{"Checks":[null,{"Name":"b"}],"Checks":[{"Name":"c"}]}]`, false},
	{"health", `[{"Checks":[{"Name":"a","Interval":"10s"}],"Checks":[{"Name":"c"}]}]`, false},
	{"health", `[{"Checks":[{"Interval":"10s","Interval":null}]}]`, false},
	{"health", `[{"Checks":[{"Definition":{"HTTP":"h","Interval":"10s"},"Definition":{"TCP":"t"}}]}]`, false},
	{"health", `[{"Checks":[{"Definition":{"Header":{"a":["1"]},"Header":{"b":["2"]}}}]}]`, false},
	{"health", `[{"Checks":[{"Definition":{"Header":{"a":["1"],"a":["2","3"]}}}]}]`, true},
	{"health", `[{"Checks":[{"ServiceTags":["a","b"],"ServiceTags":[null]}]}]`, false},
	{"health", `[{"Checks":[{"Definition":{"ScriptArgs":["a"],"ScriptArgs":["b","c"]}}]}]`, false},
	{"health", `[{"Checks":[{"Definition":{"TTL":"1s","TTL":"2s"}}]}]`, false},
	{"checks", `[{"Name":"a","Name":"b"}]`, false},
	{"checks", `[{"Definition":{"Interval":"10s"},"Definition":null}]`, false},
	{"checks", `[{"Status":"passing","status":"critical"}]`, false},
	{"checks", `[{"Timeout":"1s","Timeout":5}]`, false},
	{"nodes", `[{"Node":"a","Node":"b"}]`, false},
	{"nodes", `[{"Locality":{"Region":"r"},"Locality":{"Zone":"z"}}]`, false},
	{"nodes", `[{"Locality":{"Region":"r"},"Locality":null}]`, false},
	{"nodes", `[{"Locality":{"Region":"r","Region":""}}]`, false},
	{"nodes", `[{"Meta":{"a":"1"},"Meta":{"b":"2"}}]`, false},
	{"nodes", `[{"TaggedAddresses":{"lan":"1"},"TaggedAddresses":null}]`, false},
	{"nodes", `[{"CreateIndex":1,"createindex":2}]`, false},
	{"instances", `[{"ServiceWeights":{"Passing":3},"ServiceWeights":null}]`, false},
	{"instances", `[{"ServiceWeights":{"Passing":3},"ServiceWeights":{"Warning":1}}]`, false},
	{"instances", `[{"ServiceWeights":{"Passing":3,"Passing":4}}]`, false},
	{"instances", `[{"ServiceTags":["a","b"],"ServiceTags":["c"]}]`, false},
	{"instances", `[{"ServiceProxy":{"Mode":"m"},"ServiceProxy":{"DestinationServiceName":"d"}}]`, false},
	{"instances", `[{"ServiceConnect":{"Native":true},"ServiceConnect":null}]`, false},
	{"instances", `[{"ServiceMeta":{"a":"1"},"ServiceMeta":{"b":"2"}}]`, false},
	{"instances", `[{"NodeMeta":{"a":"1","a":"2"}}]`, true},
	{"instances", `[{"ServicePort":1,"serviceport":2}]`, false},
	{"services", `{"a":["x","y"],"a":["z"]}`, true},
	{"services", `{"a":["x","y"],"a":null}`, true},
	{"services", `{"a":["x"],"b":[],"a":[]}`, true},
	{"services", `{"a":["x"],"A":["y"]}`, true},
	{"txn", `{"Results":[{"KV":{"Key":"a","Flags":1}}],"Results":[{"KV":{"Key":"b"}}]}`, false},
	{"txn", `{"Results":[{"KV":{"Key":"a","Flags":1},"KV":{"Key":"b"}}]}`, false},
	{"txn", `{"Results":[{"KV":{"Key":"a"},"KV":null}]}`, false},
	{"txn", `{"Results":[{"Node":{"Node":"a"},"Node":{"Address":"b"}}]}`, false},
	{"txn", `{"Results":[{"Service":{"ID":"a"},"Service":null}]}`, false},
	{"txn", `{"Results":[{"Check":{"CheckID":"a"},"Check":{"Name":"b"}}]}`, false},
	{"txn", `{"Results":[{"KV":{"Key":"a"}}],"Results":null}`, false},
	{"txn", `{"Results":[{"KV":{"Key":"a","Key":"b"}}]}`, false},
	{"txn", `{"Errors":[{"OpIndex":1,"What":"x"}],"Errors":[{"What":"y"}]}`, false},
	{"txn", `{"Errors":[{"OpIndex":1,"What":"x","What":"y"}]}`, false},
	{"txn", `{"results":[],"Results":[{"KV":null}]}`, false},
	{"id", `{"ID":"a","ID":"b"}`, false},
	{"id", `{"ID":"a","ID":""}`, false},
	{"id", `{"ID":"a","ID":null}`, false},
	{"id", `{"ID":"a","id":"b"}`, false},
}

// TestFastDecodeDuplicateKeys compares both decoders on keys named twice in
// one object, and checks which of them the fast path decodes itself.
func TestFastDecodeDuplicateKeys(t *testing.T) {
	targets := fdecTestTargets()
	for _, c := range fdecTestDuplicates {
		took := fdecTestCompare(t, targets[c.target], []byte(c.json))
		require.Equal(t, c.fast, took, "fast path for %s %s", c.target, c.json)
	}
}

// fdecTestNode is a JSON value that keeps its objects' members in order
// and repeated, for building inputs with repeated keys.
type fdecTestNode struct {
	raw  string // a scalar, as JSON
	obj  bool
	arr  bool
	keys []string        // an object's keys
	vals []*fdecTestNode // an object's values or an array's elements
}

func fdecTestParse(t *testing.T, dec *json.Decoder) *fdecTestNode {
	tok, err := dec.Token()
	require.NoError(t, err)
	switch tok {
	case json.Delim('{'), json.Delim('['):
		n := &fdecTestNode{obj: tok == json.Delim('{'), arr: tok == json.Delim('[')}
		for dec.More() {
			if n.obj {
				k, err := dec.Token()
				require.NoError(t, err)
				n.keys = append(n.keys, k.(string))
			}
			n.vals = append(n.vals, fdecTestParse(t, dec))
		}
		_, err := dec.Token()
		require.NoError(t, err)
		return n
	}
	b, err := json.Marshal(tok)
	require.NoError(t, err)
	return &fdecTestNode{raw: string(b)}
}

func (n *fdecTestNode) write(b *bytes.Buffer) {
	switch {
	case n.obj:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			n.vals[i].write(b)
		}
		b.WriteByte('}')
	case n.arr:
		b.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	default:
		b.WriteString(n.raw)
	}
}

// other returns a value of n's kind that differs from it and, for an
// object or array, names less: its first member or element, itself
// changed, so that what encoding/json merges shows.
func (n *fdecTestNode) other() *fdecTestNode {
	switch {
	case n.obj && len(n.vals) > 0:
		return &fdecTestNode{obj: true, keys: n.keys[:1], vals: []*fdecTestNode{n.vals[0].other()}}
	case n.arr && len(n.vals) > 0:
		return &fdecTestNode{arr: true, vals: []*fdecTestNode{n.vals[0].other()}}
	case n.obj, n.arr:
		return &fdecTestNode{raw: "null"}
	case n.raw == "true":
		return &fdecTestNode{raw: "false"}
	case n.raw == "false":
		return &fdecTestNode{raw: "true"}
	case n.raw == "null":
		return &fdecTestNode{raw: `"other"`}
	case n.raw[0] == '"':
		return &fdecTestNode{raw: `"other"`}
	default:
		return &fdecTestNode{raw: "7"}
	}
}

// zero returns the empty value of n's kind.
func (n *fdecTestNode) zero() *fdecTestNode {
	switch {
	case n.obj:
		return &fdecTestNode{obj: true}
	case n.arr:
		return &fdecTestNode{arr: true}
	case n.raw == "true" || n.raw == "false":
		return &fdecTestNode{raw: "false"}
	case n.raw[0] == '"':
		return &fdecTestNode{raw: `""`}
	case n.raw == "null":
		return n
	default:
		return &fdecTestNode{raw: "0"}
	}
}

// TestFastDecodeRepeatedFields takes a value of each fast-path type with
// every field set and repeats each key of each of its objects in turn:
// after the object's other members with null, an empty value, another
// value, the same value, and a case variant of the key; before them with
// another value and with null (in the first element of each array only:
// the others have its shape). Both decoders must agree on every input.
func TestFastDecodeRepeatedFields(t *testing.T) {
	null := &fdecTestNode{raw: "null"}
	for name, mk := range fdecTestTargets() {
		v := reflect.ValueOf(mk()).Elem()
		fdecTestFill(v, name)
		b, err := json.Marshal(v.Interface())
		require.NoError(t, err)
		b = bytes.ReplaceAll(b, []byte(`\"quoted\" \u003cb\u003e\u0026é\\ `), []byte("x"))
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		root := fdecTestParse(t, dec)
		var buf bytes.Buffer
		try := func() {
			buf.Reset()
			root.write(&buf)
			fdecTestCompare(t, mk, buf.Bytes())
		}
		try()
		require.JSONEq(t, string(b), buf.String())
		count := 0
		var walk func(n *fdecTestNode)
		walk = func(n *fdecTestNode) {
			if n.arr {
				// The fill's elements all have the first one's shape.
				if len(n.vals) > 0 {
					walk(n.vals[0])
				}
				return
			}
			for _, c := range n.vals {
				walk(c)
			}
			if !n.obj {
				return
			}
			for i, k := range n.keys[:len(n.keys):len(n.keys)] {
				val := n.vals[i]
				type dup struct {
					key   string
					val   *fdecTestNode
					front bool
				}
				dups := []dup{
					{k, null, false}, {k, val.zero(), false}, {k, val.other(), false}, {k, val, false},
					{strings.ToLower(k), val.other(), false}, {k, val.other(), true}, {k, null, true},
				}
				for _, d := range dups {
					keys, vals := n.keys, n.vals
					if d.front {
						n.keys = append([]string{d.key}, keys...)
						n.vals = append([]*fdecTestNode{d.val}, vals...)
					} else {
						n.keys = append(keys[:len(keys):len(keys)], d.key)
						n.vals = append(vals[:len(vals):len(vals)], d.val)
					}
					try()
					count++
					n.keys, n.vals = keys, vals
				}
			}
		}
		walk(root)
		t.Logf("%s: %d inputs with a repeated key", name, count)
	}
}

// TestFastDecodeDamaged compares both decoders on every prefix of recorded
// answers and on each byte of them replaced by a few troublesome ones.
func TestFastDecodeDamaged(t *testing.T) {
	for file, target := range map[string]string{
		"kv_get.json":           "kv",
		"health_service.json":   "health",
		"catalog_services.json": "services",
		"txn.json":              "txn",
		"session_create.json":   "id",
		"catalog_service.json":  "instances",
		"catalog_nodes.json":    "nodes",
		"health_state.json":     "checks",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "decode", file))
		require.NoError(t, err)
		if len(b) > 3000 {
			b = b[:3000] // the first entries; enough to reach every shape
		}
		mk := fdecTestTargets()[target]
		for i := 0; i <= len(b); i++ {
			fdecTestCompare(t, mk, b[:i])
		}
		// Every position is damaged, with one of the damaging bytes in turn:
		// each byte hits every shape across the positions, at a ninth of
		// the cost of trying all of them everywhere (FuzzFastDecode tries
		// random damage).
		damage := []byte{'"', '}', ']', ',', '\\', '1', 'x', ' ', 0x80}
		m := make([]byte, len(b))
		for i := 0; i < len(b); i++ {
			copy(m, b)
			m[i] = damage[i%len(damage)]
			fdecTestCompare(t, mk, m)
		}
	}
}

// TestFastDecodeOnlyZero checks that a non-empty output is left to
// encoding/json, which merges into it.
func TestFastDecodeOnlyZero(t *testing.T) {
	m := map[string][]string{"kept": {"a"}}
	require.False(t, fastDecode([]byte(`{"b":["c"]}`), &m))
	require.NoError(t, unmarshalAnswer([]byte(`{"b":["c"]}`), &m))
	require.Equal(t, map[string][]string{"kept": {"a"}, "b": {"c"}}, m)
}

// TestFastDecodeNoAlias checks that decoded values share nothing with the
// pooled buffers: a second decode must not change the first's values.
func TestFastDecodeNoAlias(t *testing.T) {
	var a, b []*KVPair
	require.True(t, fastDecode([]byte(`[{"Key":"first","Value":"AQID"}]`), &a))
	require.True(t, fastDecode([]byte(`[{"Key":"other","Value":"BAUG"}]`), &b))
	require.Equal(t, "first", a[0].Key)
	require.Equal(t, []byte{1, 2, 3}, a[0].Value)
}

// BenchmarkFastDecode compares the fast path with encoding/json on the full
// recorded answers of bench/testdata (200 instances, 1,000 keys, 502
// services), or on the trimmed ones of testdata/decode.
func BenchmarkFastDecode(b *testing.B) {
	for _, c := range []struct{ name, file, target string }{
		{"health", "health_service.json", "health"},
		{"kvlist", "kv_list.json", "kv"},
		{"services", "catalog_services.json", "services"},
		{"instances", "catalog_service.json", "instances"},
		{"nodes", "catalog_nodes.json", "nodes"},
		{"checks", "health_state.json", "checks"},
		{"health5000", "health_service_5000.json", "health"},
		{"kvlist100000", "kv_list_100000.json", "kv"},
	} {
		body, err := os.ReadFile(filepath.Join("bench", "testdata", c.file))
		if err != nil {
			body, err = os.ReadFile(filepath.Join("testdata", "decode", c.file))
		}
		require.NoError(b, err)
		mk := fdecTestTargets()[c.target]
		b.Run("body="+c.name+"/decoder=fast", func(b *testing.B) {
			// One decode: the heap it allocates with the collector off (a
			// bound of its peak), and what its result keeps.
			var before, during, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			old := debug.SetGCPercent(-1)
			v := mk()
			require.True(b, fastDecode(body, v))
			runtime.ReadMemStats(&during)
			debug.SetGCPercent(old)
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(v)
			b.ReportMetric(float64(during.HeapAlloc-before.HeapAlloc), "peak-heap-B")
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "result-B")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				if !fastDecode(body, mk()) {
					b.Fatal("slow path")
				}
			}
		})
		// encoding/json as the pipeline used it before the fast path, and
		// with the fast path of the types' UnmarshalJSON methods only (as
		// for answers without a fast path that hold checks).
		for _, off := range []bool{true, false} {
			name := "encoding-json"
			if !off {
				name = "encoding-json-fast-methods"
			}
			b.Run("body="+c.name+"/decoder="+name, func(b *testing.B) {
				fdecOff = off
				defer func() { fdecOff = false }()
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for i := 0; i < b.N; i++ {
					if err := json.Unmarshal(body, mk()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// FuzzFastDecode: go test -run '^$' -fuzz FuzzFastDecode .
func FuzzFastDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "decode", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		if len(b) > 2000 {
			b = b[:2000]
		}
		for target := range fdecTestTargets() {
			f.Add(target, b)
		}
	}
	for _, c := range fdecTestDuplicates {
		f.Add(c.target, []byte(c.json))
	}
	// Every generated answer, with every field set.
	for name, mk := range fastRoots() {
		v := reflect.ValueOf(mk()).Elem()
		fdecTestFill(v, name)
		b, err := json.Marshal(v.Interface())
		require.NoError(f, err)
		f.Add(name, bytes.ReplaceAll(b, []byte(`\"quoted\" \u003cb\u003e\u0026é\\ `), []byte("x")))
	}
	f.Fuzz(func(t *testing.T, target string, b []byte) {
		mk, ok := fdecTestTargets()[target]
		if !ok {
			return
		}
		fdecTestCompare(t, mk, b)
	})
}

// TestFastDecodeBase64RawNewline: a raw CR or LF inside a base64 string is
// invalid JSON (encoding/json refuses it), though base64 would skip it.
func TestFastDecodeBase64RawNewline(t *testing.T) {
	mk := fdecTestTargets()["kv"]
	for _, in := range []string{"[{\"Key\":\"a\",\"Value\":\"YW\nJj\"}]", "[{\"Key\":\"a\",\"Value\":\"YW\rJj\"}]", "[{\"Key\":\"a\",\"Value\":\"YW\tJj\"}]"} {
		fdecTestCompare(t, mk, []byte(in))
	}
}

// TestFastDecodeMutations inserts or replaces bytes at random (seeded) in
// an answer of every fast-path type and compares the generated decoder
// with encoding/json on each: same error or not, same value.
func TestFastDecodeMutations(t *testing.T) {
	targets := fdecTestTargets()
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	r := rand.New(rand.NewSource(1))
	inserts := []string{"}", "]", ",", ":", "{", "[", "\\u0041", "\\ud800", "true", "\x7f", "é", "\"\":1,", "\"Key\":\"x\",", "\"key\":1,", "-0", "01", "1.5", "\"\"", "[]", "{}", "\x00"}
	reported := map[string]bool{}
	for _, name := range names {
		mk := targets[name]
		v := reflect.ValueOf(mk()).Elem()
		fdecTestFill(v, name)
		b0, _ := json.Marshal(v.Interface())
		b0 = bytes.ReplaceAll(b0, []byte(`\"quoted\" \u003cb\u003e\u0026é\\ `), []byte("x"))
		for k := 0; k < 400; k++ {
			i := r.Intn(len(b0) + 1)
			ins := inserts[r.Intn(len(inserts))]
			var b []byte
			if r.Intn(2) == 0 {
				b = append(append(append([]byte{}, b0[:i]...), ins...), b0[i:]...)
			} else if i < len(b0) {
				b = append(append(append([]byte{}, b0[:i]...), ins...), b0[i+1:]...)
			} else {
				continue
			}
			fast, slow := mk(), mk()
			errFast := unmarshalAnswer(b, fast)
			fdecOff = true
			errSlow := refDecode(b, slow)
			fdecOff = false
			key := name + "|" + ins
			if (errFast == nil) != (errSlow == nil) {
				if !reported[key] {
					reported[key] = true
					t.Errorf("%s: fast err %v, slow err %v; ins %q at %d: ...%q...", name, errFast, errSlow, ins, i, b[max(0, i-40):min(len(b), i+40)])
				}
				continue
			}
			if errSlow == nil && !reflect.DeepEqual(fast, slow) {
				if !reported[key+"v"] {
					reported[key+"v"] = true
					t.Errorf("%s: values differ; ins %q at %d: ...%q...", name, ins, i, b[max(0, i-40):min(len(b), i+40)])
				}
			}
		}
	}
}

// TestFastDecodeKeyPrediction: the key predicted from the objects read
// before is only a guess. Objects in another order, with unknown keys,
// keys that differ by case, repeated keys or white space decode as
// encoding/json decodes them, and the prediction learned from one answer
// (the decoder is pooled) misleads no later one.
func TestFastDecodeKeyPrediction(t *testing.T) {
	targets := fdecTestTargets()
	kv := []string{
		`[{"Key":"a","Flags":1,"Value":"YQ=="},{"Key":"b","Flags":2,"Value":"Yg=="},{"Flags":3,"Key":"c"},{"Value":"Yw==","Key":"d","Flags":4}]`,
		`[{"Key":"a","Flags":1},{"Key":"b","key":"c"}]`,
		`[{"Key":"a","Flags":1},{"Key":"b","FLAGS":2}]`,
		`[{"Key":"a","Flags":1},{"Key":"b","Flags":2,"Flags":3}]`,
		`[{"Key":"a","X":1,"Flags":1},{"Key":"b","X":2,"Flags":2},{"Key":"c","Flags":3,"X":{"Key":"d"}}]`,
		`[{"Key":"a","Flags":1},{ "Key":"b" , "Flags":2},{"Key" :"c","Flags":3}]`,
		`[{"Key":"a","Flags":1},{"K\u0065y":"b","Flags":2}]`,
		`[{"Key":"a","Flags":1},{"Key":"b","Flags":2},{"Key":"c","Flags"}]`,
		`[{"Key":"a","Flags":1},{"Key":"b","Flags":2},{"Key":"c","Flags":`,
		`[{"Key":"a"},{"Key":"b"},{}]`,
	}
	for round := 0; round < 2; round++ {
		for _, in := range kv {
			fdecTestCompare(t, targets["kv"], []byte(in))
		}
	}
	// Nested objects learn their own order, per type.
	health := []string{
		`[{"Node":{"Node":"n1","Address":"a"},"Service":{"ID":"s","Port":1},"Checks":[{"CheckID":"c","Status":"passing"},{"Status":"critical","CheckID":"d"}]},` +
			`{"Service":{"Port":2,"ID":"t"},"Node":{"Address":"b","Node":"n2"},"Checks":[{"CheckID":"e","status":"warning"}]}]`,
		`[{"Node":{"Node":"n1","Address":"a"},"Checks":[{"CheckID":"c","Status":"passing"}]},{"Node":{"Node":"n2","Address":"b","Node":"n3"}}]`,
	}
	for round := 0; round < 2; round++ {
		for _, in := range health {
			fdecTestCompare(t, targets["health"], []byte(in))
		}
	}
}
