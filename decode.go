package consul

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the fast path of the answers that dominate a client's time:
// KV listings ([]*KVPair), health service listings ([]*ServiceEntry),
// check lists ([]*HealthCheck), catalog nodes ([]*Node) and service
// instances ([]*ServiceNode), the catalog's service map
// (map[string][]string), transaction results, and the small answers of
// writes (true/false, a created session's ID).
// decodeBody hands such answers here before encoding/json.
//
// The fast path reads exactly the JSON that encoding/json would accept for
// these types and produces exactly the same values, with a few
// allocations per answer instead of several per field:
//   - every string of one answer is cut from one string holding them all
//     (so keeping one of them keeps that string alive, as a sub-slice
//     would), and every KV value from one byte slice;
//   - structs, pointer slices and string slices come from slabs of a few
//     dozen elements.
//
// It never guesses: on anything it does not handle itself (a key that
// differs from a field name only by case, a field named twice in one
// object, an escaped object key, a malformed number or string, invalid
// UTF-8, very deep nesting...) it gives up and decodeBody decodes the whole
// answer with encoding/json, whose result and error are then the answer's.
//
// Rare complex fields (a service's tagged addresses, a proxy's Config and
// Upstreams, a check definition's Header) are decoded by encoding/json in
// place.
//
// A field named twice in one object is left to encoding/json because its
// rules for it differ by kind and are not "the last one wins": a repeated
// object is merged into the first one's value, a repeated array is decoded
// element by element into the first one's elements (merging into the
// structs they point to; a null element keeps the earlier string), a null
// keeps an earlier string, number or bool but clears a pointer, slice, map
// or []byte, and a repeated map adds to the first map. A key that differs
// from a field's name only by case names that field too, so unknown fails
// on it. Consul never repeats a
// key, so the fast path only has to notice it: each object reader keeps
// one bit per field it has read (see once). A key repeated inside a map
// (Meta, TaggedAddresses, the catalog's service map) stays on the fast
// path: encoding/json decodes a map value into a fresh value each time, so
// there the last one does win, as the fast path's maps are built in order.
//
// A field added to one of these types must be added here too, with the
// next free bit of its object's once; the tests compare both decoders on a
// value with every field set, and with each field repeated.

// fdec is the state of one fast decode. It is pooled: its scratch slices
// are reused, and only the final strings, values and slabs are new.
type fdec struct {
	b   []byte
	i   int
	bad bool

	strs   []byte       // the bytes of every string, in order
	fixes  []fdecFix    // where each string goes
	vals   []byte       // the bytes of every KV value
	vfixes []fdecVFix   // where each value goes
	ments  []fdecEntry  // map entries, by map
	mfixes []fdecMapFix // where each map goes
	tmp    []fdecEntry  // the elements of the array being read
	strSl  fdecSlab[string]
	depth  int
}

type fdecFix struct {
	p      *string
	off, n int32
}

type fdecVFix struct {
	p      *[]byte
	off, n int32
}

// fdecEntry is a string (k) and, for a map entry, its value (v), as offsets
// in strs; vs holds a []string value of a map[string][]string.
type fdecEntry struct {
	koff, kn int32
	voff, vn int32
	vs       []string
}

type fdecMapFix struct {
	ps         *map[string]string
	pss        *map[string][]string
	start, end int32 // entries in ments
}

// fdecSlab hands out elements of chunks that are never reallocated, so
// pointers into them stay valid.
type fdecSlab[T any] struct {
	s    []T
	next int
}

func (sl *fdecSlab[T]) alloc(n int) []T {
	if n == 0 {
		return []T{} // encoding/json's empty slices are not nil
	}
	if cap(sl.s)-len(sl.s) < n {
		if sl.next == 0 {
			sl.next = 8
		}
		size := sl.next
		if size < n {
			size = n
		}
		if sl.next < 256 {
			sl.next *= 2
		}
		sl.s = make([]T, 0, size)
	}
	start := len(sl.s)
	sl.s = sl.s[:start+n]
	return sl.s[start : start+n : start+n]
}

func (sl *fdecSlab[T]) new() *T { return &sl.alloc(1)[0] }

var fdecScratch = newScratch[fdec](4)

// fdecOff turns the fast path off, for the tests' reference decodes.
var fdecOff bool

// fastDecode decodes b into out when out points to the zero value of one of
// the fast-path types and b is JSON the fast path handles; it reports
// whether it did. When it returns false, out is untouched.
func fastDecode(b []byte, out any) bool {
	if fdecOff {
		return false
	}
	// Only into zero values: encoding/json would merge into a non-empty
	// map or struct, which the fast path does not do.
	switch v := out.(type) {
	case *[]*KVPair:
		if *v != nil {
			return false
		}
	case *[]*ServiceEntry:
		if *v != nil {
			return false
		}
	case *[]*HealthCheck:
		if *v != nil {
			return false
		}
	case *[]*Node:
		if *v != nil {
			return false
		}
	case *[]*ServiceNode:
		if *v != nil {
			return false
		}
	case *map[string][]string:
		if *v != nil {
			return false
		}
	case *txnResponse:
		if v.Results != nil || v.Errors != nil {
			return false
		}
	case *struct{ ID string }:
		if v.ID != "" {
			return false
		}
	case *bool:
		// A write's "true" or "false".
		switch string(bytes.TrimSpace(b)) {
		case "true":
			*v = true
			return true
		case "false":
			*v = false
			return true
		}
		return false
	default:
		return false
	}
	d := fdecScratch.get()
	d.b, d.i, d.bad, d.depth = b, 0, false, 0
	var ok bool
	switch v := out.(type) {
	case *[]*KVPair:
		var r []*KVPair
		if d.kvPairs(&r); d.finish() {
			*v, ok = r, true
		}
	case *[]*ServiceEntry:
		var r []*ServiceEntry
		if d.serviceEntries(&r); d.finish() {
			*v, ok = r, true
		}
	case *[]*HealthCheck:
		var r []*HealthCheck
		if fdecList(d, &r, (*fdec).healthCheck); d.finish() {
			*v, ok = r, true
		}
	case *[]*Node:
		var r []*Node
		if fdecList(d, &r, (*fdec).node); d.finish() {
			*v, ok = r, true
		}
	case *[]*ServiceNode:
		var r []*ServiceNode
		if fdecList(d, &r, (*fdec).serviceNode); d.finish() {
			*v, ok = r, true
		}
	case *map[string][]string:
		var r map[string][]string
		if d.stringSlicesMap(&r); d.finish() {
			*v, ok = r, true
		}
	case *txnResponse:
		var r txnResponse
		if d.txnResponse(&r); d.finish() {
			*v, ok = r, true
		}
	case *struct{ ID string }:
		// A created session's {"ID": "..."}.
		var r struct{ ID string }
		if d.idObject(&r.ID); d.finish() {
			*v, ok = r, true
		}
	}
	d.reset()
	fdecScratch.put(d)
	return ok
}

