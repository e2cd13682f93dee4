package consul

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// This file is the reader under the generated fast decoders
// (decode_gen.go, written by internal/codegen from the type definitions):
// it knows JSON, not the schema. The answers of the list and blocking reads
// dominate a client's time; decodeBody hands them to fastDecode before
// encoding/json.
//
// The fast path reads exactly the JSON that encoding/json would accept for
// these types and produces exactly the same values, with a few
// allocations per answer instead of several per field:
//   - the strings of one answer are cut from a few large blocks (so keeping
//     one of them keeps its block alive, as a sub-slice would), and the
//     []byte values likewise;
//   - structs, pointer slices and string slices come from slabs of a few
//     dozen elements.
//
// It never guesses: on anything it does not handle itself (a key that
// differs from a field name only by case, a field named twice in one
// object, an escaped object key, a malformed number or string, invalid
// UTF-8, very deep nesting...) it gives up and decodeBody decodes the whole
// answer with encoding/json, whose result and error are then the answer's.
// Fields of a type with a JSON method of its own, of an interface type or a
// json.RawMessage are decoded by encoding/json in place.
//
// A field named twice in one object is left to encoding/json because its
// rules for it differ by kind and are not "the last one wins": a repeated
// object is merged into the first one's value, a repeated array is decoded
// element by element into the first one's elements (merging into the
// structs they point to; a null element keeps the earlier string), a null
// keeps an earlier string, number or bool but clears a pointer, slice, map
// or []byte, and a repeated map adds to the first map. A key that differs
// from a field's name only by case names that field too, so unknown fails
// on it. Consul never repeats a key, so the fast path only has to notice
// it: each generated object reader keeps one bit per field it has read
// (see once). A key repeated inside a map (Meta, TaggedAddresses, the
// catalog's service map) stays on the fast path: encoding/json decodes a
// map value into a fresh value each time, so there the last one does win,
// as the fast path's maps are built in order.

// fdec is the state of one fast decode. It is pooled: its stacks are
// reused, and only the final strings, values and slabs are new.
type fdec struct {
	b     []byte
	i     int
	bad   bool
	depth int

	strs []byte // the block the next strings are cut from
	vals []byte // the block the next []byte values are cut from

	strsUsed, valsUsed int // bytes of strings and values so far
	sl                 fdecSlabs
	st                 fdecStacks
	ord                fdecOrders // kept from answer to answer: only a guess

	// The short strings kept so far, by their bytes: an answer repeats
	// its tags, check names and statuses, which then share one copy. The
	// keys of maps have a table of their own: the keys of an answer that
	// is a map (the catalog's services) are all different, and would
	// otherwise push the repeated values out.
	short     [64]shortString
	keys      [64]shortString
	shortUsed bool
}

// shortString is a kept string of at most 8 bytes, and those bytes as a
// little-endian word.
type shortString struct {
	w uint64
	s string
}

// fdecSlab hands out elements of chunks that are never reallocated, so
// pointers into them stay valid.
type fdecSlab[T any] struct {
	s    []T
	next int
}

func (sl *fdecSlab[T]) alloc(d *fdec, n int) []T {
	if n == 0 {
		return []T{} // encoding/json's empty slices are not nil
	}
	if cap(sl.s)-len(sl.s) < n {
		// The first chunk holds one element in a small answer (an answer
		// of one object wastes nothing), else 8; then they double up to
		// 256.
		size := sl.next
		switch {
		case size == 0 && len(d.b) < 1024:
			size, sl.next = 1, 8
		case size == 0:
			size, sl.next = 8, 16
		case sl.next < 256:
			sl.next *= 2
		}
		if size < n {
			size = n
		}
		sl.s = make([]T, 0, size)
	}
	start := len(sl.s)
	sl.s = sl.s[:start+n]
	return sl.s[start : start+n : start+n]
}

func (sl *fdecSlab[T]) new(d *fdec) *T { return &sl.alloc(d, 1)[0] }

