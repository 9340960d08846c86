package typechange

import (
	"strconv"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
)

type kind int

const (
	// kindUser is any type this package cannot see into: an extension
	// type, a composite, a range over a user type, a name the catalog
	// never saw created.
	kindUser kind = iota
	kindDomain
	kindEnum
	// kindBuiltin covers pg_catalog types and citext, whose casts and
	// operator classes are fixed and listed here.
	kindBuiltin
)

// typ is a column type with what Classify needs to reason about it.
type typ struct {
	catalog.Type
	kind  kind
	base  string // builtin name or "citext"; "" otherwise
	array bool
	// labels are the enum's labels when the catalog knows them.
	labels []string
	// integral marks values a USING already rounded to whole numbers.
	integral bool
	// modsUnknown: PostgreSQL does not see this value's typmod (a domain
	// column reads as its base type without the base's typmod), so no
	// length check on it can be skipped.
	modsUnknown bool
	// semMax bounds the length of string values a USING already cut,
	// even after a cast to an unlimited string type.
	semMax int64
	// dom is a domain's base type, and domChecks whether the domain has
	// NOT NULL or CHECK constraints.
	dom       *typ
	domChecks bool
}

// builtin lists pg_catalog names that count as builtin even when the type
// carries no schema, as in a Type built by hand.
var builtin = map[string]bool{
	"int2": true, "int4": true, "int8": true, "float4": true, "float8": true,
	"numeric": true, "money": true, "varchar": true, "bpchar": true, "text": true,
	"name": true, "char": true, "bool": true, "timestamp": true, "timestamptz": true,
	"date": true, "time": true, "timetz": true, "interval": true, "uuid": true,
	"json": true, "jsonb": true, "bytea": true, "bit": true, "varbit": true,
	"inet": true, "cidr": true, "macaddr": true, "macaddr8": true, "xml": true,
	"oid": true,
}

func resolve(t catalog.Type, c *catalog.Catalog) typ {
	return resolveDepth(t, c, 0)
}

func resolveDepth(t catalog.Type, c *catalog.Catalog, depth int) typ {
	r := typ{Type: t, array: t.ArrayDims > 0}
	r.Type.ArrayDims = 0
	r.Mods = append([]int32(nil), t.Mods...)
	switch {
	case t.Name == "":
	case t.Schema == "pg_catalog" || (t.Schema == "" && builtin[t.Name]):
		r.kind, r.base = kindBuiltin, t.Name
		r.Schema = "pg_catalog"
	case c != nil && c.Enum(t.Schema, t.Name) != nil:
		r.kind = kindEnum
		r.labels = c.Enum(t.Schema, t.Name).Values
	case c != nil && c.Domain(t.Schema, t.Name) != nil:
		r.kind = kindDomain
		d := c.Domain(t.Schema, t.Name)
		r.domChecks = d.NotNull || len(d.Constraints) > 0
		if depth < 8 { // a domain over a domain; the bound guards a corrupt catalog
			b := resolveDepth(d.BaseType, c, depth+1)
			r.dom = &b
		}
	case t.Name == "citext":
		r.kind, r.base = kindBuiltin, "citext"
	}
	if r.kind == kindBuiltin && temporal[r.base] && len(r.Mods) > 0 && r.Mods[0] > maxTimePrecision {
		// PostgreSQL lowers the precision to 6 with a warning.
		r.Mods[0] = maxTimePrecision
	}
	return r
}

// elem is the element type of an array type.
func (t typ) elem() typ {
	e := t
	e.array = false
	return e
}

func (t typ) sql() string {
	c := t.Type
	if t.array {
		c.ArrayDims = 1
	}
	if c.Name == "" {
		return "an unknown type"
	}
	return c.SQL()
}

func (t typ) same(o typ) bool {
	a, b := t.Type, o.Type
	return t.array == o.array && a.Equal(b)
}

const maxTimePrecision = 6