// fastDecodeOne decodes one JSON value into *out with read, for the
// UnmarshalJSON methods of the types with durations: encoding/json calls
// them for every check of an answer it decodes (a prepared query's
// instances, a node's checks...), and their own encoding/json pass would
// scan and decode each check again. Only a zero *out is decoded (else
// encoding/json's merging applies); on failure *out is left zero and the
// caller decodes as before.
func fastDecodeOne[T any](b []byte, out *T, read func(*fdec, *fdecHealth, *T)) bool {
	if fdecOff || !reflect.ValueOf(out).Elem().IsZero() {
		return false
	}
	d := fdecScratch.get()
	d.b, d.i, d.bad, d.depth = b, 0, false, 0
	s := &fdecHealth{}
	s.defs.next, s.locs.next, s.ptrs.next = 1, 1, 1
	d.strSl.next = 1
	read(d, s, out)
	ok := d.finish()
	if ok {
		// json.Unmarshaler gets exactly one value: anything after it is
		// an error for encoding/json to report.
		d.ws()
		ok = d.i == len(d.b)
	}
	if !ok {
		var zero T
		*out = zero
	}
	d.reset()
	fdecScratch.put(d)
	return ok
}

// finish places the strings, values and maps, unless the decode failed.
func (d *fdec) finish() bool {
	if d.bad {
		return false
	}
	// What follows the value is not read, as json.Decoder would not.
	all := string(d.strs)
	for _, f := range d.fixes {
		*f.p = all[f.off : f.off+f.n]
	}
	if len(d.vfixes) > 0 {
		vals := make([]byte, len(d.vals))
		copy(vals, d.vals)
		for _, f := range d.vfixes {
			*f.p = vals[f.off : f.off+f.n : f.off+f.n]
		}
	}
	for _, m := range d.mfixes {
		ents := d.ments[m.start:m.end]
		if m.ps != nil {
			mm := make(map[string]string, len(ents))
			for _, e := range ents {
				mm[all[e.koff:e.koff+e.kn]] = all[e.voff : e.voff+e.vn]
			}
			*m.ps = mm
		} else {
			mm := make(map[string][]string, len(ents))
			for _, e := range ents {
				mm[all[e.koff:e.koff+e.kn]] = e.vs
			}
			*m.pss = mm
		}
	}
	return true
}

// reset drops every pointer into the decoded values, so that the pooled
// state keeps none of them alive, and keeps the scratch capacity.
func (d *fdec) reset() {
	d.b = nil
	clear(d.fixes)
	clear(d.vfixes)
	clear(d.ments)
	clear(d.mfixes)
	clear(d.tmp)
	d.strs, d.fixes, d.vals, d.vfixes = d.strs[:0], d.fixes[:0], d.vals[:0], d.vfixes[:0]
	d.ments, d.mfixes, d.tmp = d.ments[:0], d.mfixes[:0], d.tmp[:0]
	d.strSl = fdecSlab[string]{}
	// Keep at most about 1 MiB of scratch of each kind.
	if cap(d.strs) > 1<<20 {
		d.strs = nil
	}
	if cap(d.vals) > 1<<20 {
		d.vals = nil
	}
	if cap(d.fixes) > 1<<16 {
		d.fixes = nil
	}
	if cap(d.vfixes) > 1<<16 {
		d.vfixes = nil
	}
	if cap(d.ments) > 1<<15 {
		d.ments = nil
	}
	if cap(d.mfixes) > 1<<15 {
		d.mfixes = nil
	}
	if cap(d.tmp) > 1<<15 {
		d.tmp = nil
	}
}

func (d *fdec) fail() {
	d.bad = true
	d.i = len(d.b)
}

func (d *fdec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *fdec) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// null consumes a null if one is next.
func (d *fdec) null() bool {
	if d.peek() == 'n' {
		if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
			d.i += 4
			return true
		}
		d.fail()
	}
	return false
}

// objStart opens an object; it returns false for a null (or a failure).
func (d *fdec) objStart() bool {
	if d.null() {
		return false
	}
	if d.peek() != '{' {
		d.fail()
		return false
	}
	d.i++
	d.depth++
	if d.depth > 100 {
		d.fail()
		return false
	}
	return true
}

