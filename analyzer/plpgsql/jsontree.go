package plpgsql

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jval is a JSON value of the PL/pgSQL parse tree pg_query gives, as the
// reader walks it: objects keep their members sorted by key (the order the
// reader visits them in). Decoding into it costs a fraction of decoding
// into interface{} maps, whose keys the reader had to sort again at every
// object.
type jval struct {
	kind jkind
	str  string
	num  float64
	obj  []jmember
	arr  []jval
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
func decodeTree(text string) (jval, error) {
	d := jdecoder{s: text}
	v, err := d.value(0)
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
	return fromAny(tree), nil
}

var errJSON = errors.New("not JSON this decoder takes")

// maxJSONDepth bounds nesting as encoding/json does.
const maxJSONDepth = 10000

type jdecoder struct {
	s string
	i int
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
		var members []jmember
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return jval{kind: jObj}, nil
		}
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
			members = append(members, jmember{key, v})
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
			return jval{kind: jObj, obj: sortMembers(members)}, nil
		}
	case c == '[':
		d.i++
		var items []jval
		d.space()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return jval{kind: jArr}, nil
		}
		for {
			v, err := d.value(depth + 1)
			if err != nil {
				return jval{}, err
			}
			items = append(items, v)
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

// string reads a string without escapes; one with escapes (rare in a
// parse tree: a query holding a quote or a newline) or with invalid UTF-8
// is decoded by encoding/json.
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
			// \u escapes, and invalid UTF-8 (encoding/json turns it into
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
// slash and the usual control characters; ok is false for \u escapes
// (pg_query writes them only for other control characters).
func unescape(raw string) (string, bool) {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", false
		}
		switch raw[i] {
		case '"', '\\', '/':
			b.WriteByte(raw[i])
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
		default:
			return "", false
		}
	}
	return b.String(), true
}

// sortMembers orders an object's members by key; of members with the same
// key, the last is kept, as encoding/json keeps it.
func sortMembers(ms []jmember) []jmember {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
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
