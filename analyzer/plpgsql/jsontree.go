package plpgsql

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// jval is a JSON value of the PL/pgSQL parse tree pg_query gives, as the
// reader walks it: objects keep their members sorted by key (the order the
// reader visits them in). Decoding into it costs a fraction of decoding
// into interface{} maps, whose keys the reader had to sort again at every
// object.
type jval struct {
	kind jkind
	// reads is set, in a pruned tree (decodeWalked), on an object or
	// array holding a PLpgSQL_expr member at some depth: what the reader
	// reads.
	reads bool
	str   string
	num   float64
	obj   []jmember
	arr   []jval
}

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jObj
	jArr
)

type jmember struct {
	key string
	val jval
}

// get returns the member of an object named key, or nil.
func (v *jval) get(key string) *jval {
	if v == nil || v.kind != jObj {
		return nil
	}
	i := sort.Search(len(v.obj), func(i int) bool { return v.obj[i].key >= key })
	if i < len(v.obj) && v.obj[i].key == key {
		return &v.obj[i].val
	}
	return nil
}

// decodeTree decodes the JSON text of a parse tree. Text this decoder
// does not take (which pg_query does not write) goes through
// encoding/json, so that what is read, and any error, stays what
// encoding/json says.
func decodeTree(text string) (jval, error) { return decode(text, false) }

// decodeWalked is decodeTree less the members plReader.walk passes over
// (walkedOver): the tree it walks, at a fraction of the size (most members
// of a PL/pgSQL parse tree are names, numbers and flags it never reads).
func decodeWalked(text string) (jval, error) { return decode(text, true) }

func decode(text string, prune bool) (jval, error) {
	st := stacks.Get().(*jstacks)
	d := jdecoder{s: text, prune: prune, members: st.members[:0], items: st.items[:0]}
	v, err := d.value(0)
	// Cleared, so that the pool holds on to no tree.
	st.members, st.items = d.members[:0], d.items[:0]
	clear(st.members[:cap(st.members)])
	clear(st.items[:cap(st.items)])
	stacks.Put(st)
	if err == nil {
		d.space()
		if d.i != len(d.s) {
			err = errJSON
		}
	}
	if err == nil {
		return v, nil
	}
	var tree any
	if err := json.Unmarshal([]byte(text), &tree); err != nil {
		return jval{}, err
	}
	if prune {
		return pruned(fromAny(tree)), nil
	}
	return fromAny(tree), nil
}

// walkedOver says plReader.walk does nothing with a member of a pruned
// tree: walk reads nothing but the expressions (expr, at a PLpgSQL_expr
// member), with the line numbers and the exception blocks around them,
// so a member whose value holds no PLpgSQL_expr at any depth (reads
// unset) does nothing, unless it is one of those the reader gets
// (lineno, exceptions, and query and parseMode for expr).
func walkedOver(m *jmember) bool {
	if m.val.reads {
		return false
	}
	switch m.key {
	case "PLpgSQL_expr", "lineno", "exceptions", "query", "parseMode":
		return false
	}
	return true
}

// pruned is v without what walkedOver says the reader passes over, at
// every depth, and without the array items that hold no PLpgSQL_expr
// (walk of one does nothing): an object or array left with none has nil
// members or items. It is what decodeWalked decodes.
func pruned(v jval) jval {
	switch v.kind {
	case jObj:
		out := jval{kind: jObj}
		for i := range v.obj {
			m := jmember{v.obj[i].key, pruned(v.obj[i].val)}
			if !walkedOver(&m) {
				out.obj = append(out.obj, m)
				out.reads = out.reads || m.key == "PLpgSQL_expr" || m.val.reads
			}
		}
		return out
	case jArr:
		out := jval{kind: jArr}
		for i := range v.arr {
			if x := pruned(v.arr[i]); x.reads {
				out.arr = append(out.arr, x)
				out.reads = true
			}
		}
		return out
	}
	return v
}

// jstacks are a decoder's stacks, handed from one decoding to the next
// (a body's tree has thousands of members, and stacks grown afresh for
// each left as much behind as the tree took).
type jstacks struct {
	members []jmember
	items   []jval
}

var stacks = sync.Pool{New: func() any { return new(jstacks) }}

var errJSON = errors.New("not JSON this decoder takes")

// maxJSONDepth bounds nesting as encoding/json does.
const maxJSONDepth = 10000

type jdecoder struct {
	s string
	i int
	// members and items are the stacks of the objects' members and the
	// arrays' items being read, nested ones above those holding them.
	members []jmember
	items   []jval
	// prune leaves out what walk passes over (decodeWalked).
	prune bool
}

