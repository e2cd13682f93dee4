// Package consul is a client for the Consul HTTP API (/v1/...).
//
// Create one Client per agent address and share it: it is safe for
// concurrent use and pools its connections. Every call that touches the
// network takes a context first and per-call Options last:
//
//	client, err := consul.NewClient(consul.Config{Address: "127.0.0.1:8500"})
//	pair, meta, err := client.KV.Get(ctx, "app/config", consul.Stale())
//
// # Reads, writes and the 404 rule
//
// Reads return (value, *Meta, error); Meta carries what the response headers
// say, such as the index to pass to WaitIndex for a blocking read. Writes
// return what Consul returns (an ID, or the bool of a CAS or a lock) and an
// error.
//
// A read of one object by its key or ID (a KV key, a session, an ACL token,
// a prepared query...) that does not exist returns a nil value, a filled
// Meta and a nil error, so that a caller can block on something that does
// not exist yet. A list that finds nothing returns an empty slice. Every
// other 404 (a write to something missing, a route the agent does not
// serve) is a *StatusError matching ErrNotFound.
//
// # Errors
//
// Non-2xx answers are *StatusError values, matchable with errors.Is against
// ErrNotFound, ErrPermissionDenied, ErrConflict and ErrRateLimited. Input
// refused before sending is an *ArgumentError naming the argument. A
// cancelled context returns an error wrapping ctx.Err(). Tokens never appear
// in errors.
//
// # Path parameters
//
// An ID, name or kind that goes into a route's path is one path segment,
// escaped: "", "." and "..", a '/' (escaped as %2F or not), an ASCII control
// character, or an escape that unescapes to one of those, is refused with an
// *ArgumentError before sending, so that no value can reach another route.
// KV keys are paths: they are escaped segment by segment, and refused only
// for empty, "." or ".." segments, a leading '/' or a control character.
package consul

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
)

// DefaultAddress is the agent address used when Config.Address is empty.
const DefaultAddress = "127.0.0.1:8500"

// DefaultKVMaxValueSize is Consul's default kv_max_value_size: 512 KiB.
const DefaultKVMaxValueSize = 512 << 10

// Defaults of Config's limits.
const (
	// DefaultTimeout bounds a call that does not block (Config.Timeout).
	DefaultTimeout = time.Minute
	// DefaultMaxResponseSize bounds an answer (Config.MaxResponseSize):
	// 128 MiB, above the largest answer Consul's own limits allow for a
	// transaction (128 operations reading values of kv_max_value_size,
	// 512 KiB, base64-encoded: about 86 MiB), and far above a health
	// listing of thousands of instances (a few MiB).
	DefaultMaxResponseSize = 128 << 20
	// DefaultMaxConns bounds the connections to one agent
	// (Config.MaxConns), under Consul's default
	// limits.http_max_conns_per_client of 200.
	DefaultMaxConns = 192
)

// DefaultRetryBackoff is the backoff of Config.Retries: 50ms doubling up
// to 10s.
var DefaultRetryBackoff = Backoff{Min: 50 * time.Millisecond, Max: 10 * time.Second}

