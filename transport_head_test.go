package consul

import (
	"bufio"
	"bytes"
	"math/rand"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// slowHead reads a head as the transport does when parseHead declines:
// the status line, then textproto's ReadMIMEHeader.
func slowHead(b []byte) (line string, h http.Header, n int, err error) {
	br := bufio.NewReaderSize(bytes.NewReader(b), 64<<10)
	tp := textproto.NewReader(br)
	if line, err = tp.ReadLine(); err != nil {
		return "", nil, 0, err
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		return "", nil, 0, err
	}
	return line, http.Header(mh), len(b) - br.Buffered(), nil
}

// What parseHead accepts, it reads exactly as textproto does: the same
// status line, header and length; what it declines is left whole.
func TestParseHeadAsTextproto(t *testing.T) {
	check := func(t *testing.T, b []byte) bool {
		t.Helper()
		line, h, n, ok := parseHead(b)
		if !ok {
			require.Zero(t, n)
			return false
		}
		wline, wh, wn, err := slowHead(b)
		require.NoError(t, err, "parseHead accepted what textproto refuses: %q", b)
		require.Equal(t, wline, line, "%q", b)
		require.Equal(t, wh, h, "%q", b)
		require.Equal(t, wn, n, "%q", b)
		return true
	}

	consul := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nVary: Accept-Encoding\r\n" +
		"X-Consul-Default-Acl-Policy: allow\r\nX-Consul-Index: 14\r\nX-Consul-Knownleader: true\r\n" +
		"X-Consul-Lastcontact: 0\r\nX-Consul-Query-Backend: blocking-query\r\nDate: Mon, 30 Nov 2026 06:00:00 GMT\r\n" +
		"Content-Length: 112\r\n\r\n{\"body\":1}"
	require.True(t, check(t, []byte(consul)), "Consul's own head must take the fast path")
	for _, head := range []string{
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nx-consul-index: 3\r\nCONTENT-LENGTH: 0\r\n\r\n",         // not canonical
		"HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nB:3\r\nA:  4 \t\r\n\r\n",                // repeated, trimmed
		"HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Space:   \r\n\r\n",                        // empty values
		"HTTP/1.1 200 OK\r\nX-Utf8: caf\xc3\xa9 \xff\r\n\r\n",                       // obs-text
		"HTTP/1.1 200 OK\r\nX-Tab: a\tb\r\n\r\n",                                    // a tab inside
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", // one head at a time
	} {
		require.True(t, check(t, []byte(head)), "%q", head)
	}

	// Declined: textproto decides (a fold, a bare LF, odd names, controls,
	// a head not whole yet).
	for _, head := range []string{
		"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\n A: 1\r\n\r\n",
		"HTTP/1.1 200 OK\nA: 1\n\n",
		"HTTP/1.1 200 OK\nA: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA : 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA_B: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\x00\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\x7f\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r2\r\n\r\n",
		"HTTP/1.1 200 O\rK\r\nA: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r\n\r",
		"",
	} {
		require.False(t, check(t, []byte(head)), "%q", head)
	}

	// Random heads of Consul-like lines and hostile bytes.
	r := rand.New(rand.NewSource(1))
	names := []string{"Content-Type", "x-consul-index", "X-CONSUL-KNOWNLEADER", "A", "a-b-c", "X_Y", "Bad Name", "", "Vary"}
	values := []string{"", " ", "1", " two ", "\tx\t", "caf\xc3\xa9", "a\x00b", "a\rb", "a\nb", "\x7f", "v:w", "  "}
	fast := 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\n")
		for k := r.Intn(6); k > 0; k-- {
			if r.Intn(20) == 0 {
				b.WriteString(" ") // a fold or an indented line
			}
			b.WriteString(names[r.Intn(len(names))])
			if r.Intn(30) != 0 {
				b.WriteString(":")
			}
			b.WriteString(values[r.Intn(len(values))])
			if r.Intn(40) == 0 {
				b.WriteString("\n")
			} else {
				b.WriteString("\r\n")
			}
		}
		b.WriteString("\r\n{}")
		if check(t, []byte(b.String())) {
			fast++
		}
	}
	require.Greater(t, fast, 1000, "the random heads never took the fast path")
}
