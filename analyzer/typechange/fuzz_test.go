package typechange

import (
	"encoding/binary"
	"testing"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

func fuzzMods(b []byte) []int32 {
	var m []int32
	for len(b) >= 4 && len(m) < 4 {
		m = append(m, int32(binary.LittleEndian.Uint32(b)))
		b = b[4:]
	}
	return m
}

func fuzzUsing(s string) *pg_query.Node {
	if s == "" || len(s) > 300 {
		return nil
	}
	res, err := pg_query.Parse("SELECT " + s)
	if err != nil || len(res.GetStmts()) != 1 {
		return nil
	}
	targets := res.GetStmts()[0].GetStmt().GetSelectStmt().GetTargetList()
	if len(targets) == 0 {
		return nil
	}
	return targets[0].GetResTarget().GetVal()
}

func le(v ...int32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// FuzzClassify feeds arbitrary type names, modifiers, array dimensions,
// USING expressions, versions and time zones: Classify must always answer.
func FuzzClassify(f *testing.F) {
	f.Add("pg_catalog", "varchar", le(255), 0, "pg_catalog", "varchar", le(50), 0, "left(c, 50)", 15, "UTC")
	f.Add("pg_catalog", "numeric", le(10, 2), 0, "pg_catalog", "numeric", le(3, 5), 0, "round(c, -2)", 15, "")
	f.Add("pg_catalog", "interval", le(7168, 3), 0, "pg_catalog", "interval", le(-1, 99), 0, "", 11, "")
	f.Add("pg_catalog", "timestamp", le(9), 0, "pg_catalog", "timestamptz", le(), 0, "c AT TIME ZONE 'UTC'", 12, "<+00>-00")
	f.Add("", "mood", le(), 1, "", "dv", le(), 2, "c::text::dv", 17, "Etc/GMT+0")
	f.Add("", "dts", le(), 0, "", "dpos", le(7), 0, "trunc(c)::numeric(2,-3)", 0, "0:00")
	f.Add("pg_catalog", "bit", le(-5), 0, "pg_catalog", "varbit", le(2147483647), 0, "rpad(c, 3, 'x')", 14, "x")
	f.Add("", "", le(), -3, "public", "citext", le(1, 2, 3, 4), 0, "substring(c from 1 for 0)", 99, "abc+")
	cat := catalog.New()
	if err := cat.ApplySQL("setup.sql", setupSQL); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, oldSchema, oldName string, oldMods []byte, oldDims int, newSchema, newName string, newMods []byte, newDims int, using string, version int, tz string) {
		old := catalog.Type{Schema: oldSchema, Name: oldName, Mods: fuzzMods(oldMods), ArrayDims: oldDims}
		new := catalog.Type{Schema: newSchema, Name: newName, Mods: fuzzMods(newMods), ArrayDims: newDims}
		opt := Options{PostgresVersion: version, Using: fuzzUsing(using), TimeZone: tz}
		if version%2 == 0 {
			opt.Catalog = cat
			opt.Column = "c"
		}
		v := Classify(old, new, opt)
		switch v.Effect {
		case Metadata, IndexRebuild, Rewrite:
		default:
			t.Fatalf("Effect %q", v.Effect)
		}
		if v.Reason == "" {
			t.Fatalf("empty Reason for %+v -> %+v", old, new)
		}
		if v.NoImplicitCast && v.Effect != Rewrite {
			t.Fatalf("NoImplicitCast with Effect %s", v.Effect)
		}
	})
}