// Backoff is an exponential backoff with jitter: the wait after the n-th
// failure in a row is Min doubled n-1 times, capped at Max, then jittered
// down by up to a half. A Retry-After asked by a 429 or 503 answer is
// waited instead when it is longer, up to Max and never beyond.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// Config configures a Client. The zero value talks to 127.0.0.1:8500 over
// plain HTTP with no token.
type Config struct {
	// Address of the agent: "host:port", "http://host:port",
	// "https://host:port" or "unix:///path/to/socket".
	Address string
	// Scheme is "http" or "https" for an Address without a scheme; empty
	// means "http".
	Scheme string
	// PathPrefix is the path under which a reverse proxy serves the agent's
	// API, e.g. "/consul" for an agent at http://host/consul/v1/...; it
	// applies to the Fallbacks too. Empty means none.
	PathPrefix string

	// Datacenter is sent with every call unless an Option overrides it;
	// empty means the agent's own.
	Datacenter string
	// Token is the default ACL token, sent in the X-Consul-Token header.
	Token string
	// TokenFile names a file holding the token; it is read once by
	// NewClient and used when Token is empty. A token holding a control
	// character (CR, LF, NUL...) is refused by NewClient.
	TokenFile string
	// Namespace and Partition are Consul Enterprise scopes sent with every
	// call; empty means the default.
	Namespace string
	Partition string
	// Consistency is the default consistency mode of reads.
	Consistency Consistency

	// HTTPAuth sets HTTP basic authentication on every request.
	HTTPAuth *BasicAuth
	// TLS configures HTTPS. Its files are loaded by NewClient whenever it
	// is set (a Fallback may be an https address), even if Address is
	// plain HTTP: a file that does not load is an error.
	TLS TLSConfig

	// HTTPClient, if set, sends every request: TLS and unix socket
	// settings must then be made on it by the caller. The client uses a
	// copy of it that never follows redirects (see Client).
	HTTPClient *http.Client
	// Transport, if set (and HTTPClient is not), is used instead of the
	// pooled transports this package builds, e.g. to add tracing. Those
	// speak HTTP/1.1 themselves to an agent on a loopback address or a
	// unix socket (on the calling goroutine, without asking for gzip) and
	// go through net/http's Transport to any other.
	Transport http.RoundTripper

	// Fallbacks are more agents ("host:port", "http://..." or "https://...")
	// to fail over to, in order, when a connection to the current one cannot
	// be opened; the client then stays on the agent that answered. They share
	// the Scheme and TLS settings. Fallbacks do not apply to a unix socket.
	Fallbacks []string
	// Retries is how many more attempts a call gets where retrying is safe:
	// a read (a GET that does not block) that failed in transport or got a
	// 429 or 5xx answer, and any call whose connection could not be opened,
	// so that nothing was sent. A write that reached an agent is never
	// retried. Attempts wait as RetryBackoff says. Zero means no retry;
	// failing over to Fallbacks happens regardless.
	Retries int
	// RetryBackoff bounds the wait between two attempts of a call: Min
	// after the first failure, doubling up to Max, with jitter; the
	// Retry-After of a 429 or 503 answer is waited, up to Max and never
	// beyond. The zero value means DefaultRetryBackoff.
	RetryBackoff Backoff

	// Timeout bounds every call that does not block on the server (the
	// whole call: connection, answer and retries), even when its context has
	// no deadline; a context with an earlier deadline wins. Zero means
	// DefaultTimeout; a negative value means no bound but the context's
	// (and, on the client's own transports, the wait for an answer's
	// headers: that of the longest blocking read, about 10m43s).
	// Blocking reads are bounded by their wait instead (wait + wait/16 +
	// 5s), and streams (Agent.Monitor, Agent.MetricsStream, Snapshot.Save
	// and Restore) by their context only. Calls made with
	// context.Background or TODO share one deadline per 64th of the bound
	// (no timer of their own), so such a call may run up to 1/64 longer.
	Timeout time.Duration
	// MaxResponseSize bounds the size of an answer, counted after
	// decompression: a larger one fails with an error matching
	// ErrResponseTooLarge, without being read further. Zero means
	// DefaultMaxResponseSize. Streams (Snapshot.Save, Agent.Monitor,
	// Agent.MetricsStream) are not bounded: their reader decides.
	MaxResponseSize int64
	// MaxConns bounds the connections the client opens to one agent;
	// zero means DefaultMaxConns, under Consul's default
	// limits.http_max_conns_per_client of 200 (beyond which the agent
	// refuses connections with 429s). A fifth of them is kept for calls
	// that do not block, so that long blocking reads cannot starve other
	// calls: blocking reads beyond their share wait for a connection.
	// Each share needs one connection: 1 is refused. It does not apply to
	// an HTTPClient or Transport given here.
	MaxConns int

	// Logger receives what the client does in the background or on its own
	// initiative: failovers (Warn), retries (Info), and, for the watches,
	// caches and coordination primitives built on this client, their
	// errors, backoffs, session renewal failures and losses. Nil means
	// silent. No token is ever logged.
	Logger *slog.Logger
	// Observer, if set, sees every call the client makes: when it starts,
	// each retry or failover, and how it ended, for tracing and metrics
	// (the otelconsul module makes OpenTelemetry spans of them). Nil costs
	// nothing.
	Observer Observer

	// KVMaxValueSize is the largest KV value accepted before sending; zero
	// means DefaultKVMaxValueSize. Set it to the agent's kv_max_value_size
	// when that was raised.
	KVMaxValueSize int
}

// BasicAuth is HTTP basic authentication, as in CONSUL_HTTP_AUTH=user:pass.
type BasicAuth struct {
	Username string
	Password string
}

