package consul

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// KVPair is one entry of the KV store (Consul's DirEntry).
type KVPair struct {
	Key         string
	CreateIndex uint64
	ModifyIndex uint64
	// LockIndex counts how many times the key was acquired by a session.
	LockIndex uint64
	// Flags is an opaque number stored with the value.
	Flags uint64
	// Value is the stored value, decoded from Consul's base64; a 0-byte
	// value is nil.
	Value []byte
	// Session is the ID of the session holding the key's lock, if any.
	Session   string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	Partition string `json:",omitempty"`
}

// KVService is the key/value store: /v1/kv/.
//
// Keys are sent escaped segment by segment, so that spaces, '%', '?', '#',
// '+' and non-ASCII keys round-trip. A key must not start with '/', and
// must not contain empty, "." or ".." segments: Consul's HTTP server would
// redirect such paths to another key. Values are raw bytes; the base64 of
// Consul's JSON is handled here.
type KVService service

var epKVGet = endpoint{name: "KV.Get", method: http.MethodGet, route: "/v1/kv/:key", opts: oRead | oEnt, read: true, notFoundOK: true}

// Get reads one key: GET /v1/kv/:key.
//
// A key that does not exist returns (nil, meta, nil): meta.Index can be
// passed to WaitIndex to block until the key is created. Get supports
// blocking (WaitIndex, WaitTime), consistency and Datacenter options.
func (s *KVService) Get(ctx context.Context, key string, opts ...Option) (*KVPair, *Meta, error) {
	if err := checkKey("key", key, false); err != nil {
		return nil, nil, err
	}
	var out []*KVPair
	meta, err := s.client.call(ctx, &epKVGet, kvPath(key), nil, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	return first(out), meta, nil
}

var epKVGetRaw = endpoint{name: "KV.GetRaw", method: http.MethodGet, route: "/v1/kv/:key", opts: oRead | oEnt, read: true, notFoundOK: true}

// GetRaw reads one key's value as is: GET /v1/kv/:key?raw.
//
// A key that does not exist returns (nil, meta, nil); an existing 0-byte
// value returns a non-nil empty slice. It blocks like Get.
func (s *KVService) GetRaw(ctx context.Context, key string, opts ...Option) ([]byte, *Meta, error) {
	if err := checkKey("key", key, false); err != nil {
		return nil, nil, err
	}
	var out []byte
	meta, err := s.client.call(ctx, &epKVGetRaw, kvPath(key), []param{{"raw", ""}}, nil, opts, &out)
	// out stays nil on Consul's 404; an existing empty value is []byte{}.
	return out, meta, err
}

var epKVList = endpoint{name: "KV.List", method: http.MethodGet, route: "/v1/kv/:key", opts: oRead | oEnt | oSeparator, read: true, notFoundOK: true}

// List reads every key under prefix with its value (aioconsul's get_tree):
// GET /v1/kv/:prefix?recurse. An empty prefix lists the whole store.
// Separator is accepted and sent, as aioconsul's get_tree sends it, but
// Consul ignores it with recurse: every key under prefix is returned (use
// ListKeys to list one level).
//
// No key under the prefix returns an empty slice, a filled meta and a nil
// error; it blocks like Get.
func (s *KVService) List(ctx context.Context, prefix string, opts ...Option) ([]*KVPair, *Meta, error) {
	if err := checkKey("prefix", prefix, true); err != nil {
		return nil, nil, err
	}
	var out []*KVPair
	meta, err := s.client.call(ctx, &epKVList, kvPath(prefix), []param{{"recurse", ""}}, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []*KVPair{} // Consul's 404: nothing under the prefix
	}
	return out, meta, nil
}

var epKVListKeys = endpoint{name: "KV.ListKeys", method: http.MethodGet, route: "/v1/kv/:key", opts: oRead | oEnt | oSeparator, read: true, notFoundOK: true}

// ListKeys lists the keys under prefix without their values: GET
// /v1/kv/:prefix?keys. With Separator("/") it lists one level: the keys and
// the "directories" (ending in the separator) right under prefix.
//
// No key under the prefix returns an empty slice and a nil error; it blocks
// like Get.
func (s *KVService) ListKeys(ctx context.Context, prefix string, opts ...Option) ([]string, *Meta, error) {
	if err := checkKey("prefix", prefix, true); err != nil {
		return nil, nil, err
	}
	var out []string
	meta, err := s.client.call(ctx, &epKVListKeys, kvPath(prefix), []param{{"keys", ""}}, nil, opts, &out)
	if err != nil {
		return nil, meta, err
	}
	if out == nil {
		out = []string{} // Consul's 404: nothing under the prefix
	}
	return out, meta, nil
}

var epKVPut = endpoint{name: "KV.Put", method: http.MethodPut, route: "/v1/kv/:key", opts: oDC | oEnt | oFlags}

// Put writes value at key (aioconsul's set): PUT /v1/kv/:key. Pass
// Flags(n) to store flags with it. A value over the client's
// KVMaxValueSize is refused before sending.
func (s *KVService) Put(ctx context.Context, key string, value []byte, opts ...Option) error {
	ok, err := s.put(ctx, &epKVPut, key, value, nil, opts)
	if err == nil && !ok {
		return fmt.Errorf("consul: PUT %s: the write was not applied", kvPath(key))
	}
	return err
}

var epKVPutCAS = endpoint{name: "KV.PutCAS", method: http.MethodPut, route: "/v1/kv/:key", opts: oDC | oEnt | oFlags}

// PutCAS writes value at key only if the key's ModifyIndex is still index:
// PUT /v1/kv/:key?cas=index. An index of 0 writes only if the key does not
// exist. It returns false, and no error, when the index did not match.
func (s *KVService) PutCAS(ctx context.Context, key string, value []byte, index uint64, opts ...Option) (bool, error) {
	return s.put(ctx, &epKVPutCAS, key, value, []param{{"cas", strconv.FormatUint(index, 10)}}, opts)
}

var epKVAcquire = endpoint{name: "KV.Acquire", method: http.MethodPut, route: "/v1/kv/:key", opts: oDC | oEnt | oFlags}

// Acquire writes value at key and locks the key for session (aioconsul's
// lock): PUT /v1/kv/:key?acquire=session. It returns false, and no error,
// when another session holds the lock or the lock-delay is running.
func (s *KVService) Acquire(ctx context.Context, key string, value []byte, session string, opts ...Option) (bool, error) {
	if session == "" {
		return false, argError("session", "empty")
	}
	return s.put(ctx, &epKVAcquire, key, value, []param{{"acquire", session}}, opts)
}

var epKVRelease = endpoint{name: "KV.Release", method: http.MethodPut, route: "/v1/kv/:key", opts: oDC | oEnt | oFlags}

// Release writes value at key and unlocks the key held by session
// (aioconsul's unlock): PUT /v1/kv/:key?release=session. It returns false
// when session does not hold the lock.
func (s *KVService) Release(ctx context.Context, key string, value []byte, session string, opts ...Option) (bool, error) {
	if session == "" {
		return false, argError("session", "empty")
	}
	return s.put(ctx, &epKVRelease, key, value, []param{{"release", session}}, opts)
}

func (s *KVService) put(ctx context.Context, e *endpoint, key string, value []byte, ps []param, opts []Option) (bool, error) {
	if err := checkKey("key", key, false); err != nil {
		return false, err
	}
	if len(value) > s.client.kvMaxValue {
		return false, argError("value", "%d bytes is over the limit of %d bytes (Config.KVMaxValueSize)", len(value), s.client.kvMaxValue)
	}
	if value == nil {
		value = []byte{}
	}
	var ok bool
	_, err := s.client.call(ctx, e, kvPath(key), ps, value, opts, &ok)
	return ok, err
}

var epKVDelete = endpoint{name: "KV.Delete", method: http.MethodDelete, route: "/v1/kv/:key", opts: oDC | oEnt}

// Delete deletes one key: DELETE /v1/kv/:key. Deleting a key that does not
// exist is not an error.
func (s *KVService) Delete(ctx context.Context, key string, opts ...Option) error {
	if err := checkKey("key", key, false); err != nil {
		return err
	}
	_, err := s.client.call(ctx, &epKVDelete, kvPath(key), nil, nil, opts, nil)
	return err
}

var epKVDeleteTree = endpoint{name: "KV.DeleteTree", method: http.MethodDelete, route: "/v1/kv/:key", opts: oDC | oEnt | oSeparator}

// DeleteTree deletes every key under prefix: DELETE /v1/kv/:prefix?recurse.
// Separator is accepted and sent, as aioconsul's delete_tree sends it, but
// Consul ignores it with recurse: every key under prefix is deleted.
// An empty prefix is refused; delete "" keys one by one if that is really
// what you want.
func (s *KVService) DeleteTree(ctx context.Context, prefix string, opts ...Option) error {
	if err := checkKey("prefix", prefix, false); err != nil {
		return err
	}
	_, err := s.client.call(ctx, &epKVDeleteTree, kvPath(prefix), []param{{"recurse", ""}}, nil, opts, nil)
	return err
}

var epKVDeleteCAS = endpoint{name: "KV.DeleteCAS", method: http.MethodDelete, route: "/v1/kv/:key", opts: oDC | oEnt}

// DeleteCAS deletes key only if its ModifyIndex is still index: DELETE
// /v1/kv/:key?cas=index. It returns false, and no error, when the index did
// not match.
func (s *KVService) DeleteCAS(ctx context.Context, key string, index uint64, opts ...Option) (bool, error) {
	if err := checkKey("key", key, false); err != nil {
		return false, err
	}
	var ok bool
	_, err := s.client.call(ctx, &epKVDeleteCAS, kvPath(key), []param{{"cas", strconv.FormatUint(index, 10)}}, nil, opts, &ok)
	return ok, err
}

// CheckKey reports whether the KV calls take key as it is: nil, or the
// *ArgumentError (Arg "key") each of them returns for it before sending
// anything. Code built on KV keys (the concurrency package's locks and
// semaphores) checks its keys with it when it is set up.
func CheckKey(key string) error { return checkKey("key", key, false) }

// checkKey refuses, the same way on every KV call, keys that Consul cannot
// serve over HTTP: empty (unless allowed, for prefixes), starting with '/',
// holding an empty, "." or ".." segment, holding an ASCII control
// character (0x00-0x1f, 0x7f), a rune that is not printable or bytes that
// are not UTF-8 (see path.go). A trailing '/' is allowed: it is part of
// the key ("dir/").
//
// It refuses too what Consul 1.22 refuses with a 500 (its KV key
// validation), on every agent version so that a key means the same on
// each: a key with a leading or trailing space, and a key holding an
// escape ('%' and two hex digits) whose once-unescaped form holds "..", a
// space, or (as an unescaping proxy in front of Consul would change the
// route) a "." or empty segment, a leading '/' or a character refused
// above. Other '%' sequences are not unescaped: they are sent escaped and
// stay part of the key.
func checkKey(arg, key string, allowEmpty bool) error {
	if key == "" {
		if allowEmpty {
			return nil
		}
		return argError(arg, "empty")
	}
	if fault := keyFault(key); fault != "" {
		return argError(arg, "%q %s", key, fault)
	}
	if key[0] == ' ' || key[len(key)-1] == ' ' {
		return argError(arg, "%q has a leading or trailing space, which Consul refuses in a key", key)
	}
	if strings.IndexByte(key, '%') < 0 {
		return nil
	}
	d, err := url.PathUnescape(key)
	if err != nil || d == key {
		return nil
	}
	fault := keyFault(d)
	switch {
	case fault != "":
	case strings.Contains(d, ".."):
		fault = `holds "..", which Consul refuses in a key`
	case strings.IndexByte(d, ' ') >= 0:
		fault = "holds a space, which Consul refuses in a key holding an escape"
	}
	if fault != "" {
		return argError(arg, "%q unescapes to %q, which %s", key, d, fault)
	}
	return nil
}

// keyFault says why the non-empty key cannot be a key's path under
// /v1/kv/, or "".
func keyFault(key string) string {
	if key[0] == '/' {
		return "starts with '/'"
	}
	if i, fault := textFault(key); fault != "" {
		return fmt.Sprintf("%s at byte %d", fault, i)
	}
	for rest := key; ; {
		seg, after, more := strings.Cut(rest, "/")
		switch {
		case seg == "" && more:
			return "has an empty segment"
		case seg == "." || seg == "..":
			return fmt.Sprintf("has a %q segment", seg)
		}
		if !more {
			return ""
		}
		rest = after
	}
}

// kvPath escapes key segment by segment under /v1/kv/; key must have
// passed checkKey.
func kvPath(key string) string {
	var b strings.Builder
	b.Grow(len("/v1/kv/") + len(key) + 8)
	b.WriteString("/v1/kv/")
	for rest, first := key, true; ; first = false {
		seg, after, more := strings.Cut(rest, "/")
		if !first {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(seg))
		if !more {
			return b.String()
		}
		rest = after
	}
}

func isNotFound(err error) bool {
	se, ok := err.(*StatusError)
	return ok && se.StatusCode == http.StatusNotFound
}