func (d *jdecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jdecoder) value(depth int) (jval, error) {
	if depth > maxJSONDepth {
		return jval{}, errJSON
	}
	d.space()
	if d.i >= len(d.s) {
		return jval{}, errJSON
	}
	switch c := d.s[d.i]; {
	case c == '{':
		d.i++
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return jval{kind: jObj}, nil
		}
		// The members go on the decoder's stack, then into a slice of
		// their exact number: appending to a slice of each object's own
		// left half of what it allocated behind.
		base := len(d.members)
		for {
			d.space()
			key, err := d.string()
			if err != nil {
				return jval{}, err
			}
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return jval{}, errJSON
			}
			d.i++
			v, err := d.value(depth + 1)
			if err != nil {
				return jval{}, err
			}
			d.members = append(d.members, jmember{key, v})
			d.space()
			if d.i >= len(d.s) {
				return jval{}, errJSON
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] != '}' {
				return jval{}, errJSON
			}
			d.i++
			// Sorted and rid of repeated keys on the stack, then copied
			// out, less what walk passes over when pruning.
			ms := sortMembers(d.members[base:])
			n := len(ms)
			if d.prune {
				n = 0
				for i := range ms {
					if !walkedOver(&ms[i]) {
						n++
					}
				}
			}
			out := jval{kind: jObj}
			if n > 0 {
				out.obj = make([]jmember, 0, n)
				for i := range ms {
					if !d.prune || !walkedOver(&ms[i]) {
						out.obj = append(out.obj, ms[i])
						out.reads = d.prune && (out.reads || ms[i].key == "PLpgSQL_expr" || ms[i].val.reads)
					}
				}
			}
			d.members = d.members[:base]
			return out, nil
		}
	case c == '[':
		d.i++
		d.space()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return jval{kind: jArr}, nil
		}
		base := len(d.items)
		for {
			v, err := d.value(depth + 1)
			if err != nil {
				return jval{}, err
			}
			d.items = append(d.items, v)
			d.space()
			if d.i >= len(d.s) {
				return jval{}, errJSON
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] != ']' {
				return jval{}, errJSON
			}
			d.i++
			if d.prune {
				// Only the items holding what the reader reads.
				out := jval{kind: jArr}
				n := 0
				for _, x := range d.items[base:] {
					if x.reads {
						n++
					}
				}
				if n > 0 {
					out.arr, out.reads = make([]jval, 0, n), true
					for _, x := range d.items[base:] {
						if x.reads {
							out.arr = append(out.arr, x)
						}
					}
				}
				d.items = d.items[:base]
				return out, nil
			}
			items := make([]jval, len(d.items)-base)
			copy(items, d.items[base:])
			d.items = d.items[:base]
			return jval{kind: jArr, arr: items}, nil
		}
	case c == '"':
		s, err := d.string()
		return jval{kind: jStr, str: s}, err
	case c == 't' && strings.HasPrefix(d.s[d.i:], "true"), c == 'f' && strings.HasPrefix(d.s[d.i:], "false"):
		if c == 't' {
			d.i += 4
		} else {
			d.i += 5
		}
		return jval{kind: jBool}, nil
	case c == 'n' && strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return jval{kind: jNull}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := d.i
		for d.i < len(d.s) && strings.IndexByte("+-.eE0123456789", d.s[d.i]) >= 0 {
			d.i++
		}
		f, err := strconv.ParseFloat(d.s[start:d.i], 64)
		if err != nil || !validNumber(d.s[start:d.i]) {
			return jval{}, errJSON
		}
		return jval{kind: jNum, num: f}, nil
	}
	return jval{}, errJSON
}

// validNumber says a number is written as JSON writes it (ParseFloat
// takes forms JSON does not, such as "+1" or "1.").
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// string reads a string: without escapes, a slice of the text; with
// those unescape decodes (a query holding a quote, a newline, a < or a >),
// a string of its own; with a surrogate or invalid UTF-8, what
// encoding/json decodes.
func (d *jdecoder) string() (string, error) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return "", errJSON
	}
	start := d.i
	escaped := false
	for j := d.i + 1; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			d.i = j + 1
			raw := d.s[start+1 : j]
			if utf8.ValidString(raw) {
				if !escaped {
					return raw, nil
				}
				if s, ok := unescape(raw); ok {
					return s, nil
				}
			}
			// Surrogates, and invalid UTF-8 (encoding/json turns both into
			// U+FFFD).
			var s string
			if err := json.Unmarshal([]byte(d.s[start:j+1]), &s); err != nil {
				return "", errJSON
			}
			return s, nil
		case c < 0x20:
			return "", errJSON
		}
	}
	return "", errJSON
}

// unescape decodes the escapes JSON writes for a quote, a backslash, a
// slash, the usual control characters and \u escapes of characters outside
// the surrogates (pg_query writes \u003c, \u003e and \u0026 for <, > and
// &); ok is false for a surrogate (a pair, or one alone, which
// encoding/json turns into U+FFFD) and for escapes JSON does not have.
func unescape(raw string) (string, bool) {
	var b strings.Builder
	b.Grow(len(raw))
	for {
		k := strings.IndexByte(raw, '\\')
		if k < 0 {
			b.WriteString(raw)
			return b.String(), true
		}
		b.WriteString(raw[:k])
		if k+1 >= len(raw) {
			return "", false
		}
		n := 2
		switch c := raw[k+1]; c {
		case '"', '\\', '/':
			b.WriteByte(c)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(raw[k+2:])
			if !ok || utf16.IsSurrogate(r) {
				return "", false
			}
			b.WriteRune(r)
			n = 6
		default:
			return "", false
		}
		raw = raw[k+n:]
	}
}

// hex4 reads the four hexadecimal digits of a \u escape.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// sortMembers orders an object's members by key; of members with the same
// key, the last is kept, as encoding/json keeps it.
func sortMembers(ms []jmember) []jmember {
	if !slices.IsSortedFunc(ms, byKey) {
		slices.SortStableFunc(ms, byKey)
	}
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func byKey(a, b jmember) int { return strings.Compare(a.key, b.key) }

// fromAny converts what encoding/json decoded.
func fromAny(v any) jval {
	switch x := v.(type) {
	case map[string]any:
		ms := make([]jmember, 0, len(x))
		for k, e := range x {
			ms = append(ms, jmember{k, fromAny(e)})
		}
		return jval{kind: jObj, obj: sortMembers(ms)}
	case []any:
		if len(x) == 0 {
			return jval{kind: jArr}
		}
		items := make([]jval, len(x))
		for i, e := range x {
			items[i] = fromAny(e)
		}
		return jval{kind: jArr, arr: items}
	case string:
		return jval{kind: jStr, str: x}
	case float64:
		return jval{kind: jNum, num: x}
	case bool:
		return jval{kind: jBool}
	}
	return jval{kind: jNull}
}