var temporal = map[string]bool{"timestamp": true, "timestamptz": true, "time": true, "timetz": true}

// isString reports PostgreSQL's string category (typcategory 'S'): any
// type converts to one of these by I/O in assignment context, and from one
// only with an explicit cast.
func (t typ) isString() bool {
	if t.array || t.kind != kindBuiltin {
		return false
	}
	switch t.base {
	case "text", "varchar", "bpchar", "citext", "name":
		return true
	}
	return false
}

// mod returns the i-th modifier, or -1 when absent: PostgreSQL's "no typmod".
func (t typ) mod(i int) int64 {
	if i < len(t.Mods) {
		return int64(t.Mods[i])
	}
	return -1
}

// maxLen is the most characters (or bits, for bit types) a value can hold; 0 is unlimited.
func (t typ) maxLen() int64 {
	if t.array {
		return 0
	}
	if n := t.declaredLen(); t.semMax > 0 && (n == 0 || n > t.semMax) {
		return t.semMax
	}
	return t.declaredLen()
}

func (t typ) declaredLen() int64 {
	switch t.base {
	case "varchar", "bpchar", "bit", "varbit":
		if n := t.mod(0); n > 0 {
			return n
		}
	case "name":
		return 63
	}
	if t.kind == kindEnum && len(t.labels) > 0 {
		var m int64
		for _, l := range t.labels {
			if n := int64(len([]rune(l))); n > m {
				m = n
			}
		}
		return m
	}
	// The longest text form of fixed-size types, for conversions to varchar(n).
	switch t.base {
	case "int2":
		return 6
	case "int4":
		return 11
	case "int8":
		return 20
	case "bool":
		return 5
	case "uuid":
		return 36
	case "char":
		return 1
	}
	return 0
}

// intRange is the value range of an integer type.
func intRange(base string) (lo, hi int64, ok bool) {
	switch base {
	case "int2":
		return -32768, 32767, true
	case "int4":
		return -2147483648, 2147483647, true
	case "int8":
		return -9223372036854775808, 9223372036854775807, true
	}
	return 0, 0, false
}

// intDigits is how many decimal digits the integer type's extreme values have.
func intDigits(base string) int64 {
	switch base {
	case "int2":
		return 5
	case "int4":
		return 10
	case "int8":
		return 19
	}
	return 0
}

// numSpec describes the numbers a numeric value can hold: digits before
// the decimal point and after it.
type numSpec struct {
	intDigits int64 // -1: unlimited
	scale     int64 // -1: unlimited
}

func (t typ) numSpec() numSpec {
	if t.base == "numeric" && len(t.Mods) >= 2 {
		p, s := int64(t.Mods[0]), int64(t.Mods[1])
		return numSpec{intDigits: p - s, scale: s}
	}
	if t.base == "numeric" && len(t.Mods) == 1 {
		return numSpec{intDigits: int64(t.Mods[0]), scale: 0}
	}
	if d := intDigits(t.base); d > 0 {
		return numSpec{intDigits: d, scale: 0}
	}
	return numSpec{intDigits: -1, scale: -1}
}

// opclass names the default btree operator class of the type: PostgreSQL
// reuses an index across a type change without rewrite only when the index
// would get the same operator class (CheckIndexCompatible). "" means the
// type has no btree class, so no plain index can exist on the column.
func (t typ) opclass() string {
	if t.array {
		return "array_ops"
	}
	switch t.kind {
	case kindEnum:
		return "enum_ops"
	case kindDomain:
		if t.dom != nil {
			return t.dom.opclass()
		}
		return "?" + t.Schema + "." + t.Name
	case kindUser:
		return "?" + t.Schema + "." + t.Name
	}
	switch t.base {
	case "text", "varchar":
		return "text_ops"
	case "inet", "cidr":
		return "inet_ops"
	case "json", "xml":
		return ""
	}
	return t.base + "_ops"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func plural(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return itoa(n) + " " + one
	}
	return itoa(n) + " " + many
}
