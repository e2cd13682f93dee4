package consul

import (
	"bytes"
	"encoding/base64"
	"math/rand"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestScanPlain compares the eight-bytes-at-a-time scan with a plain loop
// on random strings of the bytes that matter.
func TestScanPlain(t *testing.T) {
	naive := func(b []byte) int {
		for i, c := range b {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return i
			}
		}
		return len(b)
	}
	alphabet := []byte{'a', 'Z', '0', ' ', '"', '\\', 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d, 0x01, 0x00}
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.Intn(40))
		for i := range b {
			if r.Intn(8) == 0 {
				b[i] = alphabet[r.Intn(len(alphabet))]
			} else {
				b[i] = byte('a' + r.Intn(26))
			}
		}
		require.Equal(t, naive(b), scanPlain(b), "%q", b)
	}
	// Every pair of bytes side by side, wherever they fall in a word: a
	// borrow of the word-at-a-time test must never mark a byte before the
	// first special one.
	b := make([]byte, 16)
	for _, p := range []int{0, 3, 6, 7, 8, 14} {
		for x := 0; x < 256; x++ {
			for y := 0; y < 256; y++ {
				for i := range b {
					b[i] = 'a'
				}
				b[p], b[p+1] = byte(x), byte(y)
				if got, want := scanPlain(b), naive(b); got != want {
					t.Fatalf("scanPlain(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}

// fdecBase64 decodes what base64.StdEncoding decodes, byte for byte, and
// gives up (for StdEncoding to judge) on anything it would not decode the
// same way.
func TestFdecBase64(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	check := func(src []byte) {
		t.Helper()
		want := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		wn, werr := base64.StdEncoding.Decode(want, src)
		got := make([]byte, len(want))
		gn, ok := fdecBase64(got, src)
		if !ok {
			return // left to StdEncoding
		}
		if werr != nil || gn != wn || !bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("%q: fdecBase64 %q (%d), StdEncoding %q (%d) %v", src, got[:gn], gn, want[:wn], wn, werr)
		}
	}
	for n := 0; n < 80; n++ {
		raw := make([]byte, n)
		r.Read(raw)
		enc := []byte(base64.StdEncoding.EncodeToString(raw))
		check(enc)
		if gn, ok := fdecBase64(make([]byte, base64.StdEncoding.DecodedLen(len(enc))), enc); !ok || gn != n {
			t.Fatalf("%d bytes: the fast path gave up or decoded %d", n, gn)
		}
		for k := 0; k < 40 && len(enc) > 0; k++ {
			m := append([]byte(nil), enc...)
			m[r.Intn(len(m))] = "=\r\n\x00-_.A/+é"[r.Intn(12)]
			check(m)
		}
	}
	for _, s := range []string{"YQ==", "YR==", "YWI=", "YWJ=", "Y===", "====", "YQ=a", "=QQQ", "YWJj", "YW\nJj"} {
		check([]byte(s))
	}
}

// The decoder learns each type's key order from the objects it reads, and
// then takes the predicted keys without the general key read; the
// answers it decodes are checked against encoding/json elsewhere
// (TestFastDecodeKeyPrediction), this checks that the prediction runs.
func TestFdecKeyOrderLearned(t *testing.T) {
	in := []byte(`[{"LockIndex":0,"Key":"a","Flags":0,"Value":null,"CreateIndex":1,"ModifyIndex":1},` +
		`{"LockIndex":0,"Key":"b","Flags":0,"Value":null,"CreateIndex":2,"ModifyIndex":2}]`)
	d := &fdec{b: in}
	var out []*KVPair
	fdecLSPKVPair(d, &out)
	require.False(t, d.bad)
	require.Len(t, out, 2)
	name := func(n uint8) string {
		require.NotZero(t, n)
		return fdecKeysKVPair[n-1]
	}
	o := &d.ord.KVPair
	require.Equal(t, `,"LockIndex":`, name(o[0]), "the first key")
	after := map[string]string{}
	for i, k := range fdecKeysKVPair {
		if o[i+1] != 0 {
			after[k] = name(o[i+1])
		}
	}
	require.Equal(t, map[string]string{
		`,"LockIndex":`: `,"Key":`, `,"Key":`: `,"Flags":`, `,"Flags":`: `,"Value":`,
		`,"Value":`: `,"CreateIndex":`, `,"CreateIndex":`: `,"ModifyIndex":`,
	}, after)

	// A predicted key is taken only as its exact bytes.
	d.b, d.i = []byte(`,"key":1`), 0
	first := false
	require.False(t, d.expect(&first, `,"Key":`))
	require.True(t, d.expect(&first, `,"key":`))
	require.Equal(t, len(d.b)-1, d.i)
}

// Short strings repeated in an answer share one copy; longer ones and
// different ones do not.
func TestFdecShortStringsShared(t *testing.T) {
	d := &fdec{b: []byte(`{"a":["prod","team-1"],"b":["prod","team-2"],"c":["a-long-tag-1","a-long-tag-1"]}`)}
	var m map[string][]string
	fdecRMstring_Sstring(d, &m)
	require.False(t, d.bad)
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	require.True(t, same(m["a"][0], m["b"][0]), "prod kept twice")
	require.False(t, same(m["a"][1], m["b"][1]))
	require.Equal(t, []string{"a-long-tag-1", "a-long-tag-1"}, m["c"])
	require.False(t, same(m["c"][0], m["c"][1]), "strings over 8 bytes are not looked up")
	d.reset()
	require.Equal(t, [64]shortString{}, d.short, "the pooled table keeps no answer alive")
}