// objNext reads the next key of the open object, or its end; it returns
// the key, which is only valid until the next read.
func (d *fdec) objNext(first *bool) ([]byte, bool) {
	c := d.peek()
	if c == '}' {
		d.i++
		d.depth--
		return nil, false
	}
	if !*first {
		if c != ',' {
			d.fail()
			return nil, false
		}
		d.i++
		c = d.peek()
	}
	*first = false
	if c != '"' {
		d.fail()
		return nil, false
	}
	start := d.i + 1
	j := start
	for j < len(d.b) && d.b[j] != '"' {
		if c := d.b[j]; c == '\\' || c < 0x20 || c >= 0x80 {
			d.fail()
			return nil, false
		}
		j++
	}
	if j >= len(d.b) {
		d.fail()
		return nil, false
	}
	key := d.b[start:j]
	d.i = j + 1
	if d.peek() != ':' {
		d.fail()
		return nil, false
	}
	d.i++
	return key, true
}

// arrStart opens an array; it returns false for a null (or a failure).
func (d *fdec) arrStart() bool {
	if d.null() {
		return false
	}
	if d.peek() != '[' {
		d.fail()
		return false
	}
	d.i++
	d.depth++
	if d.depth > 100 {
		d.fail()
		return false
	}
	return true
}

// arrNext moves to the next element of the open array, or past its end.
func (d *fdec) arrNext(first *bool) bool {
	c := d.peek()
	if c == ']' {
		d.i++
		d.depth--
		return false
	}
	if !*first {
		if c != ',' {
			d.fail()
			return false
		}
		d.i++
	}
	*first = false
	return !d.bad
}

// rawString reads a string into strs and returns its place; null reads as
// ok with null set.
func (d *fdec) rawString() (off, n int32, null, ok bool) {
	if d.null() {
		return 0, 0, true, true
	}
	if d.peek() != '"' {
		d.fail()
		return 0, 0, false, false
	}
	start := d.i + 1
	j := start
	ascii := true
	for j < len(d.b) {
		c := d.b[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			return d.escapedString()
		}
		if c < 0x20 {
			d.fail()
			return 0, 0, false, false
		}
		if c >= 0x80 {
			ascii = false
		}
		j++
	}
	if j >= len(d.b) || (!ascii && !utf8.Valid(d.b[start:j])) {
		// encoding/json replaces invalid UTF-8: let it.
		d.fail()
		return 0, 0, false, false
	}
	off = int32(len(d.strs))
	d.strs = append(d.strs, d.b[start:j]...)
	d.i = j + 1
	return off, int32(j - start), false, true
}

// escapedString reads a string with escapes through encoding/json.
func (d *fdec) escapedString() (off, n int32, null, ok bool) {
	start := d.i
	j := start + 1
	for j < len(d.b) && d.b[j] != '"' {
		if d.b[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(d.b) {
		d.fail()
		return 0, 0, false, false
	}
	var s string
	if err := json.Unmarshal(d.b[start:j+1], &s); err != nil || !utf8.ValidString(s) {
		d.fail()
		return 0, 0, false, false
	}
	off = int32(len(d.strs))
	d.strs = append(d.strs, s...)
	d.i = j + 1
	return off, int32(len(s)), false, true
}

// str reads a string into *p (a null leaves it alone).
func (d *fdec) str(p *string) {
	off, n, null, ok := d.rawString()
	if ok && !null && n > 0 {
		d.fixes = append(d.fixes, fdecFix{p, off, n})
	}
}

// digits returns the number literal at the cursor, which must be an
// integer; anything else fails.
func (d *fdec) digits() []byte {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	lit := d.b[start:d.i]
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			d.fail()
			return nil
		}
	}
	if len(lit) == 0 || lit[0] == '-' && len(lit) == 1 ||
		(lit[0] == '0' && len(lit) > 1) || (len(lit) > 2 && lit[0] == '-' && lit[1] == '0') {
		d.fail()
		return nil
	}
	return lit
}

func (d *fdec) uint64v(p *uint64) {
	if d.null() {
		return
	}
	lit := d.digits()
	if d.bad {
		return
	}
	if len(lit) > 20 || lit[0] == '-' {
		d.fail()
		return
	}
	var n uint64
	for _, c := range lit {
		if n > (math.MaxUint64-uint64(c-'0'))/10 {
			d.fail() // overflow: encoding/json says so
			return
		}
		n = n*10 + uint64(c-'0')
	}
	*p = n
}

func (d *fdec) uintv(p *uint) {
	var n uint64
	d.uint64v(&n)
	if n > math.MaxUint {
		d.fail()
	}
	*p = uint(n)
}

func (d *fdec) intv(p *int) {
	if d.null() {
		return
	}
	lit := d.digits()
	if d.bad {
		return
	}
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 18 || strconv.IntSize < 64 && len(lit) > 9 {
		d.fail()
		return
	}
	var n int
	for _, c := range lit {
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	*p = n
}

func (d *fdec) boolv(p *bool) {
	switch d.peek() {
	case 't':
		if bytes.HasPrefix(d.b[d.i:], []byte("true")) {
			d.i += 4
			*p = true
			return
		}
	case 'f':
		if bytes.HasPrefix(d.b[d.i:], []byte("false")) {
			d.i += 5
			*p = false
			return
		}
	case 'n':
		d.null()
		return
	}
	d.fail()
}

// durationv reads what the duration type reads: null, "" (zero), Go's
// "1m30s" form or a number of nanoseconds.
func (d *fdec) durationv(p *time.Duration) {
	switch c := d.peek(); {
	case c == 'n':
		d.null()
		*p = 0
		return
	case c == '"':
	default:
		lit := d.digits()
		if d.bad {
			return
		}
		n, err := strconv.ParseInt(string(lit), 10, 64)
		if err != nil {
			d.fail()
			return
		}
		*p = time.Duration(n)
		return
	}
	start := d.i + 1
	end := bytes.IndexByte(d.b[start:], '"')
	if end < 0 {
		d.fail()
		return
	}
	lit := d.b[start : start+end]
	if v, ok := fdecDuration(lit); ok {
		*p = v
		d.i = start + end + 1
		return
	}
	// Escapes, fractions, signs, units like µs: the slow way.
	d.fail()
}

// fdecDuration parses the forms Consul writes ("", "10s", "1m30s", "1h0m0s",
// "500ms") without allocating; anything else is left to the slow path.
func fdecDuration(b []byte) (time.Duration, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	var total uint64
	for len(b) > 0 {
		var n uint64
		i := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i >= 9 {
				return 0, false
			}
			n = n*10 + uint64(b[i]-'0')
			i++
		}
		if i == 0 {
			return 0, false
		}
		b = b[i:]
		var unit uint64
		switch {
		case bytes.HasPrefix(b, []byte("ns")):
			unit, b = uint64(time.Nanosecond), b[2:]
		case bytes.HasPrefix(b, []byte("us")):
			unit, b = uint64(time.Microsecond), b[2:]
		case bytes.HasPrefix(b, []byte("ms")):
			unit, b = uint64(time.Millisecond), b[2:]
		case bytes.HasPrefix(b, []byte("s")):
			unit, b = uint64(time.Second), b[1:]
		case bytes.HasPrefix(b, []byte("m")):
			unit, b = uint64(time.Minute), b[1:]
		case bytes.HasPrefix(b, []byte("h")):
			unit, b = uint64(time.Hour), b[1:]
		default:
			return 0, false
		}
		if n > (1<<63-1)/unit {
			return 0, false
		}
		total += n * unit
		if total > 1<<63-1 {
			return 0, false
		}
	}
	return time.Duration(total), true
}

