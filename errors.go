package consul

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors matched with errors.Is against any error this package
// returns for a non-2xx answer.
var (
	// ErrNotFound matches a 404 answer. Reads of a single object (a KV key,
	// a session, a token...) never return it: they return a nil value and a
	// nil error instead, see each method's documentation.
	ErrNotFound = errors.New("consul: not found")
	// ErrPermissionDenied matches a 403 answer: the token is missing, unknown
	// or lacks the permission.
	ErrPermissionDenied = errors.New("consul: permission denied")
	// ErrConflict matches a 409 answer, such as a rolled back transaction.
	ErrConflict = errors.New("consul: conflict")
	// ErrRateLimited matches a 429 answer; StatusError.RetryAfter says how
	// long the server asked to wait.
	ErrRateLimited = errors.New("consul: rate limited")
	// ErrResponseTooLarge matches an answer larger than
	// Config.MaxResponseSize (counted after decompression). It is
	// permanent: the same request would get the same answer.
	ErrResponseTooLarge = errors.New("consul: answer too large")
)

// maxErrorBody bounds how much of an error answer is kept in StatusError.
const maxErrorBody = 4 << 10

// StatusError is returned for every non-2xx answer of the Consul HTTP API,
// 3xx redirects included (they are never followed).
//
// It never contains the request's token: tokens travel in a header, neither
// the header nor the query string is part of the error, and every token the
// call could have sent (its Token option and the client's token) is
// replaced by "<redacted>" in the body when the server echoes it.
type StatusError struct {
	StatusCode int    // the HTTP status code, e.g. 403
	Method     string // the request method, e.g. "GET"
	Path       string // the request path without its query, e.g. "/v1/kv/app/x"
	Body       string // the answer's body, trimmed and cut at 4 KiB
	// RetryAfter is the delay a 429 or 503 answer asked for in its
	// Retry-After header, zero when absent.
	RetryAfter time.Duration
}

// Error implements error.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("consul: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.Body != "" {
		b.WriteString(": ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// Is reports whether e matches one of the sentinel errors by status code.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrPermissionDenied:
		return e.StatusCode == http.StatusForbidden
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// Temporary reports whether retrying the same request may succeed: true for
// 429 and for 5xx answers, false for every other 4xx.
func (e *StatusError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// IsPermanent reports whether retrying err will not change it: an answer
// from Consul that is a 4xx other than 429 (or a 3xx redirect, which is
// never followed), input refused before sending (*ArgumentError), or an
// answer over Config.MaxResponseSize. Transport errors, cancellations and
// 5xx answers are not permanent.
func IsPermanent(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return !se.Temporary()
	}
	var ae *ArgumentError
	return errors.As(err, &ae) || errors.Is(err, ErrResponseTooLarge)
}

// ArgumentError reports input refused before any request was sent.
type ArgumentError struct {
	Arg    string // the argument or field at fault, e.g. "key" or "Session.TTL"
	Reason string
}

// Error implements error.
func (e *ArgumentError) Error() string {
	return "consul: invalid " + e.Arg + ": " + e.Reason
}

func argError(arg, format string, args ...any) error {
	return &ArgumentError{Arg: arg, Reason: fmt.Sprintf(format, args...)}
}

// redacted replaces secrets in error bodies.
const redacted = "<redacted>"

// redact replaces every non-empty secret in s by "<redacted>".
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// checkToken refuses a token that cannot travel in a header as it is: one
// holding a control character (CR, LF, NUL, tab, DEL...), which would break
// the request or smuggle headers into it, and one with a leading or
// trailing space, which the agent's HTTP server strips from the header
// (the agent would check another token than the caller's). The token
// itself never appears in the error.
func checkToken(arg, token string) error {
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x20 || c == 0x7f {
			return argError(arg, "contains the control character %#02x at byte %d", c, i)
		}
	}
	if token != "" && (token[0] == ' ' || token[len(token)-1] == ' ') {
		return argError(arg, "has a leading or trailing space, which the header would lose")
	}
	return nil
}

// TxnError is returned when Consul rolls a transaction back (409). Errors
// lists every operation that failed, by its index in the transaction.
// errors.Is(err, ErrConflict) is true for a TxnError.
type TxnError struct {
	Errors []TxnOpError
}

// TxnOpError is one failed operation of a rolled back transaction.
type TxnOpError struct {
	OpIndex int    // the index of the operation in the transaction, from 0
	What    string // Consul's message
}

// Error implements error.
func (e *TxnError) Error() string {
	var b strings.Builder
	b.WriteString("consul: transaction rolled back")
	for i, op := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString("op ")
		b.WriteString(strconv.Itoa(op.OpIndex))
		b.WriteString(": ")
		b.WriteString(op.What)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *TxnError) Is(target error) bool { return target == ErrConflict }
