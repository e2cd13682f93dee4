package consul

// Internal tests of decode.go's fast path: every answer it decodes must
// equal encoding/json's reading of the same bytes, and every input it does
// not handle must fall back to encoding/json with the same result.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fdecTestTargets returns fresh outputs of every fast-path type.
func fdecTestTargets() map[string]func() any {
	return map[string]func() any{
		"kv":        func() any { return new([]*KVPair) },
		"health":    func() any { return new([]*ServiceEntry) },
		"services":  func() any { return new(map[string][]string) },
		"txn":       func() any { return new(txnResponse) },
		"checks":    func() any { return new([]*HealthCheck) },
		"nodes":     func() any { return new([]*Node) },
		"instances": func() any { return new([]*ServiceNode) },
		"id":        func() any { return new(struct{ ID string }) },
		"bool":      func() any { return new(bool) },
	}
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
	}
	require.Equal(t, slow, fast, "input %s", b)
	return took
}

// fdecTestReference decodes as the pipeline did before the fast path:
// json.Decoder, and the types' own UnmarshalJSON without their fast path.
func fdecTestReference(b []byte, out any) error {
	fdecOff = true
	defer func() { fdecOff = false }()
	return json.NewDecoder(bytes.NewReader(b)).Decode(out)
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
	} {
		body, err := os.ReadFile(filepath.Join("bench", "testdata", c.file))
		if err != nil {
			body, err = os.ReadFile(filepath.Join("testdata", "decode", c.file))
		}
		require.NoError(b, err)
		mk := fdecTestTargets()[c.target]
		b.Run("body="+c.name+"/decoder=fast", func(b *testing.B) {
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
	f.Fuzz(func(t *testing.T, target string, b []byte) {
		mk, ok := fdecTestTargets()[target]
		if !ok {
			return
		}
		fdecTestCompare(t, mk, b)
	})
}