// skip skips any value, checking its syntax.
func (d *fdec) skip() {
	switch c := d.peek(); {
	case c == '{':
		d.objStart()
		for first := true; ; {
			if _, ok := d.objNext(&first); !ok {
				return
			}
			d.skip()
		}
	case c == '[':
		d.arrStart()
		for first := true; d.arrNext(&first); {
			d.skip()
		}
	case c == '"':
		d.rawString()
	case c == 't' || c == 'f':
		var b bool
		d.boolv(&b)
	case c == 'n':
		d.null()
	case c == '-' || c >= '0' && c <= '9':
		// Any JSON number.
		start := d.i
		d.i++
		for d.i < len(d.b) {
			c := d.b[d.i]
			if c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
				d.i++
				continue
			}
			break
		}
		if !json.Valid(d.b[start:d.i]) {
			d.fail()
		}
	default:
		d.fail()
	}
}

// once records that the field of bit was read in the current object, and
// fails if it was read before: a repeated field is encoding/json's to
// decode (see the top of this file). Every case of an object reader's
// switch calls it with its own bit, before reading the value.
func (d *fdec) once(seen *uint64, bit uint64) {
	if *seen&bit != 0 {
		d.fail()
		return
	}
	*seen |= bit
}

// unknown skips the value of a key that is no field, unless encoding/json
// would match it to one of fields case-insensitively.
func (d *fdec) unknown(key []byte, fields string) {
	for fields != "" {
		f, rest, _ := strings.Cut(fields, " ")
		if bytes.EqualFold([]byte(f), key) {
			d.fail()
			return
		}
		fields = rest
	}
	d.skip()
}

// slow decodes one value with encoding/json into p.
func (d *fdec) slow(p any) {
	start := d.i
	d.skip()
	if d.bad {
		return
	}
	if err := json.Unmarshal(d.b[start:d.i], p); err != nil {
		d.fail()
	}
}

// strings reads a []string.
func (d *fdec) stringSlice(p *[]string) {
	if !d.arrStart() {
		return
	}
	mark := len(d.tmp)
	for first := true; d.arrNext(&first); {
		off, n, _, ok := d.rawString()
		if !ok {
			return
		}
		d.tmp = append(d.tmp, fdecEntry{koff: off, kn: n})
	}
	if d.bad {
		return
	}
	s := d.strSl.alloc(len(d.tmp) - mark)
	for i, e := range d.tmp[mark:] {
		if e.kn > 0 {
			d.fixes = append(d.fixes, fdecFix{&s[i], e.koff, e.kn})
		}
	}
	d.tmp = d.tmp[:mark]
	*p = s
}

// stringMap reads a map[string]string.
func (d *fdec) stringMap(p *map[string]string) {
	if !d.objStart() {
		return
	}
	start := len(d.ments)
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			break
		}
		koff := int32(len(d.strs))
		d.strs = append(d.strs, key...)
		voff, vn, _, ok := d.rawString()
		if !ok {
			return
		}
		d.ments = append(d.ments, fdecEntry{koff: koff, kn: int32(len(key)), voff: voff, vn: vn})
	}
	if !d.bad {
		d.mfixes = append(d.mfixes, fdecMapFix{ps: p, start: int32(start), end: int32(len(d.ments))})
	}
}

// stringSlicesMap reads a map[string][]string (GET /v1/catalog/services).
func (d *fdec) stringSlicesMap(p *map[string][]string) {
	if !d.objStart() {
		return
	}
	start := len(d.ments)
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			break
		}
		koff := int32(len(d.strs))
		d.strs = append(d.strs, key...)
		var vs []string
		d.stringSlice(&vs)
		d.ments = append(d.ments, fdecEntry{koff: koff, kn: int32(len(key)), vs: vs})
	}
	if !d.bad {
		d.mfixes = append(d.mfixes, fdecMapFix{pss: p, start: int32(start), end: int32(len(d.ments))})
	}
}

const fdecKVFields = "Key CreateIndex ModifyIndex LockIndex Flags Value Session Namespace Partition"