// TLSConfig configures the client side of HTTPS.
type TLSConfig struct {
	// ServerName is the name expected in the server's certificate; empty
	// means the host of Address.
	ServerName string
	// CAFile, CAPath (a directory of PEM files) and CAPem add trusted CAs;
	// when none is set the system roots are used.
	CAFile string
	CAPath string
	CAPem  []byte
	// CertFile and KeyFile (or CertPEM and KeyPEM) are the client
	// certificate for mutual TLS.
	CertFile string
	KeyFile  string
	CertPEM  []byte
	KeyPEM   []byte
	// InsecureSkipVerify disables server certificate checks.
	InsecureSkipVerify bool
}

func (t *TLSConfig) isZero() bool {
	return t.ServerName == "" && t.CAFile == "" && t.CAPath == "" && len(t.CAPem) == 0 &&
		t.CertFile == "" && t.KeyFile == "" && len(t.CertPEM) == 0 && len(t.KeyPEM) == 0 &&
		!t.InsecureSkipVerify
}

// ConfigFromEnv returns a Config from the CONSUL_* variables the consul CLI
// reads: CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE,
// CONSUL_HTTP_AUTH, CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY, CONSUL_CACERT,
// CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
// CONSUL_TLS_SERVER_NAME, CONSUL_NAMESPACE and CONSUL_PARTITION. Unset
// variables leave the zero value. A boolean that does not parse is an error.
// As in the consul CLI, CONSUL_HTTP_TOKEN_FILE wins over CONSUL_HTTP_TOKEN
// when both are set, and a path after the host in CONSUL_HTTP_ADDR
// ("https://host/consul") becomes PathPrefix.
func ConfigFromEnv() (Config, error) {
	var c Config
	c.Address = os.Getenv("CONSUL_HTTP_ADDR")
	// An address with a user and password is left whole, for NewClient to
	// refuse without echoing it: split at a "/" of the password, it would
	// leak part of it into PathPrefix.
	if scheme, rest, ok := strings.Cut(c.Address, "://"); ok && (scheme == "http" || scheme == "https") && !strings.Contains(rest, "@") {
		// As the consul CLI: a path after the host is the prefix a
		// reverse proxy serves the API under.
		if host, path, ok := strings.Cut(rest, "/"); ok && strings.Trim(path, "/") != "" {
			c.Address, c.PathPrefix = scheme+"://"+host, "/"+strings.Trim(path, "/")
		}
	}
	c.TokenFile = os.Getenv("CONSUL_HTTP_TOKEN_FILE")
	if c.TokenFile == "" {
		// As the consul CLI: the file, when set, wins over the variable.
		c.Token = os.Getenv("CONSUL_HTTP_TOKEN")
	}
	if auth, ok := os.LookupEnv("CONSUL_HTTP_AUTH"); ok && auth != "" {
		user, pass, _ := strings.Cut(auth, ":")
		c.HTTPAuth = &BasicAuth{Username: user, Password: pass}
	}
	if v := os.Getenv("CONSUL_HTTP_SSL"); v != "" {
		ssl, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("consul: CONSUL_HTTP_SSL: %w", err)
		}
		if ssl {
			c.Scheme = "https"
		}
	}
	if v := os.Getenv("CONSUL_HTTP_SSL_VERIFY"); v != "" {
		verify, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("consul: CONSUL_HTTP_SSL_VERIFY: %w", err)
		}
		c.TLS.InsecureSkipVerify = !verify
	}
	c.TLS.CAFile = os.Getenv("CONSUL_CACERT")
	c.TLS.CAPath = os.Getenv("CONSUL_CAPATH")
	c.TLS.CertFile = os.Getenv("CONSUL_CLIENT_CERT")
	c.TLS.KeyFile = os.Getenv("CONSUL_CLIENT_KEY")
	c.TLS.ServerName = os.Getenv("CONSUL_TLS_SERVER_NAME")
	c.Namespace = os.Getenv("CONSUL_NAMESPACE")
	c.Partition = os.Getenv("CONSUL_PARTITION")
	return c, nil
}

// service is shared by every endpoint group; each group type is a
// conversion of it, so the sub-clients cost one struct in all.
type service struct {
	client *Client
}

