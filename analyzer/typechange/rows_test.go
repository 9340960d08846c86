package typechange

import (
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// setupSQL creates the user types the rows use, both in the catalog for
// Classify and in the throwaway database of the PostgreSQL test.
const setupSQL = `
CREATE TYPE mood AS ENUM ('ok', 'sad', 'meh');
CREATE TYPE mood2 AS ENUM ('ok');
CREATE DOMAIN dtext AS text;
CREATE DOMAIN dcheck AS text CHECK (length(VALUE) < 10);
CREATE DOMAIN dnn AS text NOT NULL;
CREATE DOMAIN dv AS varchar(10);
CREATE DOMAIN dpos AS int CHECK (VALUE > 0);
CREATE DOMAIN dts AS timestamptz;
`

// row is one ALTER COLUMN c TYPE case: what Classify must answer, and the
// data that lets the PostgreSQL test check every part of the answer.
type row struct {
	old, new, using, tz string
	ver                 int // 0: 15, and the row runs on the real server

	effect            Effect
	narrowing, noCast bool
	fails, loss       string

	fit     []string    // SQL values that survive the ALTER unchanged
	bad     []string    // each alone makes the ALTER fail
	collide []string    // together, under a unique index, make it fail
	btree   bool        // a plain btree index on the column makes it fail
	noIndex bool        // no btree index on the column in the main run
	lossy   [][2]string // SQL value and its text after the ALTER (TimeZone UTC)
	// unmeasured says why the row cannot run on the test server.
	unmeasured string
}

func xs(n int) string { return "'" + strings.Repeat("x", n) + "'" }

const (
	int4Range      = "values outside -2147483648..2147483647"
	tzRead         = "existing values are read as local time in the session TimeZone"
	tzDrop         = "the time zone is dropped: values become local time in the session TimeZone"
	uniqueSpaces   = "a unique index on the column holds values that differ only in trailing spaces"
	uniqueCase     = "a unique index on the column holds values that differ only in letter case"
	float8Rounding = "values are rounded to 15 significant digits"
)

var rows = []row{
	// Identical types.
	{old: "varchar(100)", new: "character varying(100)", effect: Metadata, fit: []string{"'a'"}},
	{old: "numeric(10,2)", new: "decimal(10,2)", effect: Metadata, fit: []string{"1.5"}},

	// varchar, text, char, citext, name among themselves.
	{old: "varchar(100)", new: "varchar(255)", effect: Metadata, fit: []string{"'abc'"}},
	{old: "varchar(255)", new: "varchar(50)", effect: Rewrite, narrowing: true,
		fails: "values longer than 50 characters", fit: []string{xs(50)}, bad: []string{xs(51)}},
	{old: "varchar(255)", new: "varchar(50)", using: "c::varchar(50)", effect: Rewrite, narrowing: true,
		loss: "values longer than 50 characters are cut to 50", fit: []string{xs(50)}, lossy: [][2]string{{xs(80), strings.Repeat("x", 50)}}},
	{old: "varchar(255)", new: "varchar(50)", using: "CAST(c AS varchar(50))", effect: Rewrite, narrowing: true,
		loss: "values longer than 50 characters are cut to 50", fit: []string{xs(50)}, lossy: [][2]string{{xs(80), strings.Repeat("x", 50)}}},
	{old: "varchar(255)", new: "varchar(50)", using: "left(c, 50)", effect: Rewrite, narrowing: true,
		loss: "values longer than 50 characters are cut to 50", fit: []string{xs(50)}, lossy: [][2]string{{xs(80), strings.Repeat("x", 50)}}},
	{old: "varchar(255)", new: "varchar(50)", using: "substring(c from 1 for 50)", effect: Rewrite, narrowing: true,
		loss: "values longer than 50 characters are cut to 50", fit: []string{xs(50)}, lossy: [][2]string{{xs(80), strings.Repeat("x", 50)}}},
	{old: "varchar(255)", new: "varchar(50)", using: "substr(c, 1, 40)", effect: Rewrite, narrowing: true,
		loss: "values longer than 40 characters are cut to 40", fit: []string{xs(40)}, lossy: [][2]string{{xs(45), strings.Repeat("x", 40)}}},
	{old: "varchar(255)", new: "varchar(50)", using: "left(c, 60)", effect: Rewrite, narrowing: true,
		fails: "values longer than 50 characters", fit: []string{xs(50)}, bad: []string{xs(55)}},
	{old: "varchar(255)", new: "varchar(50)", using: "c::varchar(60)", effect: Rewrite, narrowing: true,
		fails: "values longer than 50 characters", fit: []string{xs(50)}, bad: []string{xs(70)}},
	{old: "varchar(255)", new: "varchar(50)", using: "rpad(c, 50)", effect: Rewrite, narrowing: true,
		loss: "values are padded with spaces or cut to exactly 50 characters", fit: []string{xs(50)},
		lossy: [][2]string{{"'abc'", "abc" + strings.Repeat(" ", 47)}, {xs(60), strings.Repeat("x", 50)}}},
	{old: "varchar(100)", new: "text", effect: Metadata, fit: []string{"'abc'"}},
	{old: "varchar(100)", new: "varchar", effect: Metadata, fit: []string{"'abc'"}},
	{old: "text", new: "varchar(255)", effect: Rewrite, narrowing: true,
		fails: "values longer than 255 characters", fit: []string{xs(255)}, bad: []string{xs(256)}},
	{old: "text", new: "varchar", effect: Metadata, fit: []string{"'abc'"}},
	{old: "varchar", new: "varchar(10)", effect: Rewrite, narrowing: true,
		fails: "values longer than 10 characters", fit: []string{xs(10)}, bad: []string{xs(11)}},
	{old: "varchar(10)", new: "text", using: "c::text", effect: Metadata, fit: []string{"'abc'"}},
	{old: "varchar(10)", new: "varchar(20)", using: "c", effect: Metadata, fit: []string{"'abc'"}},
	{old: "varchar(10)", new: "varchar(20)", using: "lower(c)", effect: Rewrite, fit: []string{"'abc'"}},
	{old: "varchar(10)", new: "varchar(20)", using: "o::varchar(20)", effect: Rewrite, fit: []string{"'abc'"}},
	{old: "varchar(10)", new: "varchar(20)", using: `c COLLATE "C"`, effect: Metadata, fit: []string{"'abc'"}},
	{old: "varchar(10)", new: "text", using: `c::text COLLATE "C"`, effect: Metadata, fit: []string{"'abc'"}},
	{old: "text", new: "varchar(20)", using: "c::varchar(20)::text", effect: Rewrite, narrowing: true,
		loss: "values longer than 20 characters are cut to 20", fit: []string{xs(20)}, lossy: [][2]string{{xs(30), strings.Repeat("x", 20)}}},
	{old: "char(5)", new: "char(10)", effect: Rewrite, fit: []string{"'abc'"}},
	{old: "char(10)", new: "char(5)", effect: Rewrite, narrowing: true,
		fails: "values longer than 5 characters (not counting trailing spaces)", fit: []string{"'abc'"}, bad: []string{"'abcdef'"}},
	{old: "char(5)", new: "varchar(10)", effect: Rewrite, fit: []string{"'abc'"}},
	{old: "char(5)", new: "text", effect: Rewrite, fit: []string{"'abc'"}},
	{old: "char(10)", new: "varchar(5)", effect: Rewrite, narrowing: true,
		fails: "values longer than 5 characters", fit: []string{"'abc'"}, bad: []string{"'abcdef'"}},
	{old: "varchar(5)", new: "char(10)", effect: Rewrite,
		fails: uniqueSpaces, fit: []string{"'abc'"}, collide: []string{"'a'", "'a '"}},
	{old: "text", new: "bpchar", effect: IndexRebuild,
		fails: uniqueSpaces, fit: []string{"'abc'"}, collide: []string{"'a'", "'a  '"}},
	{old: "varchar(5)", new: "bpchar", effect: IndexRebuild,
		fails: uniqueSpaces, fit: []string{"'abc'"}, collide: []string{"'a'", "'a  '"}},
	{old: "text", new: "char(3)", effect: Rewrite, narrowing: true,
		fails: "values longer than 3 characters; " + uniqueSpaces, fit: []string{"'abc'"},
		bad: []string{"'abcd'"}, collide: []string{"'a'", "'a '"}},
	{old: "text", new: "citext", effect: IndexRebuild,
		fails: uniqueCase, fit: []string{"'abc'"}, collide: []string{"'A'", "'a'"}},
	{old: "citext", new: "text", effect: IndexRebuild, fit: []string{"'abc'"}},
	{old: "varchar(10)", new: "citext", effect: IndexRebuild,
		fails: uniqueCase, fit: []string{"'abc'"}, collide: []string{"'A'", "'a'"}},
	{old: "citext", new: "varchar(10)", effect: Rewrite, narrowing: true,
		fails: "values longer than 10 characters", fit: []string{"'abc'"}, bad: []string{xs(11)}},
	{old: "citext", new: "varchar", effect: IndexRebuild, fit: []string{"'abc'"}},
	{old: "name", new: "text", effect: Rewrite, fit: []string{"'abc'"}},
	{old: "text", new: "name", effect: Rewrite, narrowing: true,
		loss: "values longer than 63 bytes are cut to 63 bytes", fit: []string{"'abc'"}, lossy: [][2]string{{xs(70), strings.Repeat("x", 63)}}},

	// Integers.
	{old: "int", new: "bigint", effect: Rewrite, fit: []string{"1"}},
	{old: "smallint", new: "int", effect: Rewrite, fit: []string{"1"}},
	{old: "bigint", new: "int", effect: Rewrite, narrowing: true, fails: int4Range, fit: []string{"2147483647"}, bad: []string{"2147483648"}},
	{old: "int", new: "smallint", effect: Rewrite, narrowing: true, fails: "values outside -32768..32767", fit: []string{"-32768"}, bad: []string{"40000"}},
	{old: "int", new: "numeric", effect: Rewrite, fit: []string{"2147483647"}},
	{old: "int", new: "numeric(5,0)", effect: Rewrite, narrowing: true,
		fails: "values with more than 5 digits before the decimal point", fit: []string{"99999"}, bad: []string{"123456"}},
	{old: "int", new: "numeric(12,2)", effect: Rewrite, fit: []string{"2147483647"}},
	{old: "bigint", new: "float8", effect: Rewrite, narrowing: true,
		loss: "integers beyond ±9007199254740992 are rounded to the nearest double precision value", fit: []string{"9007199254740992"},
		lossy: [][2]string{{"9007199254740993", "9.007199254740992e+15"}}},
	{old: "int", new: "real", effect: Rewrite, narrowing: true,
		loss: "integers beyond ±16777216 are rounded to the nearest real value", fit: []string{"16777216"},
		lossy: [][2]string{{"16777217", "1.6777216e+07"}}},
	{old: "int", new: "float8", effect: Rewrite, fit: []string{"2147483647"}},
	{old: "smallint", new: "real", effect: Rewrite, fit: []string{"32767"}},
	{old: "int", new: "money", effect: Rewrite, fit: []string{"1"}},
	{old: "bigint", new: "money", effect: Rewrite, narrowing: true,
		fails: "values beyond ±92233720368547758", fit: []string{"1"}, bad: []string{"9223372036854775807"}},
	{old: "money", new: "numeric", effect: Rewrite, fit: []string{"1"}},

	// numeric.
	{old: "numeric(10,2)", new: "numeric(12,2)", effect: Metadata, fit: []string{"12345678.91"}},
	{old: "numeric(10,2)", new: "numeric", effect: Metadata, fit: []string{"12345678.91"}},
	{old: "numeric(10,2)", new: "numeric(10,1)", effect: Rewrite, narrowing: true,
		loss: "values are rounded to 1 decimal place", fit: []string{"99999999.9"},
		lossy: [][2]string{{"123.45", "123.5"}, {"99999999.99", "100000000.0"}}},
	{old: "numeric(10,2)", new: "numeric(5,1)", effect: Rewrite, narrowing: true,
		fails: "values with more than 4 digits before the decimal point", loss: "values are rounded to 1 decimal place",
		fit: []string{"9999.9"}, bad: []string{"99999999.99"}, lossy: [][2]string{{"123.45", "123.5"}}},
	{old: "numeric(10,2)", new: "numeric(9,1)", effect: Rewrite, narrowing: true,
		fails: "values with more than 8 digits before the decimal point after rounding to 1 decimal place", loss: "values are rounded to 1 decimal place",
		fit: []string{"99999999.9"}, bad: []string{"99999999.99"}, lossy: [][2]string{{"123.45", "123.5"}}},
	{old: "numeric(10,2)", new: "numeric(9,2)", effect: Rewrite, narrowing: true,
		fails: "values with more than 7 digits before the decimal point", fit: []string{"9999999.99"}, bad: []string{"12345678.9"}},
	{old: "numeric(10,2)", new: "numeric(12,4)", effect: Rewrite, fit: []string{"12345678.91"}},
	{old: "numeric", new: "numeric(10,2)", effect: Rewrite, narrowing: true,
		fails: "values with more than 8 digits before the decimal point; infinite values", loss: "values are rounded to 2 decimal places",
		fit: []string{"12345678.91"}, bad: []string{"1e20", "'Infinity'"}, lossy: [][2]string{{"1.555", "1.56"}}},
	{old: "numeric", new: "numeric(10,2)", ver: 11, effect: Rewrite, narrowing: true,
		fails: "values with more than 8 digits before the decimal point", loss: "values are rounded to 2 decimal places"},
	{old: "numeric(10,2)", new: "int", effect: Rewrite, narrowing: true,
		fails: "NaN values", loss: "fractional parts are rounded to the nearest integer (halves away from zero)",
		fit: []string{"12345678"}, bad: []string{"'NaN'"}, lossy: [][2]string{{"2.5", "3"}, {"-2.5", "-3"}}},
	{old: "numeric", new: "bigint", effect: Rewrite, narrowing: true,
		fails: "values outside -9223372036854775808..9223372036854775807, NaN or infinity", loss: "fractional parts are rounded to the nearest integer (halves away from zero)",
		fit: []string{"9223372036854775807"}, bad: []string{"1e30", "'NaN'", "'-Infinity'"}, lossy: [][2]string{{"0.5", "1"}}},
	{old: "numeric", new: "bigint", ver: 11, effect: Rewrite, narrowing: true,
		fails: "values outside -9223372036854775808..9223372036854775807, or NaN", loss: "fractional parts are rounded to the nearest integer (halves away from zero)"},
	{old: "numeric(10,2)", new: "float8", effect: Rewrite, fit: []string{"12345678.91"}},
	{old: "numeric", new: "float8", effect: Rewrite, narrowing: true,
		fails: "values beyond the double precision range (about ±1e308)", loss: "values are rounded to about 15 significant digits",
		fit: []string{"1.5"}, bad: []string{"1e400"}, lossy: [][2]string{{"0.12345678901234567890", "0.12345678901234568"}}},
	{old: "float8", new: "numeric", effect: Rewrite,
		loss: float8Rounding, fit: []string{"1.5", "'Infinity'", "'NaN'"}, lossy: [][2]string{{"0.30000000000000004", "0.3"}}},
	{old: "float8", new: "numeric", ver: 11, effect: Rewrite, narrowing: true, fails: "infinite values", loss: float8Rounding},
	{old: "real", new: "numeric", effect: Rewrite,
		loss: "values are rounded to 6 significant digits", fit: []string{"1.5"}, lossy: [][2]string{{"1.2345678", "1.23457"}}},
	{old: "float8", new: "numeric(10,2)", effect: Rewrite, narrowing: true,
		fails: "values with more than 8 digits before the decimal point; infinite values", loss: float8Rounding + "; values are rounded to 2 decimal places",
		fit: []string{"1.5", "'NaN'"}, bad: []string{"1e20", "'Infinity'"}, lossy: [][2]string{{"1.555", "1.56"}, {"0.30000000000000004", "0.30"}}},
	{old: "real", new: "float8", effect: Rewrite, fit: []string{"1.5"}},
	{old: "float8", new: "real", effect: Rewrite, narrowing: true,
		fails: "values beyond the real range (magnitude above about 3.4e38, or non-zero below about 1.4e-45)", loss: "values are rounded to about 6 significant digits",
		fit: []string{"1.5"}, bad: []string{"1e300", "1e-50"}, lossy: [][2]string{{"1.23456789", "1.2345679"}}},
	{old: "float8", new: "int", effect: Rewrite, narrowing: true,
		fails: int4Range + ", NaN or infinity", loss: "fractional parts are rounded to the nearest integer (halves to even)",
		fit: []string{"2"}, bad: []string{"'NaN'", "1e10", "'Infinity'"}, lossy: [][2]string{{"2.5", "2"}, {"3.5", "4"}}},
	{old: "float8", new: "int", using: "trunc(c)", effect: Rewrite, narrowing: true,
		fails: int4Range + ", NaN or infinity", loss: "fractional parts are truncated",
		fit: []string{"2"}, bad: []string{"1e10"}, lossy: [][2]string{{"2.7", "2"}}},
	{old: "numeric(10,2)", new: "int", using: "trunc(c)", effect: Rewrite, narrowing: true,
		fails: "NaN values", loss: "values are truncated to whole numbers",
		fit: []string{"2"}, bad: []string{"'NaN'"}, lossy: [][2]string{{"2.7", "2"}}},
	{old: "numeric(10,2)", new: "numeric(10,1)", using: "round(c, 1)", effect: Rewrite, narrowing: true,
		loss: "values are rounded to 1 decimal place", fit: []string{"2.5"}, lossy: [][2]string{{"2.75", "2.8"}}},

	// Booleans, text and other conversions through text.
	{old: "int", new: "boolean", effect: Rewrite, noCast: true, fit: []string{"1"}},
	{old: "int", new: "boolean", using: "c <> 0", effect: Rewrite, fit: []string{"1"}},
	{old: "int", new: "boolean", using: "c::boolean", effect: Rewrite, fit: []string{"1"}},
	{old: "boolean", new: "int", effect: Rewrite, noCast: true, fit: []string{"true"}},
	{old: "boolean", new: "text", effect: Rewrite, fit: []string{"true"}},
	{old: "int", new: "text", effect: Rewrite, fit: []string{"1"}},
	{old: "int", new: "varchar(5)", effect: Rewrite, narrowing: true,
		fails: "values whose text form is longer than 5 characters", fit: []string{"12345"}, bad: []string{"123456"}},
	{old: "int", new: "varchar(11)", effect: Rewrite, fit: []string{"-2147483648"}},
	{old: "text", new: "int", effect: Rewrite, noCast: true, fit: []string{"'1'"}},
	{old: "text", new: "int", using: "c::integer", effect: Rewrite, narrowing: true,
		fails: "values that are not valid integer input", fit: []string{"'1'"}, bad: []string{"'x'"}},
	{old: "text", new: "int", using: "c::bigint", effect: Rewrite, narrowing: true,
		fails: "values that are not valid bigint input; " + int4Range, fit: []string{"'1'"}, bad: []string{"'x'", "'3000000000'"}},
	{old: "text", new: "jsonb", effect: Rewrite, noCast: true, fit: []string{"'{}'"}},
	{old: "text", new: "jsonb", using: "c::jsonb", effect: Rewrite, narrowing: true,
		fails: "values that are not valid jsonb input", fit: []string{"'{}'"}, bad: []string{"'{'"}},
	{old: "uuid", new: "text", effect: Rewrite, fit: []string{"'00000000-0000-0000-0000-000000000000'"}},
	{old: "text", new: "uuid", effect: Rewrite, noCast: true, fit: []string{"'00000000-0000-0000-0000-000000000000'"}},
	{old: "bytea", new: "text", effect: Rewrite, fit: []string{"'ab'"}},
	{old: "int", new: "uuid", using: "c::uuid", effect: Rewrite,
		fails: "always: PostgreSQL has no cast from integer to uuid", fit: []string{"1"}},

	// json and xml.
	{old: "json", new: "jsonb", effect: Rewrite, narrowing: true, noIndex: true,
		fails: `values containing the \u0000 escape`, loss: "duplicate object keys keep only their last value, and key order and whitespace are not kept",
		fit: []string{`'{"a": 1}'`}, bad: []string{`'{"a": "\u0000"}'`}, lossy: [][2]string{{`'{"b":1,  "a":1,"a":2}'`, `{"a": 2, "b": 1}`}}},
	{old: "jsonb", new: "json", effect: Rewrite, noIndex: true,
		fails: "the column has a btree index (json has no btree operator class)", fit: []string{`'{"a": 1}'`}, btree: true},
	{old: "xml", new: "text", effect: Metadata, noIndex: true, fit: []string{"'<a/>'"}},
	{old: "text", new: "xml", effect: Rewrite, noCast: true, fit: []string{"'<a/>'"}},

	// Timestamps and times.
	{old: "timestamp", new: "timestamptz", tz: "UTC", effect: IndexRebuild, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "timestamp", new: "timestamptz", tz: "UTC", ver: 11, effect: Rewrite, loss: tzRead},
	{old: "timestamp", new: "timestamptz", tz: "Etc/UTC", effect: IndexRebuild, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "timestamp", new: "timestamptz", tz: "America/New_York", effect: Rewrite, loss: tzRead,
		fit: []string{"'infinity'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 16:00:00+00"}}},
	{old: "timestamp", new: "timestamptz", tz: "Europe/London", effect: Rewrite, loss: tzRead,
		fit: []string{"'infinity'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 11:00:00+00"}}},
	{old: "timestamp", new: "timestamptz", effect: Rewrite, loss: tzRead,
		fit: []string{"'infinity'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 16:00:00+00"}}},
	{old: "timestamp", new: "timestamptz", using: "c AT TIME ZONE 'UTC'", tz: "UTC", effect: Rewrite,
		fit: []string{"'2024-01-01'"}},
	{old: "timestamp", new: "timestamptz", using: "c::timestamptz", tz: "UTC", effect: IndexRebuild, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "timestamptz", new: "timestamp", tz: "UTC", effect: IndexRebuild, narrowing: true, loss: tzDrop,
		fit: []string{"'2024-01-01 00:00+00'"}, lossy: [][2]string{{"'2024-06-01 12:00+02'", "2024-06-01 10:00:00"}}},
	{old: "timestamptz", new: "timestamp", tz: "UTC", ver: 11, effect: Rewrite, narrowing: true, loss: tzDrop},
	{old: "timestamptz", new: "timestamp", tz: "America/New_York", effect: Rewrite, narrowing: true, loss: tzDrop,
		fit: []string{"'infinity'"}, lossy: [][2]string{{"'2024-06-01 12:00+00'", "2024-06-01 08:00:00"}}},
	{old: "timestamp(3)", new: "timestamptz(3)", tz: "UTC", effect: Rewrite, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "timestamp(3)", new: "timestamptz", tz: "UTC", effect: IndexRebuild, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "timestamp(3)", new: "timestamptz(6)", tz: "UTC", effect: IndexRebuild, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "timestamp", new: "timestamptz(3)", tz: "UTC", effect: Rewrite, narrowing: true,
		loss: tzRead + "; fractional seconds beyond 3 digits are rounded",
		fit:  []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}, {"'2024-06-01 12:00:00.123456'", "2024-06-01 12:00:00.123+00"}}},
	{old: "timestamp(6)", new: "timestamp(3)", effect: Rewrite, narrowing: true,
		loss: "fractional seconds beyond 3 digits are rounded",
		fit:  []string{"'2024-01-01 10:00:00.123'"}, lossy: [][2]string{{"'2024-01-01 10:00:00.123456'", "2024-01-01 10:00:00.123"}}},
	{old: "timestamp(3)", new: "timestamp(6)", effect: Metadata, fit: []string{"'2024-01-01 10:00:00.123'"}},
	{old: "timestamp(3)", new: "timestamp", effect: Metadata, fit: []string{"'2024-01-01 10:00:00.123'"}},
	{old: "timestamp", new: "timestamp(6)", effect: Metadata, fit: []string{"'2024-01-01 10:00:00.123456'"}},
	{old: "timestamp", new: "timestamp(9)", effect: Metadata, fit: []string{"'2024-01-01 10:00:00.123456'"}},
	{old: "timestamp", new: "timestamp(0)", effect: Rewrite, narrowing: true,
		loss: "fractional seconds are rounded to whole seconds",
		fit:  []string{"'2024-01-01 10:00:00'"}, lossy: [][2]string{{"'2024-01-01 10:00:00.6'", "2024-01-01 10:00:01"}}},
	{old: "timestamptz(2)", new: "timestamptz(4)", effect: Metadata, fit: []string{"'2024-01-01 10:00:00.12+00'"}},
	{old: "time(3)", new: "time(6)", effect: Metadata, fit: []string{"'10:00'"}},
	{old: "time", new: "time(0)", effect: Rewrite, narrowing: true,
		loss: "fractional seconds are rounded to whole seconds", fit: []string{"'10:00'"}, lossy: [][2]string{{"'10:00:00.6'", "10:00:01"}}},
	{old: "timetz(3)", new: "timetz", effect: Metadata, fit: []string{"'10:00+02'"}},
	{old: "time", new: "timetz", tz: "Asia/Tokyo", effect: Rewrite,
		loss: "values get the session TimeZone's current UTC offset", fit: []string{"'10:00'"}, lossy: [][2]string{{"'10:00'", "10:00:00+09"}}},
	{old: "timetz", new: "time", effect: Rewrite, narrowing: true,
		loss: "the UTC offset is dropped", fit: []string{"'10:00+00'"}, lossy: [][2]string{{"'10:00+02'", "10:00:00"}}},
	{old: "date", new: "timestamp", effect: Rewrite, fit: []string{"'2024-01-01'"}},
	{old: "date", new: "timestamptz", tz: "Asia/Tokyo", effect: Rewrite,
		loss: "dates become midnight local time in the session TimeZone", fit: []string{"'infinity'"}, lossy: [][2]string{{"'2024-01-01'", "2023-12-31 15:00:00+00"}}},
	{old: "timestamp", new: "date", effect: Rewrite, narrowing: true,
		loss: "the time of day is dropped", fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-01-01 10:00'", "2024-01-01"}}},
	{old: "timestamptz", new: "date", tz: "Asia/Tokyo", effect: Rewrite, narrowing: true,
		loss: "the time of day is dropped: values become dates in the session TimeZone", fit: []string{"'infinity'"},
		lossy: [][2]string{{"'2024-01-01 20:00+00'", "2024-01-02"}}},
	{old: "timestamp", new: "time", effect: Rewrite, narrowing: true,
		loss: "the date is dropped", fit: []string{"'2000-01-01 10:00'"}, lossy: [][2]string{{"'2024-01-01 10:00'", "10:00:00"}}},
	{old: "interval", new: "interval(3)", effect: Rewrite, narrowing: true,
		loss: "fractional seconds beyond 3 digits are rounded", fit: []string{"'1 second'"}, lossy: [][2]string{{"'1.23456 second'", "00:00:01.235"}}},
	{old: "interval(3)", new: "interval", effect: Metadata, fit: []string{"'1 second'"}},
	{old: "interval day", new: "interval", effect: Metadata, fit: []string{"'1 day'"}},
	{old: "interval", new: "interval day", effect: Rewrite, narrowing: true,
		loss: "values are truncated to whole days", fit: []string{"'1 day'"}, lossy: [][2]string{{"'1 day 3 hours'", "1 day"}}},
	{old: "interval hour to second(3)", new: "interval day to second(6)", effect: Metadata, fit: []string{"'1 hour'"}},
	{old: "interval day to second(6)", new: "interval day to second(2)", effect: Rewrite, narrowing: true,
		loss: "fractional seconds beyond 2 digits are rounded", fit: []string{"'1 hour'"}, lossy: [][2]string{{"'1.234 second'", "00:00:01.23"}}},
	{old: "interval", new: "time", effect: Rewrite, narrowing: true,
		loss: "only the time of day of each interval is kept: days, months and years are dropped",
		fit:  []string{"'03:00'"}, lossy: [][2]string{{"'1 day 03:00'", "03:00:00"}}},

	// bit strings.
	{old: "bit(5)", new: "bit(8)", effect: Rewrite, narrowing: true,
		fails: "any non-NULL value, because bit(8) accepts exactly 8 bits and the values have 5", fit: []string{"NULL"}, bad: []string{"B'10101'"}},
	{old: "bit(5)", new: "bit(3)", using: "c::bit(3)", effect: Rewrite, narrowing: true,
		loss: "values are cut to 3 bits", fit: []string{"NULL"}, lossy: [][2]string{{"B'10101'", "101"}}},
	{old: "bit(5)", new: "bit(8)", using: "c::bit(8)", effect: Rewrite,
		loss: "values are padded on the right with zero bits to 8 bits", fit: []string{"NULL"}, lossy: [][2]string{{"B'10101'", "10101000"}}},
	{old: "bit(5)", new: "varbit", effect: IndexRebuild, fit: []string{"B'10101'"}},
	{old: "bit(5)", new: "varbit(10)", effect: Rewrite, fit: []string{"B'10101'"}},
	{old: "varbit(5)", new: "varbit(10)", effect: Metadata, fit: []string{"B'101'"}},
	{old: "varbit(10)", new: "varbit(5)", effect: Rewrite, narrowing: true,
		fails: "values longer than 5 bits", fit: []string{"B'10101'"}, bad: []string{"B'101010'"}},
	{old: "varbit(10)", new: "bit(5)", effect: Rewrite, narrowing: true,
		fails: "values that are not exactly 5 bits long", fit: []string{"B'10101'"}, bad: []string{"B'101'"}},
	{old: "varbit", new: "bit(4)", using: "c::bit(4)", effect: Rewrite, narrowing: true,
		loss: "values are padded with zero bits or cut to exactly 4 bits", fit: []string{"B'1010'"},
		lossy: [][2]string{{"B'1'", "1000"}, {"B'101010'", "1010"}}},

	// Network and MAC addresses.
	{old: "cidr", new: "inet", effect: Metadata, fit: []string{"'10.0.0.0/8'"}},
	{old: "inet", new: "cidr", effect: Rewrite, narrowing: true,
		loss: "host bits are zeroed (10.1.2.3/8 becomes 10.0.0.0/8)", fit: []string{"'10.0.0.0/8'"}, lossy: [][2]string{{"'10.1.2.3/8'", "10.0.0.0/8"}}},
	{old: "macaddr", new: "macaddr8", effect: Rewrite, fit: []string{"'08:00:2b:01:02:03'"}},
	{old: "macaddr8", new: "macaddr", effect: Rewrite, narrowing: true,
		fails: "values whose 4th and 5th bytes are not FF:FE", fit: []string{"'08:00:2b:ff:fe:01:02:03'"}, bad: []string{"'08:00:2b:01:02:03:04:05'"}},

	// Enums.
	{old: "varchar(10)", new: "mood", effect: Rewrite, noCast: true, fit: []string{"'ok'"}},
	{old: "text", new: "mood", using: "c::mood", effect: Rewrite, narrowing: true,
		fails: "values that are not labels of mood", fit: []string{"'ok'"}, bad: []string{"'happy'"}},
	{old: "mood", new: "text", effect: Rewrite, fit: []string{"'sad'"}},
	{old: "mood", new: "varchar(2)", effect: Rewrite, narrowing: true,
		fails: "labels longer than 2 characters", fit: []string{"'ok'"}, bad: []string{"'sad'"}},
	{old: "mood", new: "varchar(3)", effect: Rewrite, fit: []string{"'sad'"}},
	{old: "mood", new: "mood", effect: Metadata, fit: []string{"'sad'"}},
	{old: "mood", new: "mood2", effect: Rewrite, noCast: true, fit: []string{"'ok'"}},
	{old: "mood", new: "mood2", using: "c::text::mood2", effect: Rewrite, narrowing: true,
		fails: "values that are not labels of mood2", fit: []string{"'ok'"}, bad: []string{"'sad'"}},

	// Domains: a domain column reads as its base type without the base's
	// typmod; a target domain with constraints is checked by a rewrite.
	{old: "text", new: "dtext", effect: Metadata, fit: []string{"'a'"}},
	{old: "dtext", new: "text", effect: Metadata, fit: []string{"'a'"}},
	{old: "text", new: "dcheck", effect: Rewrite,
		fails: "values that violate the constraints of domain dcheck", fit: []string{"'a'"}, bad: []string{xs(10)}},
	{old: "text", new: "dnn", effect: Rewrite,
		fails: "values that violate the constraints of domain dnn", fit: []string{"'a'"}, bad: []string{"NULL"}},
	{old: "dcheck", new: "text", effect: Metadata, fit: []string{"'a'"}},
	{old: "varchar(5)", new: "dv", effect: Metadata, fit: []string{"'a'"}},
	{old: "varchar(20)", new: "dv", effect: Rewrite, narrowing: true,
		fails: "values longer than 10 characters", fit: []string{"'a'"}, bad: []string{xs(11)}},
	{old: "dv", new: "varchar(20)", effect: Rewrite, fit: []string{"'a'"}},
	{old: "dv", new: "citext", effect: IndexRebuild, fails: uniqueCase, fit: []string{"'b'"}, collide: []string{"'A'", "'a'"}},
	{old: "int", new: "dpos", effect: Rewrite,
		fails: "values that violate the constraints of domain dpos", fit: []string{"1"}, bad: []string{"0"}},
	{old: "timestamp", new: "dts", tz: "UTC", effect: IndexRebuild, loss: tzRead,
		fit: []string{"'2024-01-01'"}, lossy: [][2]string{{"'2024-06-01 12:00'", "2024-06-01 12:00:00+00"}}},
	{old: "nosuchdomain", new: "text", effect: Rewrite, unmeasured: "a type the catalog does not know is only classified conservatively"},

	// Arrays: PostgreSQL rewrites every array change, even binary-coercible ones.
	{old: "int[]", new: "int[][]", effect: Metadata, fit: []string{"'{1}'"}},
	{old: "int[]", new: "bigint[]", effect: Rewrite, fit: []string{"'{1}'"}},
	{old: "bigint[]", new: "int[]", effect: Rewrite, narrowing: true, fails: int4Range, fit: []string{"'{1}'"}, bad: []string{"'{3000000000}'"}},
	{old: "varchar(10)[]", new: "varchar(20)[]", effect: Rewrite, fit: []string{"'{a}'"}},
	{old: "varchar[]", new: "text[]", effect: Rewrite, fit: []string{"'{a}'"}},
	{old: "text[]", new: "varchar(3)[]", effect: Rewrite, narrowing: true,
		fails: "values longer than 3 characters", fit: []string{"'{abc}'"}, bad: []string{"'{abcd}'"}},
	{old: "int[]", new: "text", effect: Rewrite, fit: []string{"'{1}'"}},
	{old: "text", new: "int[]", effect: Rewrite, noCast: true, fit: []string{"'{1}'"}},
	{old: "int", new: "int[]", effect: Rewrite, noCast: true, fit: []string{"1"}},

	// Unknown and extension types.
	{old: "hstore", new: "text", effect: Rewrite, fit: []string{"'a=>1'"}},
	{old: "text", new: "hstore", effect: Rewrite, unmeasured: "an extension type's casts are not known, so only a conservative rewrite is claimed"},
	{old: "geometry", new: "geography", effect: Rewrite, unmeasured: "PostGIS is not installed on the test server"},
}