func (d *fdec) kvPairs(out *[]*KVPair) {
	if !d.arrStart() {
		return
	}
	var slab fdecSlab[KVPair]
	if len(d.b) < 1024 {
		slab.next = 1 // one key: no chunk of 8 pairs for it
	}
	var r []*KVPair
	for first := true; d.arrNext(&first); {
		if d.null() {
			r = append(r, nil)
			continue
		}
		p := slab.new()
		d.kvPair(p)
		r = append(r, p)
	}
	if r == nil && !d.bad {
		r = []*KVPair{}
	}
	*out = r
}

func (d *fdec) kvPair(p *KVPair) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "Key":
			d.once(&seen, 1<<0)
			d.str(&p.Key)
		case "CreateIndex":
			d.once(&seen, 1<<1)
			d.uint64v(&p.CreateIndex)
		case "ModifyIndex":
			d.once(&seen, 1<<2)
			d.uint64v(&p.ModifyIndex)
		case "LockIndex":
			d.once(&seen, 1<<3)
			d.uint64v(&p.LockIndex)
		case "Flags":
			d.once(&seen, 1<<4)
			d.uint64v(&p.Flags)
		case "Value":
			d.once(&seen, 1<<5)
			d.bytesv(&p.Value)
		case "Session":
			d.once(&seen, 1<<6)
			d.str(&p.Session)
		case "Namespace":
			d.once(&seen, 1<<7)
			d.str(&p.Namespace)
		case "Partition":
			d.once(&seen, 1<<8)
			d.str(&p.Partition)
		default:
			d.unknown(key, fdecKVFields)
		}
	}
}

// bytesv reads base64 into *p: null is nil, "" an empty non-nil slice.
func (d *fdec) bytesv(p *[]byte) {
	if d.null() {
		*p = nil
		return
	}
	if d.peek() != '"' {
		d.fail()
		return
	}
	start := d.i + 1
	end := bytes.IndexByte(d.b[start:], '"')
	if end < 0 {
		d.fail()
		return
	}
	src := d.b[start : start+end]
	if bytes.IndexByte(src, '\\') >= 0 {
		d.fail()
		return
	}
	off := len(d.vals)
	need := base64.StdEncoding.DecodedLen(len(src))
	d.vals = append(d.vals, make([]byte, need)...)
	n, err := base64.StdEncoding.Decode(d.vals[off:], src)
	if err != nil {
		d.fail()
		return
	}
	d.vals = d.vals[:off+n]
	d.vfixes = append(d.vfixes, fdecVFix{p, int32(off), int32(n)})
	d.i = start + end + 1
}

func (d *fdec) serviceEntries(out *[]*ServiceEntry) {
	if !d.arrStart() {
		return
	}
	s := &fdecHealth{}
	var r []*ServiceEntry
	for first := true; d.arrNext(&first); {
		if d.null() {
			r = append(r, nil)
			continue
		}
		e := s.entries.new()
		d.serviceEntry(s, e)
		r = append(r, e)
	}
	if r == nil && !d.bad {
		r = []*ServiceEntry{}
	}
	*out = r
}

// fdecList reads a JSON array of objects into pointers to T from a slab,
// with one (*fdec) method reading each object.
func fdecList[T any](d *fdec, out *[]*T, read func(*fdec, *fdecHealth, *T)) {
	if !d.arrStart() {
		return
	}
	s := &fdecHealth{}
	var slab fdecSlab[T]
	var r []*T
	for first := true; d.arrNext(&first); {
		if d.null() {
			r = append(r, nil)
			continue
		}
		v := slab.new()
		read(d, s, v)
		r = append(r, v)
	}
	if r == nil && !d.bad {
		r = []*T{}
	}
	*out = r
}

// fdecHealth holds the slabs of one health answer.
type fdecHealth struct {
	entries fdecSlab[ServiceEntry]
	nodes   fdecSlab[Node]
	svcs    fdecSlab[NodeService]
	checks  fdecSlab[HealthCheck]
	defs    fdecSlab[HealthCheckDefinition]
	ptrs    fdecSlab[*HealthCheck]
	weights fdecSlab[Weights]
	proxies fdecSlab[ServiceProxy]
	connect fdecSlab[ServiceConnect]
	locs    fdecSlab[Locality]
	tmp     []*HealthCheck
}

func (d *fdec) serviceEntry(s *fdecHealth, e *ServiceEntry) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "Node":
			d.once(&seen, 1<<0)
			if d.null() {
				e.Node = nil
				continue
			}
			e.Node = s.nodes.new()
			d.node(s, e.Node)
		case "Service":
			d.once(&seen, 1<<1)
			if d.null() {
				e.Service = nil
				continue
			}
			e.Service = s.svcs.new()
			d.nodeService(s, e.Service)
		case "Checks":
			d.once(&seen, 1<<2)
			if !d.arrStart() {
				e.Checks = nil
				continue
			}
			mark := len(s.tmp)
			for first := true; d.arrNext(&first); {
				if d.null() {
					s.tmp = append(s.tmp, nil)
					continue
				}
				c := s.checks.new()
				d.healthCheck(s, c)
				s.tmp = append(s.tmp, c)
			}
			cs := s.ptrs.alloc(len(s.tmp) - mark)
			copy(cs, s.tmp[mark:])
			s.tmp = s.tmp[:mark]
			e.Checks = cs
		default:
			d.unknown(key, "Node Service Checks")
		}
	}
}

const fdecNodeFields = "ID Node Address Datacenter Partition PeerName TaggedAddresses Meta Locality CreateIndex ModifyIndex"

