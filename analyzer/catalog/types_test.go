package catalog

import (
	"fmt"
	"strings"
	"testing"
)

func typeOf(t *testing.T, sqlType string) Type {
	t.Helper()
	n := parseOne(t, "CREATE TABLE x (c "+sqlType+")")
	return TypeFromNode(n.GetCreateStmt().GetTableElts()[0].GetColumnDef().GetTypeName())
}

func TestTypeFromNode(t *testing.T) {
	for _, tc := range []struct {
		in         string
		name       string
		mods       []int32
		dims       int
		sql        string
		formatType string
	}{
		{"int", "int4", nil, 0, "integer", "integer"},
		{"integer", "int4", nil, 0, "integer", "integer"},
		{"int4", "int4", nil, 0, "integer", "integer"},
		{"bigint", "int8", nil, 0, "bigint", "bigint"},
		{"smallint", "int2", nil, 0, "smallint", "smallint"},
		{"real", "float4", nil, 0, "real", "real"},
		{"float", "float8", nil, 0, "double precision", "double precision"},
		{"float(10)", "float4", nil, 0, "real", "real"},
		{"boolean", "bool", nil, 0, "boolean", "boolean"},
		{"varchar(255)", "varchar", []int32{255}, 0, "varchar(255)", "character varying(255)"},
		{"character varying", "varchar", nil, 0, "varchar", "character varying"},
		{"char", "bpchar", []int32{1}, 0, "char(1)", "character(1)"},
		{"char(3)", "bpchar", []int32{3}, 0, "char(3)", "character(3)"},
		{`"char"`, "char", nil, 0, `"char"`, `"char"`},
		{"numeric", "numeric", nil, 0, "numeric", "numeric"},
		{"numeric(10,2)", "numeric", []int32{10, 2}, 0, "numeric(10,2)", "numeric(10,2)"},
		{"decimal(7)", "numeric", []int32{7, 0}, 0, "numeric(7,0)", "numeric(7,0)"},
		{"timestamp", "timestamp", nil, 0, "timestamp", "timestamp without time zone"},
		{"timestamp(3)", "timestamp", []int32{3}, 0, "timestamp(3)", "timestamp(3) without time zone"},
		{"timestamptz", "timestamptz", nil, 0, "timestamptz", "timestamp with time zone"},
		{"timestamp with time zone", "timestamptz", nil, 0, "timestamptz", "timestamp with time zone"},
		{"time(2) with time zone", "timetz", []int32{2}, 0, "timetz(2)", "time(2) with time zone"},
		{"time", "time", nil, 0, "time", "time without time zone"},
		{"interval", "interval", nil, 0, "interval", "interval"},
		{"interval(3)", "interval", []int32{intervalFullRange, 3}, 0, "interval(3)", "interval(3)"},
		{"interval day to second", "interval", []int32{maskDay | maskHour | maskMinute | maskSecond}, 0, "interval day to second", "interval day to second"},
		{"bit", "bit", []int32{1}, 0, "bit(1)", "bit(1)"},
		{"bit varying(5)", "varbit", []int32{5}, 0, "varbit(5)", "bit varying(5)"},
		{"text[]", "text", nil, 1, "text[]", "text[]"},
		{"int[][]", "int4", nil, 2, "integer[][]", "integer[]"},
		{"uuid", "uuid", nil, 0, "uuid", "uuid"},
		{"jsonb", "jsonb", nil, 0, "jsonb", "jsonb"},
		{"bytea", "bytea", nil, 0, "bytea", "bytea"},
		{"date", "date", nil, 0, "date", "date"},
	} {
		got := typeOf(t, tc.in)
		if got.Schema != "pg_catalog" || got.Name != tc.name || fmt.Sprint(got.Mods) != fmt.Sprint(tc.mods) || got.ArrayDims != tc.dims {
			t.Errorf("%s: got %+v, want pg_catalog.%s %v dims %d", tc.in, got, tc.name, tc.mods, tc.dims)
		}
		if got.SQL() != tc.sql {
			t.Errorf("%s: SQL() = %q, want %q", tc.in, got.SQL(), tc.sql)
		}
		if got.FormatType() != tc.formatType {
			t.Errorf("%s: FormatType() = %q, want %q", tc.in, got.FormatType(), tc.formatType)
		}
	}

	user := typeOf(t, "app.mood[]")
	if user.Schema != "app" || user.Name != "mood" || user.ArrayDims != 1 || user.SQL() != "app.mood[]" || user.IsBuiltin() {
		t.Errorf("app.mood[] = %+v %q", user, user.SQL())
	}
	if u := typeOf(t, `"Weird Type"`); u.Schema != "" || u.SQL() != `"Weird Type"` {
		t.Errorf("quoted user type = %+v %q", u, u.SQL())
	}
	if s := typeOf(t, "serial"); s.Name != "serial" {
		t.Errorf("TypeFromNode must leave serial alone for the caller: %+v", s)
	}
	if TypeFromNode(nil).Known() {
		t.Error("nil type must be unknown")
	}
	if !typeOf(t, "varchar(10)").Equal(typeOf(t, "character varying(10)")) || typeOf(t, "varchar(10)").Equal(typeOf(t, "varchar(20)")) {
		t.Error("Equal must compare modifiers")
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"orders":   "orders",
		"_x1":      "_x1",
		"Orders":   `"Orders"`,
		"user":     `"user"`,
		"select":   `"select"`,
		"name":     "name",
		"1abc":     `"1abc"`,
		"a b":      `"a b"`,
		`a"b`:      `"a""b"`,
		"":         `""`,
		"int":      `"int"`,
		"left":     `"left"`,
		"comment":  "comment",
		"café":     `"café"`,
		"order_id": "order_id",
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	tb := &Table{Schema: "Sales", Name: "order"}
	if got := tb.QualifiedName(); got != `"Sales"."order"` {
		t.Errorf("QualifiedName = %s", got)
	}
}

func TestMakeObjectName(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tc := range []struct{ n1, n2, label, want string }{
		{"orders", "", "pkey", "orders_pkey"},
		{"orders", "user_id", "fkey", "orders_user_id_fkey"},
		{strings.Repeat("t", 60), "col", "key", strings.Repeat("t", 55) + "_col_key"},
		{"tab", long, "idx", "tab_" + strings.Repeat("a", 55) + "_idx"},
		{strings.Repeat("t", 40), strings.Repeat("c", 40), "check", strings.Repeat("t", 28) + "_" + strings.Repeat("c", 28) + "_check"},
		// Truncation never splits a multi-byte character.
		{strings.Repeat("é", 40), "", "pkey", strings.Repeat("é", 29) + "_pkey"},
	} {
		got := makeObjectName(tc.n1, tc.n2, tc.label)
		if got != tc.want {
			t.Errorf("makeObjectName(%d bytes, %d bytes, %s) = %s, want %s", len(tc.n1), len(tc.n2), tc.label, got, tc.want)
		}
		if len(got) > maxIdentLen {
			t.Errorf("%s is longer than %d bytes", got, maxIdentLen)
		}
	}
	if got := indexColumnNames([]string{"a", "a", "expr", "expr"}); strings.Join(got, ",") != "a,a1,expr,expr1" {
		t.Errorf("indexColumnNames = %v", got)
	}
}

func TestSplitHelpers(t *testing.T) {
	if got := splitSearchPath(`app, "My Schema" ,PUBLIC`); strings.Join(got, "|") != "app|My Schema|public" {
		t.Errorf("splitSearchPath = %q", got)
	}
	if s, n := splitQualifiedName(`App."Seq""s"`); s != "app" || n != `Seq"s` {
		t.Errorf("splitQualifiedName = %q %q", s, n)
	}
}