// classifyRow parses the row as a migration would spell it and classifies it.
func classifyRow(t testing.TB, r row, cat *catalog.Catalog) Verdict {
	t.Helper()
	oldT, newT, using := parseRow(t, r)
	v := r.ver
	if v == 0 {
		v = 15
	}
	return Classify(oldT, newT, Options{PostgresVersion: v, Using: using, TimeZone: r.tz, Column: "c", Catalog: cat})
}

func parseRow(t testing.TB, r row) (catalog.Type, catalog.Type, *pg_query.Node) {
	t.Helper()
	sql := "CREATE TABLE t (c " + r.old + "); ALTER TABLE t ALTER COLUMN c TYPE " + r.new
	if r.using != "" {
		sql += " USING " + r.using
	}
	res, err := pg_query.Parse(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	col := res.GetStmts()[0].GetStmt().GetCreateStmt().GetTableElts()[0].GetColumnDef()
	def := res.GetStmts()[1].GetStmt().GetAlterTableStmt().GetCmds()[0].GetAlterTableCmd().GetDef().GetColumnDef()
	return catalog.TypeFromNode(col.GetTypeName()), catalog.TypeFromNode(def.GetTypeName()), def.GetRawDefault()
}

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c := catalog.New()
	if err := c.ApplySQL("setup.sql", setupSQL); err != nil {
		t.Fatal(err)
	}
	return c
}