func (d *fdec) node(s *fdecHealth, n *Node) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "ID":
			d.once(&seen, 1<<0)
			d.str(&n.ID)
		case "Node":
			d.once(&seen, 1<<1)
			d.str(&n.Node)
		case "Address":
			d.once(&seen, 1<<2)
			d.str(&n.Address)
		case "Datacenter":
			d.once(&seen, 1<<3)
			d.str(&n.Datacenter)
		case "Partition":
			d.once(&seen, 1<<4)
			d.str(&n.Partition)
		case "PeerName":
			d.once(&seen, 1<<5)
			d.str(&n.PeerName)
		case "TaggedAddresses":
			d.once(&seen, 1<<6)
			d.stringMap(&n.TaggedAddresses)
		case "Meta":
			d.once(&seen, 1<<7)
			d.stringMap(&n.Meta)
		case "Locality":
			d.once(&seen, 1<<8)
			d.locality(s, &n.Locality)
		case "CreateIndex":
			d.once(&seen, 1<<9)
			d.uint64v(&n.CreateIndex)
		case "ModifyIndex":
			d.once(&seen, 1<<10)
			d.uint64v(&n.ModifyIndex)
		default:
			d.unknown(key, fdecNodeFields)
		}
	}
}

const fdecServiceFields = "Kind ID Service Tags Address TaggedAddresses Meta Port SocketPath Weights " +
	"EnableTagOverride Locality Proxy Connect PeerName Namespace Partition Datacenter ContentHash CreateIndex ModifyIndex"

func (d *fdec) nodeService(s *fdecHealth, v *NodeService) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "Kind":
			d.once(&seen, 1<<0)
			d.str((*string)(&v.Kind))
		case "ID":
			d.once(&seen, 1<<1)
			d.str(&v.ID)
		case "Service":
			d.once(&seen, 1<<2)
			d.str(&v.Service)
		case "Tags":
			d.once(&seen, 1<<3)
			d.stringSlice(&v.Tags)
		case "Address":
			d.once(&seen, 1<<4)
			d.str(&v.Address)
		case "TaggedAddresses":
			d.once(&seen, 1<<5)
			d.slow(&v.TaggedAddresses)
		case "Meta":
			d.once(&seen, 1<<6)
			d.stringMap(&v.Meta)
		case "Port":
			d.once(&seen, 1<<7)
			d.intv(&v.Port)
		case "SocketPath":
			d.once(&seen, 1<<8)
			d.str(&v.SocketPath)
		case "Weights":
			d.once(&seen, 1<<9)
			if !d.objStart() {
				v.Weights = nil
				continue
			}
			w := s.weights.new()
			v.Weights = w
			var seen2 uint64
			for first := true; ; {
				key, ok := d.objNext(&first)
				if !ok {
					break
				}
				switch string(key) {
				case "Passing":
					d.once(&seen2, 1<<0)
					d.intv(&w.Passing)
				case "Warning":
					d.once(&seen2, 1<<1)
					d.intv(&w.Warning)
				default:
					d.unknown(key, "Passing Warning")
				}
			}
		case "EnableTagOverride":
			d.once(&seen, 1<<10)
			d.boolv(&v.EnableTagOverride)
		case "Locality":
			d.once(&seen, 1<<11)
			d.locality(s, &v.Locality)
		case "Proxy":
			d.once(&seen, 1<<12)
			d.proxy(s, &v.Proxy)
		case "Connect":
			d.once(&seen, 1<<13)
			d.serviceConnect(s, &v.Connect)
		case "PeerName":
			d.once(&seen, 1<<14)
			d.str(&v.PeerName)
		case "Namespace":
			d.once(&seen, 1<<15)
			d.str(&v.Namespace)
		case "Partition":
			d.once(&seen, 1<<16)
			d.str(&v.Partition)
		case "Datacenter":
			d.once(&seen, 1<<17)
			d.str(&v.Datacenter)
		case "ContentHash":
			d.once(&seen, 1<<18)
			d.str(&v.ContentHash)
		case "CreateIndex":
			d.once(&seen, 1<<19)
			d.uint64v(&v.CreateIndex)
		case "ModifyIndex":
			d.once(&seen, 1<<20)
			d.uint64v(&v.ModifyIndex)
		default:
			d.unknown(key, fdecServiceFields)
		}
	}
}

func (d *fdec) locality(s *fdecHealth, p **Locality) {
	if !d.objStart() {
		*p = nil
		return
	}
	l := s.locs.new()
	*p = l
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "Region":
			d.once(&seen, 1<<0)
			d.str(&l.Region)
		case "Zone":
			d.once(&seen, 1<<1)
			d.str(&l.Zone)
		default:
			d.unknown(key, "Region Zone")
		}
	}
}

// serviceConnect reads a service's Connect object, or null, into *p.
func (d *fdec) serviceConnect(s *fdecHealth, p **ServiceConnect) {
	if !d.objStart() {
		*p = nil
		return
	}
	c := s.connect.new()
	*p = c
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		if string(key) == "Native" {
			d.once(&seen, 1<<0)
			d.boolv(&c.Native)
		} else {
			d.unknown(key, "Native")
		}
	}
}

// proxy reads a service's Proxy object, or null, into *p.
func (d *fdec) proxy(s *fdecHealth, p **ServiceProxy) {
	if d.null() {
		*p = nil
		return
	}
	*p = s.proxies.new()
	d.serviceProxy(*p)
}

const fdecProxyFields = "DestinationServiceName DestinationServiceID LocalServiceAddress LocalServicePort " +
	"LocalServiceSocketPath Mode Config Upstreams"

func (d *fdec) serviceProxy(p *ServiceProxy) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "DestinationServiceName":
			d.once(&seen, 1<<0)
			d.str(&p.DestinationServiceName)
		case "DestinationServiceID":
			d.once(&seen, 1<<1)
			d.str(&p.DestinationServiceID)
		case "LocalServiceAddress":
			d.once(&seen, 1<<2)
			d.str(&p.LocalServiceAddress)
		case "LocalServicePort":
			d.once(&seen, 1<<3)
			d.intv(&p.LocalServicePort)
		case "LocalServiceSocketPath":
			d.once(&seen, 1<<4)
			d.str(&p.LocalServiceSocketPath)
		case "Mode":
			d.once(&seen, 1<<5)
			d.str(&p.Mode)
		case "Config":
			d.once(&seen, 1<<6)
			d.slow(&p.Config)
		case "Upstreams":
			d.once(&seen, 1<<7)
			d.slow(&p.Upstreams)
		default:
			d.unknown(key, fdecProxyFields)
		}
	}
}

