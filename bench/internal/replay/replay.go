// Package replay serves recorded answers of a real Consul agent, so that a
// benchmark measures the client and not the agent.
//
// A recording is testdata/responses.json plus one file per body. Each route
// was recorded twice from the agent: once without compression and once
// asking for gzip, since Consul gzips answers over 1,400 bytes for clients
// that accept it (as Go's transport does by default). The server answers
// with the variant the request asks for, with the recorded status, headers
// and body byte for byte.
//
// One route is live rather than replayed: the watch key. A GET of it with
// ?index=N at or above the current index blocks until a PUT of the key (or
// the wait ends), as Consul's blocking queries do; its X-Consul-Index header
// is the current index, which every PUT of the key raises by one. The body
// and the other headers are still the recorded ones.
package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Variant is one recorded answer.
type Variant struct {
	Status int
	Header http.Header
	// BodyFile is the body's file name in the recording directory.
	BodyFile string
	body     []byte
}

// Route is one recorded request and its answers.
type Route struct {
	Name   string
	Method string
	Path   string // escaped path
	Query  string // the query recorded, for the record only
	// Prefix makes Path match every path that starts with it.
	Prefix bool
	// Watch marks the blocking read of the watch key; Bump the write that
	// wakes it.
	Watch, Bump bool
	Identity    Variant
	Gzip        Variant
}

// Recording is a set of routes.
type Recording struct {
	Agent  string // the agent version recorded
	Routes []*Route
}

// Load reads the recording in dir.
func Load(dir string) (*Recording, error) {
	b, err := os.ReadFile(filepath.Join(dir, "responses.json"))
	if err != nil {
		return nil, err
	}
	var rec Recording
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	for _, r := range rec.Routes {
		for _, v := range []*Variant{&r.Identity, &r.Gzip} {
			if v.body, err = os.ReadFile(filepath.Join(dir, v.BodyFile)); err != nil {
				return nil, err
			}
		}
	}
	return &rec, nil
}

// Save writes the recording into dir; bodies are given per variant.
func (rec *Recording) Save(dir string, bodies map[*Variant][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for v, b := range bodies {
		if err := os.WriteFile(filepath.Join(dir, v.BodyFile), b, 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "responses.json"), append(b, '\n'), 0o644)
}

// Route returns the route named name.
func (rec *Recording) Route(name string) *Route {
	for _, r := range rec.Routes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Body returns the uncompressed body of the route named name.
func (rec *Recording) Body(name string) []byte { return rec.Route(name).Identity.body }

// Server is a running replay server.
type Server struct {
	*httptest.Server
	rec *Recording

	mu      sync.Mutex
	index   uint64
	changed chan struct{}

	conns atomic.Int64 // connections accepted
}

// Conns returns how many connections the server accepted.
func (s *Server) Conns() int64 { return s.conns.Load() }

// NewServer starts a replay server of rec on a loopback port.
func NewServer(rec *Recording) *Server {
	s := &Server{rec: rec, changed: make(chan struct{})}
	for _, r := range rec.Routes {
		if r.Watch {
			n, err := strconv.ParseUint(r.Identity.Header.Get("X-Consul-Index"), 10, 64)
			if err != nil {
				panic(fmt.Sprintf("replay: route %s: bad index: %v", r.Name, err))
			}
			s.index = n
		}
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Server.Start()
	return s
}

// Addr is the server's "host:port".
func (s *Server) Addr() string { return strings.TrimPrefix(s.URL, "http://") }

func (s *Server) find(r *http.Request) *Route {
	path := r.URL.EscapedPath()
	for _, rt := range s.rec.Routes {
		if rt.Method != r.Method {
			continue
		}
		if rt.Path == path || (rt.Prefix && strings.HasPrefix(path, rt.Path)) {
			return rt
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rt := s.find(r)
	if rt == nil {
		http.Error(w, "replay: no recording for "+r.Method+" "+r.URL.String(), http.StatusNotImplemented)
		return
	}
	// Read the request body as the agent would.
	_, _ = io.Copy(io.Discard, r.Body)
	v := &rt.Identity
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		v = &rt.Gzip
	}
	h := w.Header()
	for k, vs := range v.Header {
		h[k] = vs
	}
	switch {
	case rt.Watch:
		h["X-Consul-Index"] = []string{strconv.FormatUint(s.block(r), 10)}
	case rt.Bump:
		s.mu.Lock()
		s.index++
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	w.WriteHeader(v.Status)
	_, _ = w.Write(v.body)
}

// block waits, like a blocking query, until the index is above the
// request's ?index= or the ?wait= time (default 5 minutes) ends, and
// returns the current index.
func (s *Server) block(r *http.Request) uint64 {
	q := r.URL.Query()
	want, _ := strconv.ParseUint(q.Get("index"), 10, 64)
	wait := 5 * time.Minute
	if d, err := time.ParseDuration(q.Get("wait")); err == nil && d > 0 {
		wait = d
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		cur, ch := s.index, s.changed
		s.mu.Unlock()
		if want == 0 || cur > want {
			return cur
		}
		select {
		case <-ch:
		case <-timer.C:
			return cur
		case <-r.Context().Done():
			return cur
		}
	}
}
