package consul

import (
	"bytes"
	"encoding/base64"
	"math/rand"
	"testing"

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