const fdecCheckFields = "Node CheckID Name Status Notes Output ServiceID ServiceName ServiceTags Type " +
	"Interval Timeout ExposedPort PeerName Definition Namespace Partition CreateIndex ModifyIndex"

func (d *fdec) healthCheck(s *fdecHealth, c *HealthCheck) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "Node":
			d.once(&seen, 1<<0)
			d.str(&c.Node)
		case "CheckID":
			d.once(&seen, 1<<1)
			d.str(&c.CheckID)
		case "Name":
			d.once(&seen, 1<<2)
			d.str(&c.Name)
		case "Status":
			d.once(&seen, 1<<3)
			d.str((*string)(&c.Status))
		case "Notes":
			d.once(&seen, 1<<4)
			d.str(&c.Notes)
		case "Output":
			d.once(&seen, 1<<5)
			d.str(&c.Output)
		case "ServiceID":
			d.once(&seen, 1<<6)
			d.str(&c.ServiceID)
		case "ServiceName":
			d.once(&seen, 1<<7)
			d.str(&c.ServiceName)
		case "ServiceTags":
			d.once(&seen, 1<<8)
			d.stringSlice(&c.ServiceTags)
		case "Type":
			d.once(&seen, 1<<9)
			d.str(&c.Type)
		case "Interval":
			d.once(&seen, 1<<10)
			d.durationv(&c.Interval)
		case "Timeout":
			d.once(&seen, 1<<11)
			d.durationv(&c.Timeout)
		case "ExposedPort":
			d.once(&seen, 1<<12)
			d.intv(&c.ExposedPort)
		case "PeerName":
			d.once(&seen, 1<<13)
			d.str(&c.PeerName)
		case "Definition":
			d.once(&seen, 1<<14)
			if d.null() {
				c.Definition = nil
				continue
			}
			c.Definition = s.defs.new()
			d.checkDefinition(c.Definition)
		case "Namespace":
			d.once(&seen, 1<<15)
			d.str(&c.Namespace)
		case "Partition":
			d.once(&seen, 1<<16)
			d.str(&c.Partition)
		case "CreateIndex":
			d.once(&seen, 1<<17)
			d.uint64v(&c.CreateIndex)
		case "ModifyIndex":
			d.once(&seen, 1<<18)
			d.uint64v(&c.ModifyIndex)
		default:
			d.unknown(key, fdecCheckFields)
		}
	}
}

const fdecDefFields = "HTTP TLSServerName TLSSkipVerify Header Method Body DisableRedirects TCP TCPUseTLS UDP " +
	"H2PING H2PingUseTLS OSService GRPC GRPCUseTLS AliasNode AliasService ScriptArgs OutputMaxSize " +
	"Interval Timeout TTL DeregisterCriticalServiceAfter"

func (d *fdec) checkDefinition(c *HealthCheckDefinition) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "HTTP":
			d.once(&seen, 1<<0)
			d.str(&c.HTTP)
		case "TLSServerName":
			d.once(&seen, 1<<1)
			d.str(&c.TLSServerName)
		case "TLSSkipVerify":
			d.once(&seen, 1<<2)
			d.boolv(&c.TLSSkipVerify)
		case "Header":
			d.once(&seen, 1<<3)
			d.slow(&c.Header)
		case "Method":
			d.once(&seen, 1<<4)
			d.str(&c.Method)
		case "Body":
			d.once(&seen, 1<<5)
			d.str(&c.Body)
		case "DisableRedirects":
			d.once(&seen, 1<<6)
			d.boolv(&c.DisableRedirects)
		case "TCP":
			d.once(&seen, 1<<7)
			d.str(&c.TCP)
		case "TCPUseTLS":
			d.once(&seen, 1<<8)
			d.boolv(&c.TCPUseTLS)
		case "UDP":
			d.once(&seen, 1<<9)
			d.str(&c.UDP)
		case "H2PING":
			d.once(&seen, 1<<10)
			d.str(&c.H2PING)
		case "H2PingUseTLS":
			d.once(&seen, 1<<11)
			d.boolv(&c.H2PingUseTLS)
		case "OSService":
			d.once(&seen, 1<<12)
			d.str(&c.OSService)
		case "GRPC":
			d.once(&seen, 1<<13)
			d.str(&c.GRPC)
		case "GRPCUseTLS":
			d.once(&seen, 1<<14)
			d.boolv(&c.GRPCUseTLS)
		case "AliasNode":
			d.once(&seen, 1<<15)
			d.str(&c.AliasNode)
		case "AliasService":
			d.once(&seen, 1<<16)
			d.str(&c.AliasService)
		case "ScriptArgs":
			d.once(&seen, 1<<17)
			d.stringSlice(&c.ScriptArgs)
		case "OutputMaxSize":
			d.once(&seen, 1<<18)
			d.uintv(&c.OutputMaxSize)
		case "Interval":
			d.once(&seen, 1<<19)
			d.durationv(&c.Interval)
		case "Timeout":
			d.once(&seen, 1<<20)
			d.durationv(&c.Timeout)
		case "TTL":
			d.once(&seen, 1<<21)
			d.durationv(&c.TTL)
		case "DeregisterCriticalServiceAfter":
			d.once(&seen, 1<<22)
			d.durationv(&c.DeregisterCriticalServiceAfter)
		default:
			d.unknown(key, fdecDefFields)
		}
	}
}

