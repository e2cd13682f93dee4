package consul

import (
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
