// Package typechange says what PostgreSQL does to a table when a migration
// runs ALTER TABLE ... ALTER COLUMN ... TYPE: whether it only edits the
// catalog, rebuilds the column's indexes, or rewrites the whole table, and
// which existing values make the statement fail or change silently.
//
// The rules follow PostgreSQL's own code paths (pg_cast, the length
// coercion support functions, ATColumnChangeRequiresRewrite and
// CheckIndexCompatible) and every row of the test table is checked
// against a running PostgreSQL 15.
package typechange

import (
	"fmt"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Effect is what the ALTER does to the table's files.
type Effect string

const (
	// Metadata: catalog only, no rewrite, no scan, indexes kept
	// (binary-coercible changes such as varchar(100) -> varchar(255),
	// varchar -> text, numeric(10,2) -> numeric(12,2)). Three things
	// still cost time under ACCESS EXCLUSIVE (all measured): expression
	// and partial indexes that use the column are rebuilt, because
	// PostgreSQL never reuses them across a type change; CHECK constraints
	// that use the column are re-validated with a full scan; a foreign key
	// on the column is re-validated only when the equality operator
	// changes, which happens with IndexRebuild changes, not Metadata ones.
	Metadata Effect = "metadata"
	// IndexRebuild: the heap is kept but the indexes on the column are
	// rebuilt, because the new type sorts with another operator class
	// (timestamp -> timestamptz under a UTC TimeZone on 12+, text -> citext).
	// This holds for indexes with the default operator class; one naming
	// its class (text_pattern_ops) can be kept. A foreign key on the column
	// is re-validated with a scan of both tables.
	IndexRebuild Effect = "index-rebuild"
	// Rewrite: the heap is rewritten and every index of the table rebuilt,
	// under ACCESS EXCLUSIVE.
	Rewrite Effect = "rewrite"
)

// Options carries what Classify cannot read from the two types.
type Options struct {
	// PostgresVersion is the server's major version (11-17). 0 means
	// unknown and is treated as the oldest, 11, whose rules are the
	// strictest.
	PostgresVersion int
	// Using is the USING expression, nil if none.
	Using *pg_query.Node
	// TimeZone is the session TimeZone migrations run with when known
	// ("" = unknown). Only timestamp<->timestamptz depends on it.
	TimeZone string
	// Column is the altered column's name, so that a USING reading another
	// column is told apart; "" accepts any column reference as the column.
	Column string
	// Catalog, when set, tells enums (and their labels) and domains apart
	// from other user types.
	Catalog *catalog.Catalog
}

// Verdict is what PostgreSQL will do.
type Verdict struct {
	Effect Effect
	// Narrowing: some existing values cannot be represented in the new
	// type (shorter varchar, smaller integer, lower numeric precision or
	// scale, timestamptz -> timestamp, float8 -> float4, text -> enum, ...).
	Narrowing bool
	// FailsWhen describes the existing data that makes PostgreSQL raise an
	// error and roll back: "values longer than 50 characters". Parts are
	// joined by "; ". It can be set without Narrowing when the failure
	// comes from an index or a domain constraint rather than the type
	// ("a unique index on the column holds values that differ only in
	// letter case"), and starts with "always" when USING casts between
	// types PostgreSQL has no cast for.
	FailsWhen string
	// SilentLoss describes what changes without an error: a cutting USING
	// cast, numeric rounding, time zone reinterpretation. Parts are joined
	// by "; ".
	SilentLoss string
	// NoImplicitCast: PostgreSQL refuses the change without USING
	// ("column cannot be cast automatically to type X"). Effect is then
	// what a converting USING would cost: a rewrite.
	NoImplicitCast bool
	// Reason is one sentence explaining the effect.
	Reason string
}

// Classify says what ALTER COLUMN ... TYPE new [USING ...] does to a column
// of type old.
func Classify(old, new catalog.Type, opt Options) Verdict {
	e := env{ver: opt.PostgresVersion, cat: opt.Catalog}
	if e.ver == 0 {
		e.ver = 11
	}
	from, to := resolve(old, opt.Catalog), resolve(new, opt.Catalog)
	change := fmt.Sprintf("%s to %s", from.sql(), to.sql())

	var steps []conv
	if opt.Using == nil {
		steps = []conv{convert(from, to, false, e)}
	} else {
		ops, ok := parseUsing(opt.Using, opt.Column)
		if !ok {
			return Verdict{
				Effect: Rewrite,
				Reason: fmt.Sprintf("USING %s computes new values for every row: PostgreSQL rewrites the table and rebuilds all its indexes, and what the expression does to the data is not analysed", usingText(opt.Using)),
			}
		}
		var failed *Verdict
		steps, failed = usingSteps(from, to, ops, e)
		if failed != nil {
			return *failed
		}
		if len(ops) > 0 {
			change = fmt.Sprintf("%s to %s with USING %s", from.sql(), to.sql(), usingText(opt.Using))
		}
	}

	last := steps[len(steps)-1]
	if last.mech == mechNoPath {
		return Verdict{
			Effect:         Rewrite,
			NoImplicitCast: true,
			Reason:         fmt.Sprintf("PostgreSQL has no automatic cast from %s to %s: the ALTER fails unless USING converts the values, which rewrites the table", from.sql(), to.sql()),
		}
	}

	v := Verdict{}
	worst := mechNone
	why := last.why
	var fails, losses []note
	for _, s := range steps {
		// The Reason names the costliest step, or with none costly the
		// step that changes the type.
		if s.mech > worst || (worst == mechNone && why == noChange) {
			worst = s.mech
			why = s.why
		}
		v.Narrowing = v.Narrowing || s.narrowing
		for _, f := range s.fails {
			if f.dim != dimOther {
				losses = dropDim(losses, f.dim)
			}
			fails = append(fails, f)
		}
		losses = append(losses, s.losses...)
	}
	if oc := from.opclass(); oc != "" && oc[0] != '?' && to.opclass() == "" {
		// The index is recreated for the new type and finds no operator class.
		fails = append(fails, note{fmt.Sprintf("the column has a btree index (%s has no btree operator class)", to.sql()), dimOther})
	}
	v.FailsWhen = joinNotes(fails)
	v.SilentLoss = joinNotes(losses)

	switch worst {
	case mechNone:
		switch {
		case from.same(to) && len(steps) == 1:
			v.Effect, v.Reason = Metadata, "no change"
		case from.opclass() != "" && from.opclass() != to.opclass():
			v.Effect = IndexRebuild
			v.Reason = fmt.Sprintf("%s %s but sorts with a different operator class: PostgreSQL keeps the table data and rebuilds the indexes on the column", change, why)
		default:
			v.Effect = Metadata
			v.Reason = fmt.Sprintf("%s %s: PostgreSQL changes the catalog and keeps the data and indexes", change, why)
		}
	case mechTZ:
		switch {
		case e.ver >= 12 && fixedUTC(opt.TimeZone):
			v.Effect = IndexRebuild
			v.Reason = fmt.Sprintf("%s keeps every stored value when the session TimeZone is %s (PostgreSQL 12 and later): PostgreSQL keeps the table data but rebuilds the indexes on the column", change, opt.TimeZone)
		case e.ver < 12:
			v.Effect = Rewrite
			v.Reason = fmt.Sprintf("%s converts every value on PostgreSQL %d (the UTC shortcut arrived in 12): PostgreSQL rewrites the table and rebuilds all its indexes", change, e.ver)
		case opt.TimeZone == "":
			v.Effect = Rewrite
			v.Reason = fmt.Sprintf("%s converts every value using the session TimeZone, which is not known: PostgreSQL rewrites the table and rebuilds all its indexes, unless the TimeZone is UTC, where it only rebuilds the indexes on the column", change)
		default:
			v.Effect = Rewrite
			v.Reason = fmt.Sprintf("%s converts every value using the session TimeZone %s, which is not a fixed UTC offset: PostgreSQL rewrites the table and rebuilds all its indexes", change, opt.TimeZone)
		}
	default:
		v.Effect = Rewrite
		v.Reason = fmt.Sprintf("%s %s: PostgreSQL rewrites the table and rebuilds all its indexes", change, why)
	}
	return v
}

// usingSteps turns the USING operations into coercion steps ending with the
// assignment to the new type. A non-nil Verdict means the statement fails
// regardless of the data.
func usingSteps(from, to typ, ops []op, e env) ([]conv, *Verdict) {
	cur := from
	var steps []conv
	for _, o := range ops {
		var c conv
		switch o.kind {
		case opCast:
			next := resolve(o.t, e.cat)
			c = convert(cur, next, true, e)
			if m := cur.maxLen(); cur.isString() && next.isString() && m > 0 && (next.maxLen() == 0 || next.maxLen() > m) {
				next.semMax = m
			}
			if c.mech == mechNoPath {
				return nil, &Verdict{
					Effect:    Rewrite,
					FailsWhen: fmt.Sprintf("always: PostgreSQL has no cast from %s to %s", cur.sql(), next.sql()),
					Reason:    fmt.Sprintf("the USING expression casts %s to %s, which PostgreSQL cannot do, so the ALTER fails before touching the table", cur.sql(), next.sql()),
				}
			}
			cur = next
		case opCut, opPad:
			if !cur.isString() {
				return opaque(), nil
			}
			c = conv{mech: mechFunc, why: "cuts every value"}
			m := cur.maxLen()
			switch {
			case o.kind == opPad:
				c.lose(dimLength, "values are padded with spaces or cut to exactly %d characters", o.n)
			case m == 0 || m > o.n:
				c.lose(dimLength, "values longer than %d characters are cut to %d", o.n, o.n)
			}
			if m == 0 || m > o.n || o.kind == opPad {
				m = o.n
			}
			cur = typ{Type: catalog.Type{Schema: "pg_catalog", Name: "varchar", Mods: []int32{int32(min(m, 1<<30))}}, kind: kindBuiltin, base: "varchar"}
		case opKeep:
			if !cur.isString() {
				return opaque(), nil
			}
			c = conv{mech: mechFunc, why: "passes every value through a function"}
		case opRound, opTrunc:
			var ok bool
			c, cur, ok = roundStep(cur, o)
			if !ok {
				return opaque(), nil
			}
		case opAtZone:
			c = conv{mech: mechFunc, why: "converts every value with AT TIME ZONE"}
			switch cur.base {
			case "timestamp":
				cur = typ{Type: catalog.Type{Schema: "pg_catalog", Name: "timestamptz"}, kind: kindBuiltin, base: "timestamptz"}
			case "timestamptz":
				c.lose(dimOther, "the time zone is dropped: values become local time in %s", o.zone)
				cur = typ{Type: catalog.Type{Schema: "pg_catalog", Name: "timestamp"}, kind: kindBuiltin, base: "timestamp"}
			default:
				return opaque(), nil
			}
		}
		steps = append(steps, c)
	}
	return append(steps, convert(cur, to, false, e)), nil
}

// roundStep models round(x [, s]) and trunc(x [, s]) on numbers.
func roundStep(cur typ, o op) (conv, typ, bool) {
	verb := "rounded"
	if o.kind == opTrunc {
		verb = "truncated"
	}
	c := conv{mech: mechFunc, why: "rounds every value"}
	s := max(o.n, 0)
	switch {
	case isFloat(cur.base) && o.n < 0:
		if !cur.integral {
			c.lose(dimOther, "fractional parts are %s", verb)
		}
		next := cur
		next.integral = true
		return c, next, true
	case cur.base == "numeric" || isInt(cur.base):
		spec := cur.numSpec()
		if spec.scale < 0 || spec.scale > s {
			c.lose(dimOther, "values are %s to %s", verb, places(s))
		}
		digits := spec.intDigits
		if digits < 0 {
			digits = 1000 // numeric's own ceiling: no limit in practice
		} else if o.kind == opRound && (spec.scale < 0 || spec.scale > s) {
			digits++ // 9.99 rounds to 10.0
		}
		scale := s
		if spec.scale >= 0 && spec.scale < s {
			scale = spec.scale
		}
		next := typ{Type: catalog.Type{Schema: "pg_catalog", Name: "numeric", Mods: []int32{int32(min(digits+scale, 1<<30)), int32(min(scale, 1<<30))}}, kind: kindBuiltin, base: "numeric", integral: scale == 0}
		return c, next, true
	}
	return conv{}, cur, false
}

func opaque() []conv {
	return []conv{{mech: mechUnknown, why: "computes new values with an expression that is not analysed"}}
}

func dropDim(ns []note, dim string) []note {
	out := ns[:0]
	for _, n := range ns {
		if n.dim != dim {
			out = append(out, n)
		}
	}
	return out
}

func joinNotes(ns []note) string {
	seen := map[string]bool{}
	var parts []string
	for _, n := range ns {
		if !seen[n.text] {
			seen[n.text] = true
			parts = append(parts, n.text)
		}
	}
	return strings.Join(parts, "; ")
}