// Client is a Consul HTTP API client. Its endpoint groups are fields:
// client.KV.Get(...), client.Session.Create(...). It is safe for concurrent
// use.
//
// It never follows an HTTP redirect: a 3xx answer is a *StatusError, so
// that neither the token nor a request body ever reaches another host or
// another route than the one called. (Consul itself answers 307 only to
// paths that are not clean, such as KV keys with "." segments, which the
// client refuses before sending.)
type Client struct {
	hc      *http.Client  // calls that do not block
	hcLong  *http.Client  // blocking reads and streams
	bases   []string      // scheme://host of the agent and its fallbacks
	cur     atomic.Uint32 // index in bases of the agent in use
	retries int
	backoff Backoff
	timeout time.Duration // 0: none
	// The bounds of calls without a context of their own: those that do
	// not block, and blocking reads.
	deadlines, blockingDeadlines sharedDeadline
	maxResponse                  int64
	logger                       *slog.Logger // nil: silent
	observer                     Observer     // nil: none
	datacenter                   string
	token                        string
	namespace                    string
	partition                    string
	authHeader                   string // precomputed "Basic ..." or empty
	consistency                  Consistency
	kvMaxValue                   int

	common service

	ACL           *ACLService
	Agent         *AgentService
	Catalog       *CatalogService
	Checks        *ChecksService
	ConfigEntries *ConfigEntriesService
	Connect       *ConnectService
	Coordinate    *CoordinateService
	Event         *EventService
	Health        *HealthService
	KV            *KVService
	Members       *MembersService
	Operator      *OperatorService
	Peering       *PeeringService
	Query         *QueryService
	Services      *ServicesService
	Session       *SessionService
	Snapshot      *SnapshotService
	Status        *StatusService
	Txn           *TxnService
}

// NewClient returns a client for cfg. It reads TokenFile and the TLS files
// once, here; it sends nothing.
func NewClient(cfg Config) (*Client, error) {
	c := &Client{
		datacenter:  cfg.Datacenter,
		token:       cfg.Token,
		namespace:   cfg.Namespace,
		partition:   cfg.Partition,
		consistency: cfg.Consistency,
		kvMaxValue:  cfg.KVMaxValueSize,
		logger:      cfg.Logger,
		observer:    cfg.Observer,
	}
	if !cfg.Consistency.valid() {
		return nil, argError("Config.Consistency", "unknown mode %d", cfg.Consistency)
	}
	if c.kvMaxValue <= 0 {
		c.kvMaxValue = DefaultKVMaxValueSize
	}
	if err := checkToken("Config.Token", c.token); err != nil {
		return nil, err
	}
	if c.token == "" && cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("consul: token file: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
		if err := checkToken("Config.TokenFile", c.token); err != nil {
			return nil, err
		}
	}
	if cfg.HTTPAuth != nil {
		raw := cfg.HTTPAuth.Username + ":" + cfg.HTTPAuth.Password
		c.authHeader = "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))
	}

	if cfg.Retries < 0 {
		return nil, argError("Config.Retries", "negative")
	}
	c.retries = cfg.Retries
	c.backoff = cfg.RetryBackoff
	if c.backoff == (Backoff{}) {
		c.backoff = DefaultRetryBackoff
	}
	if err := c.backoff.check("Config.RetryBackoff"); err != nil {
		return nil, err
	}
	switch {
	case cfg.Timeout == 0:
		c.timeout = DefaultTimeout
	case cfg.Timeout > 0:
		c.timeout = cfg.Timeout
	}
	switch {
	case cfg.MaxResponseSize < 0:
		return nil, argError("Config.MaxResponseSize", "negative")
	case cfg.MaxResponseSize == 0:
		c.maxResponse = DefaultMaxResponseSize
	default:
		c.maxResponse = cfg.MaxResponseSize
	}
	if cfg.MaxConns < 0 {
		return nil, argError("Config.MaxConns", "negative")
	}
	if cfg.MaxConns == 1 && cfg.HTTPClient == nil && cfg.Transport == nil {
		// One pool for calls that do not block and one for blocking reads:
		// each needs a connection of its own.
		return nil, argError("Config.MaxConns", "must be 0 (the default) or at least 2")
	}
	addr := cfg.Address
	if addr == "" {
		addr = DefaultAddress
	}
	prefix, err := pathPrefix(cfg.PathPrefix)
	if err != nil {
		return nil, err
	}
	var socket string
	if strings.HasPrefix(addr, "unix://") {
		socket = strings.TrimPrefix(addr, "unix://")
		if socket == "" {
			return nil, argError("Config.Address", "empty unix socket path")
		}
		if len(cfg.Fallbacks) > 0 {
			return nil, argError("Config.Fallbacks", "not with a unix socket address")
		}
		c.bases = []string{"http://localhost" + prefix}
	} else {
		for i, a := range append([]string{addr}, cfg.Fallbacks...) {
			field := "Config.Address"
			if i > 0 {
				field = fmt.Sprintf("Config.Fallbacks[%d]", i-1)
			}
			base, err := baseURL(a, cfg.Scheme, field)
			if err != nil {
				return nil, err
			}
			c.bases = append(c.bases, base+prefix)
		}
	}
	https := strings.HasPrefix(c.bases[0], "https://")

	switch {
	case cfg.HTTPClient != nil:
		if !cfg.TLS.isZero() || socket != "" {
			return nil, argError("Config.HTTPClient", "TLS and unix socket settings must be made on the given client")
		}
		hc := *cfg.HTTPClient
		hc.CheckRedirect = noRedirect
		c.hc, c.hcLong = &hc, &hc
	case cfg.Transport != nil:
		if !cfg.TLS.isZero() || socket != "" {
			return nil, argError("Config.Transport", "TLS and unix socket settings must be made on the given transport")
		}
		c.hc = &http.Client{Transport: cfg.Transport, CheckRedirect: noRedirect}
		c.hcLong = c.hc
	default:
		short, long, err := newTransports(cfg, c.timeout, https, socket)
		if err != nil {
			return nil, err
		}
		c.hc = &http.Client{Transport: short, CheckRedirect: noRedirect}
		c.hcLong = &http.Client{Transport: long, CheckRedirect: noRedirect}
	}

	c.common.client = c
	c.ACL = (*ACLService)(&c.common)
	c.Agent = (*AgentService)(&c.common)
	c.Catalog = (*CatalogService)(&c.common)
	c.Checks = (*ChecksService)(&c.common)
	c.ConfigEntries = (*ConfigEntriesService)(&c.common)
	c.Connect = (*ConnectService)(&c.common)
	c.Coordinate = (*CoordinateService)(&c.common)
	c.Event = (*EventService)(&c.common)
	c.Health = (*HealthService)(&c.common)
	c.KV = (*KVService)(&c.common)
	c.Members = (*MembersService)(&c.common)
	c.Operator = (*OperatorService)(&c.common)
	c.Peering = (*PeeringService)(&c.common)
	c.Query = (*QueryService)(&c.common)
	c.Services = (*ServicesService)(&c.common)
	c.Session = (*SessionService)(&c.common)
	c.Snapshot = (*SnapshotService)(&c.common)
	c.Status = (*StatusService)(&c.common)
	c.Txn = (*TxnService)(&c.common)
	return c, nil
}