// fdecPair is one entry of a map being read.
type fdecPair[K, V any] struct {
	k K
	v V
}

var fdecScratch = newScratch[fdec](4)

// fdecOff turns the fast path off, for the tests' reference decodes.
var fdecOff bool

// fdecRun decodes b into *out with read, on a pooled state; on failure
// *out is left as it was.
func fdecRun[T any](b []byte, out *T, read func(*fdec, *T)) bool {
	d := fdecScratch.get()
	d.b, d.i, d.bad, d.depth = b, 0, false, 0
	var r T
	read(d, &r)
	ok := !d.bad
	if ok {
		*out = r
	}
	d.reset()
	fdecScratch.put(d)
	return ok
}

// fdecRunInto is fdecRun for an answer that is not a struct, whose reader
// sets *out only once it read the whole value: no copy of the result is
// needed (it would be allocated).
func fdecRunInto[T any](b []byte, out *T, read func(*fdec, *T)) bool {
	d := fdecScratch.get()
	d.b, d.i, d.bad, d.depth = b, 0, false, 0
	read(d, out)
	ok := !d.bad
	d.reset()
	fdecScratch.put(d)
	return ok
}

// fastDecodeOne decodes one JSON value into *out with read, for the
// generated UnmarshalJSON methods: encoding/json calls them for every
// element of an answer it decodes, and their own encoding/json pass would
// scan and decode each element again. Only a zero *out is decoded (else
// encoding/json's merging applies); on failure *out is left zero and the
// caller decodes as encoding/json does.
func fastDecodeOne[T any](b []byte, out *T, read func(*fdec, *T)) bool {
	if fdecOff || !reflect.ValueOf(out).Elem().IsZero() {
		return false
	}
	d := fdecScratch.get()
	d.b, d.i, d.bad, d.depth = b, 0, false, 0
	var r T
	read(d, &r)
	ok := !d.bad
	if ok {
		// json.Unmarshaler gets exactly one value: anything after it is
		// an error for encoding/json to report.
		d.ws()
		ok = d.i == len(d.b)
	}
	if ok {
		*out = r
	}
	d.reset()
	fdecScratch.put(d)
	return ok
}

// reset drops every pointer into the decoded values, so that the pooled
// state keeps none of them alive, and keeps the stacks' capacity.
func (d *fdec) reset() {
	if d.shortUsed {
		// Pooled, the table must not keep an answer's blocks alive.
		d.short, d.keys, d.shortUsed = [64]shortString{}, [64]shortString{}, false
	}
	d.b = nil
	d.strs, d.vals, d.strsUsed, d.valsUsed = nil, nil, 0, 0
	d.sl = fdecSlabs{}
	d.st.reset()
}

// fdecStack clears a stack for reuse, or drops it when it grew large.
func fdecStack[T any](s *[]T) {
	clear(*s)
	if cap(*s) > 1<<12 {
		*s = nil
		return
	}
	*s = (*s)[:0]
}

func (d *fdec) fail() {
	d.bad = true
	d.i = len(d.b)
}

