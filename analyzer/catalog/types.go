package catalog

import (
	"strconv"
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Type is a column or domain type as the user means it. Builtin types carry
// Schema "pg_catalog" and PostgreSQL's internal name (int4, varchar, ...), so
// that two spellings of the same type ("integer", "int", "int4") compare
// equal. Mods keep the numbers the user wrote, not PostgreSQL's encoded
// atttypmod, because rules reason about "varchar(100) -> varchar(200)".
type Type struct {
	Schema    string
	Name      string
	Mods      []int32
	ArrayDims int
}

// serialTypes maps the pseudo-types that CREATE TABLE expands into an integer
// column plus an owned sequence.
var serialTypes = map[string]string{
	"serial":      "int4",
	"serial4":     "int4",
	"bigserial":   "int8",
	"serial8":     "int8",
	"smallserial": "int2",
	"serial2":     "int2",
}

// builtinTypes lists the names, after the parser's own rewriting of SQL
// standard spellings, that resolve to pg_catalog types. Anything else is
// treated as a user type (enum, domain, extension type).
var builtinTypes = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"int2": true, "int4": true, "int8": true, "float4": true, "float8": true,
		"numeric": true, "varchar": true, "bpchar": true, "text": true, "bool": true,
		"timestamp": true, "timestamptz": true, "date": true, "time": true,
		"timetz": true, "interval": true, "uuid": true, "json": true, "jsonb": true,
		"bytea": true, "bit": true, "varbit": true, "char": true, "name": true,
		"oid": true, "regclass": true, "regtype": true, "regproc": true, "inet": true,
		"cidr": true, "macaddr": true, "macaddr8": true, "money": true, "xml": true,
		"tsvector": true, "tsquery": true, "point": true, "line": true, "lseg": true,
		"box": true, "path": true, "polygon": true, "circle": true, "int4range": true,
		"int8range": true, "numrange": true, "tsrange": true, "tstzrange": true,
		"daterange": true, "int4multirange": true, "int8multirange": true,
		"nummultirange": true, "tsmultirange": true, "tstzmultirange": true,
		"datemultirange": true, "pg_lsn": true, "txid_snapshot": true,
		"pg_snapshot": true, "xid": true, "xid8": true, "cid": true, "tid": true,
		"jsonpath": true, "record": true, "void": true, "anyelement": true,
	}
})

// TypeFromNode converts a parsed type name. Serial pseudo-types are returned
// unchanged (Name "serial", ...): only CREATE TABLE and ADD COLUMN expand them.
func TypeFromNode(tn *pg_query.TypeName) Type {
	if tn == nil {
		return Type{}
	}
	var names []string
	for _, n := range tn.GetNames() {
		names = append(names, n.GetString_().GetSval())
	}
	var t Type
	switch len(names) {
	case 0:
		return Type{}
	case 1:
		t.Name = names[0]
	default:
		t.Schema = names[len(names)-2]
		t.Name = names[len(names)-1]
	}
	if t.Schema == "" || t.Schema == "pg_catalog" {
		if builtinTypes()[t.Name] {
			t.Schema = "pg_catalog"
		}
	}
	for _, m := range tn.GetTypmods() {
		if c := m.GetAConst(); c != nil && c.GetIval() != nil {
			t.Mods = append(t.Mods, c.GetIval().GetIval())
		} else if c != nil && c.GetIsnull() {
			t.Mods = append(t.Mods, 0)
		} else {
			// Non-integer modifiers (rare extension syntax) cannot be
			// represented; dropping them all keeps the type comparable.
			t.Mods = nil
			break
		}
	}
	if t.Schema == "pg_catalog" && t.Name == "numeric" && len(t.Mods) == 1 {
		t.Mods = append(t.Mods, 0)
	}
	t.ArrayDims = len(tn.GetArrayBounds())
	return t
}

// IsBuiltin reports whether the type lives in pg_catalog.
func (t Type) IsBuiltin() bool { return t.Schema == "pg_catalog" }

// Known reports whether anything is known about the type (view columns
// computed from expressions have an empty Type).
func (t Type) Known() bool { return t.Name != "" }

// Equal compares name, schema, modifiers and array dimensions.
func (t Type) Equal(o Type) bool {
	if t.Schema != o.Schema || t.Name != o.Name || t.ArrayDims != o.ArrayDims || len(t.Mods) != len(o.Mods) {
		return false
	}
	for i := range t.Mods {
		if t.Mods[i] != o.Mods[i] {
			return false
		}
	}
	return true
}

func (t Type) clone() Type {
	if t.Mods != nil {
		t.Mods = append([]int32(nil), t.Mods...)
	}
	return t
}

var sqlNames = map[string]string{
	"int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
	"float8": "double precision", "bool": "boolean",
}