// Address returns the base URL of the agent the client talks to now, e.g.
// "http://127.0.0.1:8500" (for a unix socket, "http://localhost"; with a
// PathPrefix, "http://host/consul"); with Fallbacks it changes when the
// client fails over.
func (c *Client) Address() string { return c.bases[c.cur.Load()] }

// Agents returns the base URLs of every agent the client may talk to, in
// order: Address first, then the Fallbacks (in the form Address returns).
func (c *Client) Agents() []string { return slices.Clone(c.bases) }

// Logger returns Config.Logger (nil when the client is silent), for
// WatchLogger and for code built on the client.
func (c *Client) Logger() *slog.Logger { return c.logger }

// pathPrefix checks a Config.PathPrefix and returns it as "/a/b" (or "").
func pathPrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || url.PathEscape(seg) != seg {
			return "", argError("Config.PathPrefix", "%q must be a clean path of unescaped segments", p)
		}
	}
	return "/" + p, nil
}

// baseURL turns an address into "scheme://host:port".
func baseURL(addr, scheme, field string) (string, error) {
	switch {
	case strings.HasPrefix(addr, "http://"):
		scheme, addr = "http", strings.TrimPrefix(addr, "http://")
	case strings.HasPrefix(addr, "https://"):
		scheme, addr = "https", strings.TrimPrefix(addr, "https://")
	case scheme == "":
		scheme = "http"
	}
	addr = strings.TrimRight(addr, "/")
	if scheme != "http" && scheme != "https" {
		return "", argError("Config.Scheme", "want http or https, got %q", scheme)
	}
	if strings.Contains(addr, "@") {
		// Never echoed: it holds a password.
		return "", argError(field, "a user and password in the address are not supported (not shown here): set Config.HTTPAuth")
	}
	if addr == "" || strings.ContainsAny(addr, "/?#") {
		return "", argError(field, "want host:port, got %q", addr)
	}
	if strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
		return "", argError(field, "an IPv6 address goes in brackets, as in [::1]:8500, got %q", addr)
	}
	if i := strings.Index(addr, "%"); i >= 0 && strings.HasPrefix(addr, "[") && !strings.HasPrefix(addr[i:], "%25") {
		addr = addr[:i] + "%25" + addr[i+1:] // an IPv6 zone, escaped for the URL
	}
	base := scheme + "://" + addr
	if u, err := url.Parse(base); err != nil || u.Host == "" {
		return "", argError(field, "want host:port, got %q", addr)
	}
	return base, nil
}

