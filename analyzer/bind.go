package analyzer

// What an approval is bound to, besides the findings themselves: the
// objects a statement resolves to, the session settings it runs under,
// what a file's up part runs and, for a file that could not be read, its
// blob. A push that changes any of these changes what will run, so the
// checklist's fingerprint covers them.

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/pgtree"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

// statementObjects lists the objects a statement names, resolved against
// the catalog and the session as it stands before the statement: what its
// findings name, every relation it reads or writes, and the objects a DROP
// lists.
func statementObjects(c *stmtContext) []string {
	set := map[string]bool{}
	for _, fd := range c.stmt.Findings {
		for _, o := range fd.Objects {
			set[o] = true
		}
	}
	if c.node != nil {
		// Every RangeVar, whether held in a Node or directly in a field
		// (ALTER TABLE's relation).
		pgtree.WalkMessages(c.node, func(m protoreflect.ProtoMessage) bool {
			rv, ok := m.(*pg_query.RangeVar)
			if !ok {
				return true
			}
			if rv.GetRelname() != "" {
				set[c.relation(rv).name] = true
			}
			return false
		})
		if ds := c.node.GetDropStmt(); ds != nil {
			for _, o := range ds.GetObjects() {
				names := objectNames(o)
				if len(names) == 0 {
					continue
				}
				switch ds.GetRemoveType() {
				case pg_query.ObjectType_OBJECT_SCHEMA:
					set[qualified(names...)] = true
					continue
				case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
					pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_SEQUENCE:
					set[c.relationByName(names).name] = true
					continue
				}
				if len(names) == 1 {
					if s := c.cat.SoleSchema(); s != "" {
						names = []string{s, names[0]}
					}
				}
				set[qualified(names...)] = true
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for o := range set {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// digestPart is one up part (or dbmate section) as the tool runs it.
type digestPart struct {
	part   layout.Part
	script *sqlscript.Script
}

// upDigest hashes what a file's up parts run: how the tool runs each part
// and each statement (and psql meta-command) in order, normalized so that
// comments, spacing and keyword case do not count. The bytes hashed are
// written into one buffer, the statements' normalized text appended in
// place (sqlscript.AppendNormalizedStatement), and hashed once: what
// binds approvals is these bytes, which TestUpDigestKeepsItsBytes holds
// to the form they were first written in.
func upDigest(parts []digestPart) string {
	buf := make([]byte, 0, 4096)
	buf = append(buf, "migration-guard up part v1\n"...)
	// item is a statement (meta < 0) or a psql meta-command, at its
	// offset in the file.
	type item struct{ at, stmt, meta int }
	var items []item
	for _, p := range parts {
		buf = append(buf, "part\x00"...)
		buf = append(buf, p.part.Tx...)
		if p.part.TxAcrossRun {
			buf = append(buf, "\x00across-run"...)
		}
		if p.part.Mixed {
			buf = append(buf, "\x00mixed"...)
		}
		buf = append(buf, '\n')
		items = slices.Grow(items[:0], len(p.script.Statements)+len(p.script.MetaCommands))
		for i := range p.script.Statements {
			items = append(items, item{p.script.Statements[i].Start, i, -1})
		}
		for i, mc := range p.script.MetaCommands {
			items = append(items, item{mc.Start, -1, i})
		}
		slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.at, b.at) })
		for _, it := range items {
			if it.meta < 0 {
				buf = append(buf, "sql\x00"...)
				buf = sqlscript.AppendNormalizedStatement(buf, &p.script.Statements[it.stmt])
			} else {
				buf = append(buf, "psql\x00"...)
				buf = append(buf, strings.Join(strings.Fields(p.script.MetaCommands[it.meta].Text), " ")...)
			}
			buf = append(buf, '\n')
		}
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}
