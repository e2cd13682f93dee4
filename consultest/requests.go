package consultest

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Request is one HTTP request an agent served, as its debug log records
// it: the method and the URL (path and query; Consul hides tokens in it).
type Request struct {
	Method string
	URL    string
}

// requestRE matches the log line of a request; hclog quotes a value that
// has characters such as '=' or '&' in it (a query, mostly).
var requestRE = regexp.MustCompile(`agent\.http: Request finished: method=(\S+) url=("(?:[^"\\]|\\.)*"|\S+)`)

// Requests returns the HTTP requests the agent has served so far, in order,
// read from its log (consultest runs agents at log level debug, where Consul
// logs every request it handles; a config that lowers log_level through
// Config.Extra leaves this empty). consultest's own readiness probes are
// left out. After Close the log is gone: use OnClose to read it before.
func (s *Server) Requests() []Request {
	f, err := os.Open(s.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []Request
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		// Lines of any length: the agent logs whole request bodies and
		// payloads at debug level, and a line cut short must not end the
		// reading.
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			break
		}
		if !strings.Contains(line, "Request finished") {
			continue
		}
		m := requestRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		u := m[2]
		if strings.HasPrefix(u, `"`) {
			if uq, err := strconv.Unquote(u); err == nil {
				u = uq
			}
		}
		if strings.Contains(u, probeMarker) {
			continue
		}
		out = append(out, Request{Method: m[1], URL: u})
	}
	return out
}

var (
	onCloseMu sync.Mutex
	onClose   []func(*Server)
)

// OnClose registers f to be called with every Server of this process when
// it is closed (Close, or the end of a test for NewServer, NewCluster and
// NewFederation), after the agent stopped and before its data and log are
// removed: for example to collect Requests across a test suite. f may be
// called from several goroutines at once (a cluster closes its servers
// together).
func OnClose(f func(*Server)) {
	onCloseMu.Lock()
	defer onCloseMu.Unlock()
	onClose = append(onClose, f)
}

func runOnClose(s *Server) {
	s.closeOnce.Do(func() {
		onCloseMu.Lock()
		fs := slices.Clone(onClose)
		onCloseMu.Unlock()
		for _, f := range fs {
			f(s)
		}
	})
}