// noRedirect makes the HTTP client return a 3xx answer as it is instead of
// following it: a redirect would carry the token and replay the body to
// wherever the answer points.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// responseHeaderTimeout bounds the wait for an answer's headers on the
// client's own transports: the longest a blocking read may be held (the
// longest wait, its jitter and the margin). Calls that do not block are
// bounded tighter by Config.Timeout, so the pool of short calls has no
// header timeout of its own unless Config.Timeout is off or longer.
const responseHeaderTimeout = maxWait + maxWait/16 + 5*time.Second

// newTransports builds the client's two pools: one for calls that do not
// block and one for blocking reads and streams, which hold a connection for
// minutes. Together they open at most cfg.MaxConns connections per agent;
// the short pool gets a fifth of them (at least one), so that blocking
// reads cannot starve other calls. Each pool keeps as many idle
// connections as it may open: blocking reads come back in bursts, and the
// default of GOMAXPROCS+1 idle connections would close and reopen them all
// the time.
//
// Both send a request to an agent on a loopback address or a unix socket
// through localTransport (transport.go), and every other one through
// net/http's Transport.
func newTransports(cfg Config, timeout time.Duration, https bool, socket string) (short, long *localTransport, err error) {
	t, err := newTransport(cfg, https, socket)
	if err != nil {
		return nil, nil, err
	}
	total := cfg.MaxConns
	if total == 0 {
		total = DefaultMaxConns
	}
	nShort := max(total/5, 1)
	nLong := max(total-nShort, 1)
	l := t.Clone()
	t.MaxConnsPerHost, t.MaxIdleConnsPerHost = nShort, nShort
	l.MaxConnsPerHost, l.MaxIdleConnsPerHost = nLong, nLong
	if timeout > 0 && timeout <= responseHeaderTimeout {
		// Every call of the short pool is bounded by timeout (the client's
		// Config.Timeout, resolved; 0: none), which
		// also bounds the wait for headers, tighter: a second timer per
		// request would cost three allocations for nothing.
		t.ResponseHeaderTimeout = 0
	}
	return newLocalTransport(t, socket), newLocalTransport(l, socket), nil
}

func newTransport(cfg Config, https bool, socket string) (*http.Transport, error) {
	t := cleanhttp.DefaultPooledTransport()
	t.MaxIdleConns = 0 // no global cap; the per-host caps apply
	t.ResponseHeaderTimeout = responseHeaderTimeout
	if socket != "" {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}
	}
	if https || !cfg.TLS.isZero() {
		tc, err := tlsClientConfig(&cfg.TLS)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = tc
	}
	return t, nil
}

// tlsClientConfig builds the TLS settings; an empty ServerName lets the
// transport check each agent's certificate against its own host name.
func tlsClientConfig(c *TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.InsecureSkipVerify,
		ServerName:         c.ServerName,
	}
	if c.CAFile != "" || c.CAPath != "" || len(c.CAPem) > 0 {
		pool := x509.NewCertPool()
		add := func(pem []byte, from string) error {
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("consul: no certificate in %s", from)
			}
			return nil
		}
		if c.CAFile != "" {
			b, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("consul: TLS CA file: %w", err)
			}
			if err := add(b, c.CAFile); err != nil {
				return nil, err
			}
		}
		if c.CAPath != "" {
			entries, err := os.ReadDir(c.CAPath)
			if err != nil {
				return nil, fmt.Errorf("consul: TLS CA path: %w", err)
			}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				p := filepath.Join(c.CAPath, e.Name())
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("consul: TLS CA path: %w", err)
				}
				if err := add(b, p); err != nil {
					return nil, err
				}
			}
		}
		if len(c.CAPem) > 0 {
			if err := add(c.CAPem, "TLSConfig.CAPem"); err != nil {
				return nil, err
			}
		}
		tc.RootCAs = pool
	}
	switch {
	case c.CertFile != "" || c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("consul: TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case len(c.CertPEM) > 0 || len(c.KeyPEM) > 0:
		cert, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("consul: TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