func (r row) name() string {
	s := r.old + " -> " + r.new
	if r.using != "" {
		s += " USING " + r.using
	}
	if r.tz != "" {
		s += " TimeZone=" + r.tz
	}
	if r.ver != 0 {
		s += " PG" + itoa(int64(r.ver))
	}
	return s
}

func TestClassifyTable(t *testing.T) {
	cat := testCatalog(t)
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.name()] {
			t.Errorf("duplicate row %s", r.name())
		}
		seen[r.name()] = true
		t.Run(r.name(), func(t *testing.T) {
			got := classifyRow(t, r, cat)
			want := Verdict{Effect: r.effect, Narrowing: r.narrowing, FailsWhen: r.fails, SilentLoss: r.loss, NoImplicitCast: r.noCast, Reason: got.Reason}
			if got != want {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
			if got.Reason == "" {
				t.Error("empty Reason")
			}
		})
	}
}

// Version-dependent rows must be listed at 11 and at 15.
func TestVersionRowsComeInPairs(t *testing.T) {
	key := func(r row) string { r.ver = 0; return r.name() }
	at15 := map[string]bool{}
	for _, r := range rows {
		if r.ver == 0 {
			at15[key(r)] = true
		}
	}
	for _, r := range rows {
		if r.ver != 0 && !at15[key(r)] {
			t.Errorf("%s has no PostgreSQL 15 row", r.name())
		}
	}
}

// Without the catalog, enums and domains are user types this package
// cannot see into: the answer is a conservative rewrite that says so.
func TestUserTypesWithoutCatalog(t *testing.T) {
	for _, r := range []row{
		{old: "dtext", new: "text"},
		{old: "text", new: "dtext"},
		{old: "mood", new: "text"},
		{old: "varchar(10)", new: "mood"},
		{old: "dv", new: "citext"},
	} {
		v := classifyRow(t, r, nil)
		if v.Effect != Rewrite || v.Narrowing || v.NoImplicitCast || v.FailsWhen != "" || v.SilentLoss != "" || !strings.Contains(v.Reason, "not known") {
			t.Errorf("%s: %+v", r.name(), v)
		}
	}
}