func (d *fdec) idObject(p *string) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		if string(key) == "ID" {
			d.once(&seen, 1<<0)
			d.str(p)
		} else {
			d.unknown(key, "ID")
		}
	}
}

// txnResponse reads PUT /v1/txn's answer; its rare Errors, and the results
// of node, service and check operations, go through encoding/json.
func (d *fdec) txnResponse(r *txnResponse) {
	if !d.objStart() {
		return
	}
	var slab fdecSlab[KVPair]
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "Results":
			d.once(&seen, 1<<0)
			if !d.arrStart() {
				r.Results = nil
				continue
			}
			res := []TxnResult{}
			for first := true; d.arrNext(&first); {
				var tr TxnResult
				if d.objStart() {
					var seen2 uint64
					for first := true; ; {
						key, ok := d.objNext(&first)
						if !ok {
							break
						}
						switch string(key) {
						case "KV":
							d.once(&seen2, 1<<0)
							if d.null() {
								tr.KV = nil
								continue
							}
							tr.KV = slab.new()
							d.kvPair(tr.KV)
						// The catalog operations' results are rare:
						// encoding/json decodes them in place.
						case "Node":
							d.once(&seen2, 1<<1)
							d.slow(&tr.Node)
						case "Service":
							d.once(&seen2, 1<<2)
							d.slow(&tr.Service)
						case "Check":
							d.once(&seen2, 1<<3)
							d.slow(&tr.Check)
						default:
							d.unknown(key, "KV Node Service Check")
						}
					}
				}
				res = append(res, tr)
			}
			r.Results = res
		case "Errors":
			d.once(&seen, 1<<1)
			d.slow(&r.Errors)
		default:
			d.unknown(key, "Results Errors")
		}
	}
}

const fdecServiceNodeFields = "ID Node Address Datacenter TaggedAddresses NodeMeta ServiceKind ServiceID " +
	"ServiceName ServiceTags ServiceAddress ServiceTaggedAddresses ServiceWeights ServiceMeta ServicePort " +
	"ServiceSocketPath ServiceEnableTagOverride ServiceProxy ServiceConnect ServiceLocality PeerName " +
	"Namespace Partition CreateIndex ModifyIndex"

// serviceNode reads one instance of GET /v1/catalog/service/:name.
func (d *fdec) serviceNode(s *fdecHealth, v *ServiceNode) {
	if !d.objStart() {
		return
	}
	var seen uint64
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			return
		}
		switch string(key) {
		case "ID":
			d.once(&seen, 1<<0)
			d.str(&v.ID)
		case "Node":
			d.once(&seen, 1<<1)
			d.str(&v.Node)
		case "Address":
			d.once(&seen, 1<<2)
			d.str(&v.Address)
		case "Datacenter":
			d.once(&seen, 1<<3)
			d.str(&v.Datacenter)
		case "TaggedAddresses":
			d.once(&seen, 1<<4)
			d.stringMap(&v.TaggedAddresses)
		case "NodeMeta":
			d.once(&seen, 1<<5)
			d.stringMap(&v.NodeMeta)
		case "ServiceKind":
			d.once(&seen, 1<<6)
			d.str((*string)(&v.ServiceKind))
		case "ServiceID":
			d.once(&seen, 1<<7)
			d.str(&v.ServiceID)
		case "ServiceName":
			d.once(&seen, 1<<8)
			d.str(&v.ServiceName)
		case "ServiceTags":
			d.once(&seen, 1<<9)
			d.stringSlice(&v.ServiceTags)
		case "ServiceAddress":
			d.once(&seen, 1<<10)
			d.str(&v.ServiceAddress)
		case "ServiceTaggedAddresses":
			d.once(&seen, 1<<11)
			d.slow(&v.ServiceTaggedAddresses)
		case "ServiceWeights":
			d.once(&seen, 1<<12)
			if !d.objStart() {
				continue
			}
			var seen2 uint64
			for first := true; ; {
				key, ok := d.objNext(&first)
				if !ok {
					break
				}
				switch string(key) {
				case "Passing":
					d.once(&seen2, 1<<0)
					d.intv(&v.ServiceWeights.Passing)
				case "Warning":
					d.once(&seen2, 1<<1)
					d.intv(&v.ServiceWeights.Warning)
				default:
					d.unknown(key, "Passing Warning")
				}
			}
		case "ServiceMeta":
			d.once(&seen, 1<<13)
			d.stringMap(&v.ServiceMeta)
		case "ServicePort":
			d.once(&seen, 1<<14)
			d.intv(&v.ServicePort)
		case "ServiceSocketPath":
			d.once(&seen, 1<<15)
			d.str(&v.ServiceSocketPath)
		case "ServiceEnableTagOverride":
			d.once(&seen, 1<<16)
			d.boolv(&v.ServiceEnableTagOverride)
		case "ServiceProxy":
			d.once(&seen, 1<<17)
			d.proxy(s, &v.ServiceProxy)
		case "ServiceConnect":
			d.once(&seen, 1<<18)
			d.serviceConnect(s, &v.ServiceConnect)
		case "ServiceLocality":
			d.once(&seen, 1<<19)
			d.locality(s, &v.ServiceLocality)
		case "PeerName":
			d.once(&seen, 1<<20)
			d.str(&v.PeerName)
		case "Namespace":
			d.once(&seen, 1<<21)
			d.str(&v.Namespace)
		case "Partition":
			d.once(&seen, 1<<22)
			d.str(&v.Partition)
		case "CreateIndex":
			d.once(&seen, 1<<23)
			d.uint64v(&v.CreateIndex)
		case "ModifyIndex":
			d.once(&seen, 1<<24)
			d.uint64v(&v.ModifyIndex)
		default:
			d.unknown(key, fdecServiceNodeFields)
		}
	}
}
