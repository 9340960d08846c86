package rehearse

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/migration-guard/migration-guard/analyzer"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
)

const notRunnablePsql = "the file uses psql meta-commands or variables, which only psql understands"

// BaseParts turns the base migrations, in their tool's order, into parts to
// replay. Migrations the change edits (skip) are left out: their new
// version is rehearsed as if it had not run.
func BaseParts(ms []layout.Migration, skip map[string]bool, maxBytes int) ([]Part, string) {
	h := sha256.New()
	var parts []Part
	for _, m := range ms {
		if skip[m.Path] {
			continue
		}
		d, derr := sqlscript.Decode(m.Content, maxBytes)
		if derr != nil {
			parts = append(parts, Part{Path: m.Path, NotRunnable: "the file cannot be read: " + derr.Message})
			continue
		}
		sections := []layout.Part{m.Up}
		if d.BOMOffset != 0 || d.Encoding != "utf-8" {
			up, _, _ := layout.Parts(m.Kind, m.Path, []byte(d.Text))
			sections[0] = up
		} else {
			for _, s := range m.More {
				sections = append(sections, s.Up)
			}
		}
		lines := sqlscript.NewLines(d.Text)
		for _, sec := range sections {
			p := Part{Path: m.Path}
			sc := sqlscript.Split(d.Text, sec.Start, sec.End)
			if len(sc.MetaCommands) > 0 {
				p.NotRunnable = notRunnablePsql
			}
			for _, st := range sc.Statements {
				if len(st.Variables) > 0 {
					p.NotRunnable = notRunnablePsql
				}
				line, _ := lines.Position(st.Start)
				p.Statements = append(p.Statements, Stmt{Path: m.Path, Line: line, SQL: st.SQL, Index: -1})
			}
			switch sec.Tx {
			case layout.TxWrapped, layout.TxAutoNonTx:
				p.Wrapped = true
			case layout.TxImplicit:
				p.Wrapped = len(p.Statements) > 1
			}
			fmt.Fprintf(h, "%s\x00%v\x00", p.Path, p.Wrapped)
			for _, st := range p.Statements {
				fmt.Fprintf(h, "%s\x00", st.SQL)
			}
			parts = append(parts, p)
		}
	}
	return parts, hex.EncodeToString(h.Sum(nil))
}

// Changes turns the report's changed files into parts run statement by
// statement, in the transaction mode the analyzer found for each.
func Changes(rep *analyzer.Report) []Change {
	var out []Change
	for _, f := range rep.Files {
		c := Change{Path: f.Path, RunTx: f.RunTransaction}
		up := Part{Path: f.Path}
		var down *Part
		psql := usesPsql(f.Findings)
		for i, st := range f.Statements {
			psql = psql || usesPsql(st.Findings)
			if st.Inner {
				// Run by the DO block or function that holds it, when
				// that runs: never on its own.
				continue
			}
			s := Stmt{Path: st.Path, Line: st.Start.Line, SQL: st.SQL, Index: i}
			if st.Part == "down" {
				if down == nil {
					down = &Part{Path: st.Path}
				}
				down.Statements = append(down.Statements, s)
				continue
			}
			up.Statements = append(up.Statements, s)
		}
		up.Wrapped = wrapped(f.Statements, "up")
		if psql {
			up.NotRunnable = notRunnablePsql
		}
		if len(f.Statements) == 0 && len(f.Findings) > 0 {
			up.NotRunnable = "the file could not be read as SQL"
		}
		if down != nil {
			down.Wrapped = wrapped(f.Statements, "down")
			if psql {
				down.NotRunnable = notRunnablePsql
			}
		}
		c.Up, c.Down = up, down
		out = append(out, c)
	}
	return out
}

// wrapped is true when the tool runs every statement of the part inside
// one transaction it opens itself: the analyzer says each statement runs
// in a transaction and none of them opens or closes one.
func wrapped(sts []analyzer.Statement, part string) bool {
	n := 0
	for _, st := range sts {
		if st.Part != part {
			continue
		}
		if !st.InTx || st.Kind == "TransactionStmt" {
			return false
		}
		n++
	}
	return n > 0
}

func usesPsql(fs []analyzer.Finding) bool {
	for _, f := range fs {
		if f.Rule == "psql-meta-command" || f.Rule == "psql-variable" {
			return true
		}
	}
	return false
}