// Interval typmod field masks (PostgreSQL's INTERVAL_MASK values).
const (
	intervalFullRange = 0x7FFF
	maskYear          = 1 << 2
	maskMonth         = 1 << 1
	maskDay           = 1 << 3
	maskHour          = 1 << 10
	maskMinute        = 1 << 11
	maskSecond        = 1 << 12
)

func intervalFields(mask int32) string {
	switch mask {
	case maskYear:
		return "year"
	case maskMonth:
		return "month"
	case maskDay:
		return "day"
	case maskHour:
		return "hour"
	case maskMinute:
		return "minute"
	case maskSecond:
		return "second"
	case maskYear | maskMonth:
		return "year to month"
	case maskDay | maskHour:
		return "day to hour"
	case maskDay | maskHour | maskMinute:
		return "day to minute"
	case maskDay | maskHour | maskMinute | maskSecond:
		return "day to second"
	case maskHour | maskMinute:
		return "hour to minute"
	case maskHour | maskMinute | maskSecond:
		return "hour to second"
	case maskMinute | maskSecond:
		return "minute to second"
	}
	return ""
}

func joinMods(m []int32) string {
	parts := make([]string, len(m))
	for i, v := range m {
		parts[i] = strconv.Itoa(int(v))
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// SQL renders the type the way people write it in migrations.
func (t Type) SQL() string {
	if t.Name == "" {
		return ""
	}
	var b strings.Builder
	if t.IsBuiltin() {
		name := t.Name
		if n, ok := sqlNames[name]; ok {
			name = n
		}
		switch {
		case t.Name == "interval" && len(t.Mods) > 0:
			b.WriteString("interval")
			f := intervalFields(t.Mods[0])
			if f != "" {
				b.WriteString(" " + f)
			}
			if len(t.Mods) > 1 {
				b.WriteString("(" + strconv.Itoa(int(t.Mods[1])) + ")")
			}
		case t.Name == "char":
			b.WriteString(`"char"`)
		case t.Name == "bpchar" && len(t.Mods) > 0:
			b.WriteString("char" + joinMods(t.Mods))
		default:
			b.WriteString(name)
			if len(t.Mods) > 0 {
				b.WriteString(joinMods(t.Mods))
			}
		}
	} else {
		if t.Schema != "" && t.Schema != "public" {
			b.WriteString(QuoteIdent(t.Schema) + ".")
		}
		b.WriteString(QuoteIdent(t.Name))
		if len(t.Mods) > 0 {
			b.WriteString(joinMods(t.Mods))
		}
	}
	for i := 0; i < t.ArrayDims; i++ {
		b.WriteString("[]")
	}
	return b.String()
}

var formatNames = map[string]string{
	"int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
	"float8": "double precision", "bool": "boolean", "varchar": "character varying",
	"bpchar": "character", "varbit": "bit varying", "timestamp": "timestamp without time zone",
	"timestamptz": "timestamp with time zone", "time": "time without time zone",
	"timetz": "time with time zone", "char": `"char"`,
}

// FormatType renders the type exactly as PostgreSQL's format_type() does
// (with the default search path), which is what pg_dump and psql show.
func (t Type) FormatType() string {
	if t.Name == "" {
		return ""
	}
	var s string
	if t.IsBuiltin() {
		base, ok := formatNames[t.Name]
		if !ok {
			base = t.Name
		}
		switch t.Name {
		case "timestamp", "timestamptz", "time", "timetz":
			if len(t.Mods) > 0 {
				word, zone, _ := strings.Cut(base, " ")
				s = word + "(" + strconv.Itoa(int(t.Mods[0])) + ") " + zone
			} else {
				s = base
			}
		case "interval":
			s = "interval"
			if len(t.Mods) > 0 {
				if f := intervalFields(t.Mods[0]); f != "" && t.Mods[0] != intervalFullRange {
					s += " " + f
				}
				if len(t.Mods) > 1 {
					s += "(" + strconv.Itoa(int(t.Mods[1])) + ")"
				}
			}
		case "bpchar":
			if len(t.Mods) > 0 {
				s = base + joinMods(t.Mods)
			} else {
				s = "bpchar"
			}
		default:
			s = base
			if len(t.Mods) > 0 {
				s += joinMods(t.Mods)
			}
		}
	} else {
		if t.Schema != "" && t.Schema != "public" {
			s = QuoteIdent(t.Schema) + "."
		}
		s += QuoteIdent(t.Name)
		if len(t.Mods) > 0 {
			s += joinMods(t.Mods)
		}
	}
	if t.ArrayDims > 0 {
		// format_type does not record the number of dimensions.
		s += "[]"
	}
	return s
}