func (d *fdec) ws() {
	// Consul's answers are compact: the byte is most often no space at all.
	for d.i < len(d.b) && d.b[d.i] <= ' ' {
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
func (d *fdec) objStart() bool { return d.open('{') }

// open opens an object or an array (c is '{' or '['); it returns false for
// a null (or a failure, or nesting deeper than 100).
func (d *fdec) open(c byte) bool {
	if got := d.peek(); got != c {
		if !d.null() {
			d.fail()
		}
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
	// Compact JSON first: `,"key":` (or `"key":` first) with no space.
	if b, i := d.b, d.i; i+1 < len(b) {
		if !*first && b[i] == ',' {
			i++
		}
		if b[i] == '"' && (i > d.i || *first) {
			start := i + 1
			j := start + scanPlain(b[start:])
			if j+1 < len(b) && b[j] == '"' && b[j+1] == ':' {
				*first = false
				d.i = j + 2
				return b[start:j], true
			}
		}
	}
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
	j := start + scanPlain(d.b[start:])
	if j >= len(d.b) || d.b[j] != '"' {
		// An escape, a control character or a byte that is not ASCII
		// in a key: encoding/json's.
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

// expect consumes key, a key with its colon and the comma before it
// (`,"Key":`, without the comma for an object's first key), when the input
// goes on with exactly those bytes.
func (d *fdec) expect(first *bool, key string) bool {
	if *first {
		key = key[1:]
	}
	n := len(key)
	rest := d.b[d.i:]
	if len(rest) < n {
		return false
	}
	if n <= 16 && n >= 8 && len(rest) >= 16 {
		// Two overlapping words of each, no call: keys are short.
		k := unsafe.Slice(unsafe.StringData(key), n)
		if binary.LittleEndian.Uint64(rest) != binary.LittleEndian.Uint64(k) ||
			binary.LittleEndian.Uint64(rest[n-8:]) != binary.LittleEndian.Uint64(k[n-8:]) {
			return false
		}
	} else if string(rest[:n]) != key {
		return false
	}
	d.i += n
	*first = false
	return true
}

// arrStart opens an array; it returns false for a null (or a failure).
func (d *fdec) arrStart() bool { return d.open('[') }

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

// keep returns a string holding b: for up to 8 bytes the one kept before
// with the same bytes, if the table of short strings still has it, else a
// copy (keepCopy).
func (d *fdec) keep(b []byte) string { return d.keepIn(&d.short, b) }

// keepKey is keep for the key of a map.
func (d *fdec) keepKey(b []byte) string { return d.keepIn(&d.keys, b) }

func (d *fdec) keepIn(table *[64]shortString, b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n <= 8 && cap(b) >= 8 {
		// Eight bytes can be read at once within b's capacity, and the
		// ones past b masked.
		w := binary.LittleEndian.Uint64(b[:8]) & (^uint64(0) >> (64 - 8*n))
		e := &table[(w*0x9e3779b97f4a7c15)>>58]
		if e.w == w && len(e.s) == n {
			return e.s
		}
		s := d.keepCopy(b)
		*e = shortString{w, s}
		d.shortUsed = true
		return s
	}
	return d.keepCopy(b)
}

// keepCopy returns a string holding b, cut from the current block of
// strings. A block is never written again where a string was cut from it,
// so the strings share it safely; a new one is as large as what is left to
// read (no string of the answer can be longer), at most 64 KiB.
func (d *fdec) keepCopy(b []byte) string {
	if cap(d.strs)-len(d.strs) < len(b) {
		d.strs = make([]byte, 0, d.blockSize(&d.strsUsed, len(b)))
	}
	d.strsUsed += len(b)
	start := len(d.strs)
	d.strs = append(d.strs, b...)
	return unsafe.String(&d.strs[start], len(b))
}

// blockSize is the size of a new block of strings or values that must
// hold n bytes, when *used bytes went into blocks so far: what the rest of
// the answer will need at the rate seen so far, plus an eighth, at most 64
// KiB (and never more than the rest of the answer could hold). Until 16 KiB
// of input were read a rate would mislead, and a block is 16 KiB, the first
// one at most half of what is left (a string takes two quotes and a key or
// a comma besides its bytes: a catalog's map of services is a quarter
// names). It keeps the blocks' unused tails small, and their number low.
func (d *fdec) blockSize(used *int, n int) int {
	rest := len(d.b) - d.i
	size := 16 << 10
	if *used == 0 {
		size = min(size, rest/2)
	}
	if d.i >= 16<<10 {
		size = int(int64(*used+n) * int64(rest) / int64(d.i))
		size += size / 8
	}
	size = max(size, 512)
	size = min(size, 64<<10, rest)
	return max(size, n)
}

// scanPlain returns the index of the first byte of b that is a quote, a
// backslash, a control character or not ASCII, or len(b): eight bytes at a
// time.
func scanPlain(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^(ones*'"'), w^(ones*'\\')
		if m := ((w - ones*0x20) | (q-ones)&^q | (bs-ones)&^bs | w) & highs; m != 0 {
			// The lowest marked byte is the first special one: a
			// borrow only carries upwards from a byte that is marked
			// itself. Most strings are shorter than a word, so this
			// saves the byte loop below.
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

// rawString reads a string; null reads as ok with null set.
func (d *fdec) rawString() (s string, null, ok bool) {
	if d.peek() != '"' {
		if d.null() {
			return "", true, true
		}
		d.fail()
		return "", false, false
	}
	start := d.i + 1
	j := start + scanPlain(d.b[start:])
	if j < len(d.b) && d.b[j] == '"' {
		s = d.keep(d.b[start:j])
		d.i = j + 1
		return s, false, true
	}
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
			return "", false, false
		}
		if c >= 0x80 {
			ascii = false
		}
		j++
	}
	if j >= len(d.b) || (!ascii && !utf8.Valid(d.b[start:j])) {
		// encoding/json replaces invalid UTF-8: let it.
		d.fail()
		return "", false, false
	}
	s = d.keep(d.b[start:j])
	d.i = j + 1
	return s, false, true
}

// escapedString reads a string with escapes through encoding/json.
func (d *fdec) escapedString() (string, bool, bool) {
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
		return "", false, false
	}
	var s string
	if err := json.Unmarshal(d.b[start:j+1], &s); err != nil || !utf8.ValidString(s) {
		d.fail()
		return "", false, false
	}
	d.i = j + 1
	return d.keep([]byte(s)), false, true
}

// fdecStr reads a string into *p (a null leaves it alone).
func fdecStr[T ~string](d *fdec, p *T) {
	s, null, ok := d.rawString()
	if ok && !null {
		*p = T(s)
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

// fdecUint reads an unsigned integer of T's size; null leaves *p alone.
func fdecUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](d *fdec, p *T) {
	n, ok := d.uintLit()
	if !ok {
		return
	}
	if uint64(T(n)) != n {
		d.fail()
		return
	}
	*p = T(n)
}

// uintLit reads a non-negative integer in one pass; it reports false for
// a null (and on a failure).
func (d *fdec) uintLit() (uint64, bool) {
	c := d.peek()
	if c == 'n' {
		d.null()
		return 0, false
	}
	b, i := d.b, d.i
	if c < '0' || c > '9' || c == '0' && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9' {
		d.fail() // a sign, a leading zero, not a number
		return 0, false
	}
	start := i
	var n uint64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + uint64(b[i]-'0')
		i++
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		d.fail()
		return 0, false
	}
	if i-start > 19 {
		// Past 19 digits it may overflow: check with strconv.
		v, err := strconv.ParseUint(string(b[start:i]), 10, 64)
		if err != nil {
			d.fail() // overflow: encoding/json says so
			return 0, false
		}
		n = v
	}
	d.i = i
	return n, true
}

// fdecInt reads a signed integer of T's size; null leaves *p alone.
func fdecInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](d *fdec, p *T) {
	neg := d.peek() == '-'
	if neg {
		d.i++
		if d.i >= len(d.b) || d.b[d.i] < '0' || d.b[d.i] > '9' {
			d.fail()
			return
		}
	}
	u, ok := d.uintLit()
	if !ok {
		if neg && !d.bad {
			d.fail() // -null
		}
		return
	}
	if u > 1<<63-1+boolBit(neg) {
		d.fail() // overflow: encoding/json says so
		return
	}
	n := int64(u)
	if neg {
		n = -n
	}
	if int64(T(n)) != n {
		d.fail()
		return
	}
	*p = T(n)
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// fdecFloat reads a number of T's size; null leaves *p alone.
func fdecFloat[T ~float32 | ~float64](d *fdec, p *T) {
	if d.null() {
		return
	}
	start := d.i
	d.number()
	if d.bad {
		return
	}
	f, err := strconv.ParseFloat(string(d.b[start:d.i]), int(unsafe.Sizeof(*p))*8)
	if err != nil {
		d.fail()
		return
	}
	*p = T(f)
}

// number reads a JSON number, checking its syntax.
func (d *fdec) number() {
	d.ws()
	i, b := d.i, d.b
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.fail()
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			d.fail()
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			d.fail()
			return
		}
	}
	d.i = i
}

// fdecBool reads a bool; null leaves *p alone.
func fdecBool[T ~bool](d *fdec, p *T) {
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

// fdecDuration reads what the duration type reads: null (no change), ""
// (zero), Go's "1m30s" form or a number of nanoseconds.
func fdecDuration(d *fdec, p *time.Duration) {
	switch c := d.peek(); {
	case c == 'n':
		d.null()
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
	if v, ok := parseDurationFast(lit); ok {
		*p = v
		d.i = start + end + 1
		return
	}
	// Escapes, fractions, signs, units like µs: the slow way.
	d.fail()
}

// parseDurationFast parses the forms Consul writes ("", "10s", "1m30s",
// "1h0m0s", "500ms") without allocating; anything else is left to the
// slow path.
func parseDurationFast(b []byte) (time.Duration, bool) {
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

// fdecTime reads a time.Time as encoding/json does, through its
// UnmarshalJSON; null leaves it alone.
func fdecTime(d *fdec, p *time.Time) {
	if d.null() {
		return
	}
	if d.peek() != '"' {
		d.fail()
		return
	}
	start := d.i
	end := bytes.IndexByte(d.b[start+1:], '"')
	if end < 0 {
		d.fail()
		return
	}
	raw := d.b[start : start+end+2]
	if bytes.IndexByte(raw, '\\') >= 0 {
		d.fail()
		return
	}
	if err := p.UnmarshalJSON(raw); err != nil {
		d.fail()
		return
	}
	d.i = start + end + 2
}

// fdecBytes reads base64 into *p: null is nil, "" an empty non-nil slice.
// An array of numbers is read too, as encoding/json reads one into a
// []byte (Consul writes some certificates' bytes so).
func fdecBytes(d *fdec, p *[]byte) {
	c := d.peek()
	if c == 'n' && d.null() {
		*p = nil
		return
	}
	if c == '[' {
		d.arrStart()
		s := []byte{}
		for first := true; d.arrNext(&first); {
			var c uint8
			fdecUint(d, &c)
			s = append(s, c)
		}
		if !d.bad {
			*p = s
		}
		return
	}
	if c != '"' {
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
	if len(src)%4 != 0 {
		// Not base64 with padding, or with a raw CR or LF that the decoder
		// would skip and encoding/json refuses in a string.
		d.fail()
		return
	}
	need := base64.StdEncoding.DecodedLen(len(src))
	if need == 0 {
		*p = []byte{}
		d.i = start + end + 1
		return
	}
	if cap(d.vals)-len(d.vals) < need {
		d.vals = make([]byte, 0, d.blockSize(&d.valsUsed, need))
	}
	off := len(d.vals)
	n, ok := fdecBase64(d.vals[off:off+need], src)
	var err error
	if !ok {
		n, err = base64.StdEncoding.Decode(d.vals[off:off+need], src)
	}
	if err != nil || n < need-2 {
		// Any byte outside the alphabet (an escape, a control character,
		// not ASCII) fails the decoder but CR and LF, which it skips: a
		// length that is a multiple of four and decodes to under need-2
		// bytes held some, and encoding/json refuses them in a string.
		d.fail()
		return
	}
	d.valsUsed += n
	d.vals = d.vals[:off+n]
	*p = d.vals[off : off+n : off+n]
	d.i = start + end + 1
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
		d.skipString()
	case c == 't' || c == 'f':
		var b bool
		fdecBool(d, &b)
	case c == 'n':
		d.null()
	case c == '-' || c >= '0' && c <= '9':
		d.number()
	default:
		d.fail()
	}
}

// skipString skips a string, checking it as rawString does.
func (d *fdec) skipString() {
	start := d.i + 1
	j := start + scanPlain(d.b[start:])
	if j < len(d.b) && d.b[j] == '"' {
		d.i = j + 1
		return
	}
	ascii := true
	for j < len(d.b) {
		c := d.b[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			d.escapedString()
			return
		}
		if c < 0x20 {
			d.fail()
			return
		}
		if c >= 0x80 {
			ascii = false
		}
		j++
	}
	if j >= len(d.b) || (!ascii && !utf8.Valid(d.b[start:j])) {
		d.fail()
		return
	}
	d.i = j + 1
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

// fdecSlow decodes one value with encoding/json into p, for the fields of
// types with JSON methods of their own, interfaces and raw messages.
func fdecSlow[T any](d *fdec, p *T) {
	d.ws()
	start := d.i
	d.skip()
	if d.bad {
		return
	}
	if err := json.Unmarshal(d.b[start:d.i], p); err != nil {
		d.fail()
	}
}

// fdecRaw reads any value into a json.RawMessage, as its UnmarshalJSON
// does: the value's bytes (a null too), copied.
func fdecRaw(d *fdec, p *json.RawMessage) {
	d.ws()
	start := d.i
	d.skip()
	if d.bad {
		return
	}
	raw := d.b[start:d.i]
	if cap(d.vals)-len(d.vals) < len(raw) {
		d.vals = make([]byte, 0, d.blockSize(&d.valsUsed, len(raw)))
	}
	off := len(d.vals)
	d.vals = append(d.vals, raw...)
	d.valsUsed += len(raw)
	*p = d.vals[off : off+len(raw) : off+len(raw)]
}

// fdecStrings is fdecSlice for a []string, without a call per element.
func fdecStrings(d *fdec, p *[]string, st *[]string, sl *fdecSlab[string]) {
	if !d.arrStart() {
		if !d.bad {
			*p = nil
		}
		return
	}
	// The elements go straight into the free tail of the slab's chunk,
	// which they take when the array ends; an array longer than the tail
	// moves to the stack.
	base := len(sl.s)
	free := sl.s[base:cap(sl.s)]
	k := 0
	mark := len(*st)
	spilled := false
	for first := true; ; first = false {
		s, ok := d.plainElem(first)
		if !ok {
			if !d.arrNext(&first) {
				break
			}
			s, _, ok = d.rawString() // a null element is ""
			if !ok {
				clear(free[:k])
				return
			}
		}
		if !spilled {
			if k < len(free) {
				free[k] = s
				k++
				continue
			}
			*st = append(*st, free[:k]...)
			clear(free[:k])
			spilled = true
		}
		*st = append(*st, s)
	}
	if d.bad {
		clear(free[:k])
		return
	}
	if !spilled {
		if k == 0 {
			*p = []string{} // encoding/json's empty slices are not nil
			return
		}
		sl.s = sl.s[:base+k]
		*p = sl.s[base : base+k : base+k]
		return
	}
	s := sl.alloc(d, len(*st)-mark)
	copy(s, (*st)[mark:])
	clear((*st)[mark:])
	*st = (*st)[:mark]
	*p = s
}

// plainElem reads the next element of an open array when it is a string
// of plain ASCII right after the '[' (first) or a ',', with no space: the
// elements of Consul's compact answers. Anything else is left unread for
// arrNext and rawString.
func (d *fdec) plainElem(first bool) (string, bool) {
	b, i := d.b, d.i
	if !first {
		if i >= len(b) || b[i] != ',' {
			return "", false
		}
		i++
	}
	if i >= len(b) || b[i] != '"' {
		return "", false
	}
	start := i + 1
	j := start + scanPlain(b[start:])
	if j >= len(b) || b[j] != '"' {
		return "", false
	}
	d.i = j + 1
	return d.keep(b[start:j]), true
}

// fdecStringMap is fdecMap for a map[string]string, without a call per
// entry.
func fdecStringMap(d *fdec, p *map[string]string, st *[]fdecPair[string, string]) {
	if !d.objStart() {
		if !d.bad {
			*p = nil
		}
		return
	}
	mark := len(*st)
	for first := true; ; {
		key, ok := d.objNext(&first)
		if !ok {
			break
		}
		k := d.keepKey(key)
		v, _, ok := d.rawString() // a null value is ""
		if !ok {
			return
		}
		*st = append(*st, fdecPair[string, string]{k, v})
	}
	if d.bad {
		return
	}
	m := *p
	if m == nil {
		m = make(map[string]string, len(*st)-mark)
	}
	for _, e := range (*st)[mark:] {
		m[e.k] = e.v
	}
	clear((*st)[mark:])
	*st = (*st)[:mark]
	*p = m
}

// fdecBase64Table maps a byte of the standard base64 alphabet to its
// value, any other byte to 0xff.
var fdecBase64Table = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = uint8(i)
	}
	return t
}()

// fdecBase64 decodes src, standard base64 with padding whose length is a
// multiple of four, into dst (base64.StdEncoding.DecodedLen(len(src))
// bytes), as base64.StdEncoding.Decode does (the unused bits of the last
// character before the padding ignored). It reports false for anything
// else (a byte outside the alphabet, padding inside, a CR or LF), which
// the caller leaves to base64.StdEncoding, whose verdict is the one that
// counts.
func fdecBase64(dst, src []byte) (int, bool) {
	if len(src) == 0 {
		return 0, true
	}
	t := &fdecBase64Table
	last := len(src) - 4
	n, i := 0, 0
	for ; i+8 <= last && n+8 <= len(dst); i += 8 {
		a, b, c, e := t[src[i]], t[src[i+1]], t[src[i+2]], t[src[i+3]]
		f, g, h, k := t[src[i+4]], t[src[i+5]], t[src[i+6]], t[src[i+7]]
		if (a|b|c|e|f|g|h|k)&0xc0 != 0 {
			return 0, false
		}
		w := uint64(a)<<58 | uint64(b)<<52 | uint64(c)<<46 | uint64(e)<<40 |
			uint64(f)<<34 | uint64(g)<<28 | uint64(h)<<22 | uint64(k)<<16
		binary.BigEndian.PutUint64(dst[n:], w) // 6 bytes kept, 2 overwritten next
		n += 6
	}
	for ; i < last; i += 4 {
		a, b, c, e := t[src[i]], t[src[i+1]], t[src[i+2]], t[src[i+3]]
		if (a|b|c|e)&0xc0 != 0 {
			return 0, false
		}
		dst[n], dst[n+1], dst[n+2] = a<<2|b>>4, b<<4|c>>2, c<<6|e
		n += 3
	}
	a, b := t[src[last]], t[src[last+1]]
	if (a|b)&0xc0 != 0 {
		return 0, false
	}
	switch {
	case src[last+2] == '=' && src[last+3] == '=':
		dst[n] = a<<2 | b>>4
		return n + 1, true
	case src[last+3] == '=':
		c := t[src[last+2]]
		if c&0xc0 != 0 {
			return 0, false
		}
		dst[n], dst[n+1] = a<<2|b>>4, b<<4|c>>2
		return n + 2, true
	}
	c, e := t[src[last+2]], t[src[last+3]]
	if (c|e)&0xc0 != 0 {
		return 0, false
	}
	dst[n], dst[n+1], dst[n+2] = a<<2|b>>4, b<<4|c>>2, c<<6|e
	return n + 3, true
}
