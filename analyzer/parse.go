package analyzer

import (
	"runtime"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
	"github.com/migration-guard/migration-guard/internal/ahead"
)

// parsedFile is what decoding and parsing one migration gives: all that
// replaying or judging it reads of its text, none of which depends on the
// schema, so that it can be computed on another core ahead of the replay
// (parseAhead).
type parsedFile struct {
	d    *sqlscript.Decoded
	derr *sqlscript.DecodeError
	// up and down are the parts with offsets in d.Text; problems are what
	// finding them again (after a BOM) said.
	up       layout.Part
	down     *layout.Part
	problems []layout.Problem

	// For a replay: the trees of the up part when it parses whole, else
	// its split.
	trees  []*pg_query.Node
	script *sqlscript.Script

	// For judging.
	lines    *sqlscript.Lines
	upScript *sqlscript.Script
	sections []*sqlscript.Script // dbmate's further up sections, in m.More's order
	upDigest string
	// The down part: in d.Text, or in the separate down file's text.
	downText   string
	downLines  *sqlscript.Lines
	downDerr   *sqlscript.DecodeError
	downPart   *layout.Part
	downScript *sqlscript.Script
	// bodies are the procedural code (DO, CREATE FUNCTION) of the
	// statements of those scripts, by parse tree: reading a body parses
	// it, and that too is independent of the schema.
	bodies map[*pg_query.Node]*plpgsql.Body
	// bare are the CREATE FUNCTION bodies as the catalog keeps them
	// (plpgsql.Body.Bare), so that applying the statement does not read
	// the body again.
	bare map[*pg_query.Node]*plpgsql.Body
	// reads is the run's memo of the bodies read, shared with the other
	// files parsed ahead.
	reads *plpgsql.Memo
	// calls are the evaluated calls (listEvaluatedCalls) of the judged
	// statements that evaluate anything, by parse tree: a walk of each
	// tree that needs no schema, made here rather than while judging.
	calls map[*pg_query.Node][]evaluatedCall
}

// listCalls lists the evaluated calls of sc's statements.
func (p *parsedFile) listCalls(sc *sqlscript.Script) {
	for _, st := range sc.Statements {
		if st.Node == nil || !catalog.Evaluates(st.Node) {
			continue
		}
		if p.calls == nil {
			p.calls = map[*pg_query.Node][]evaluatedCall{}
		}
		p.calls[st.Node] = listEvaluatedCalls(st.Node)
	}
}

// readBodies reads the procedural code of sc's statements of text.
func (p *parsedFile) readBodies(text string, sc *sqlscript.Script) {
	for _, st := range sc.Statements {
		if st.Node == nil || (st.Node.GetDoStmt() == nil && st.Node.GetCreateFunctionStmt() == nil) {
			continue
		}
		if p.bodies == nil {
			p.bodies = map[*pg_query.Node]*plpgsql.Body{}
		}
		b := p.reads.Read(st.Node, statementSource(text, st))
		p.bodies[st.Node] = b
		if st.Node.GetCreateFunctionStmt() != nil {
			if p.bare == nil {
				p.bare = map[*pg_query.Node]*plpgsql.Body{}
			}
			p.bare[st.Node] = b.Bare()
		}
	}
}

// parseJob says what a migration is parsed for.
type parseJob struct {
	m layout.Migration
	// judge is false for a replay; up and down say which parts are judged.
	judge, up, down bool
	// reads is the run's memo of the bodies read (nil: none).
	reads *plpgsql.Memo
}

// parseMigration decodes and parses what job needs of its migration.
func parseMigration(job parseJob, maxBytes int) *parsedFile {
	m := job.m
	p := &parsedFile{reads: job.reads}
	if m.Unreadable != "" {
		return p
	}
	p.d, p.derr = sqlscript.DecodeShared(m.Content, maxBytes)
	if p.derr != nil {
		return p
	}
	p.up, p.down, p.problems = migrationParts(m, p.d)
	text := p.d.Text
	if !job.judge {
		p.trees, p.script = replayParse(text, p.up)
		return p
	}
	p.lines = sqlscript.NewLines(text)
	if job.up {
		p.upScript = sqlscript.Split(text, p.up.Start, p.up.End)
		digest := []digestPart{{p.up, p.upScript}}
		for _, sec := range m.More {
			sc := sqlscript.Split(text, sec.Up.Start, sec.Up.End)
			p.sections = append(p.sections, sc)
			digest = append(digest, digestPart{sec.Up, sc})
		}
		p.upDigest = upDigest(digest)
		for _, d := range digest {
			p.readBodies(text, d.script)
			p.listCalls(d.script)
		}
	}
	if p.down == nil || !job.down {
		return p
	}
	p.downText, p.downLines, p.downPart = text, p.lines, p.down
	if m.DownPath != "" {
		dd, derr := sqlscript.DecodeShared(m.DownContent, maxBytes)
		if derr != nil {
			p.downDerr = derr
			return p
		}
		// A separate down file is run by the tool like any of its files.
		_, whole, _ := layout.Parts(m.Kind, m.DownPath, []byte(dd.Text))
		if whole == nil {
			whole = &layout.Part{Path: m.DownPath, End: len(dd.Text), Tx: layout.TxNone}
		}
		p.downText, p.downLines, p.downPart = dd.Text, sqlscript.NewLines(dd.Text), whole
	}
	p.downScript = sqlscript.Split(p.downText, p.downPart.Start, p.downPart.End)
	p.readBodies(p.downText, p.downScript)
	p.listCalls(p.downScript)
	return p
}

// replayParse parses a part for a replay: the parser alone when the part
// parses whole (no positions needed), else the split.
func replayParse(text string, up layout.Part) ([]*pg_query.Node, *sqlscript.Script) {
	// A part with a psql meta-command (a leading \set) cannot parse whole:
	// it is split (scanned and parsed once) without trying the parser on
	// the whole part first. A backslash line that turns out to be inside a
	// string is no meta-command, and the part takes the common path.
	var sc *sqlscript.Script
	if sqlscript.MayHoldMetaCommands(text, up.Start, up.End) {
		sc = sqlscript.Split(text, up.Start, up.End)
	}
	if sc == nil || len(sc.MetaCommands) == 0 {
		if nodes, ok := sqlscript.ParseTrees(text, up.Start, up.End); ok {
			return nodes, nil
		}
	}
	if sc == nil {
		sc = sqlscript.Split(text, up.Start, up.End)
	}
	return nil, sc
}

// The window of parsing ahead: files parsed and not yet replayed or judged
// hold their parse trees (tens of times their text), so at most so many
// files, and so many bytes of their text, wait for the replay.
const (
	aheadFilesPerCore = 4
	aheadBytes        = 1 << 20
)

// parseHelpers is the number of goroutines parsing ahead: 0 means one per
// core beyond the replay's, negative none (tests compare the two).
var parseHelpers = 0

// parseAhead parses the jobs' migrations on the other cores, in order,
// within the window; Next hands out each one's parsedFile in jobs' order.
func parseAhead(jobs []parseJob, maxBytes int) *ahead.Sequence[*parsedFile] {
	return ahead.Start(len(jobs),
		ahead.Limits{Helpers: parseHelpers, Items: aheadFilesPerCore * runtime.GOMAXPROCS(0), Bytes: aheadBytes},
		func(i int) int { return len(jobs[i].m.Content) + len(jobs[i].m.DownContent) },
		func(i int) *parsedFile { return parseMigration(jobs[i], maxBytes) })
}

// migrationParts returns the up and down parts of a migration with offsets
// in the decoded text. Discover computed them on the raw bytes; a BOM
// shifts them.
func migrationParts(m layout.Migration, d *sqlscript.Decoded) (layout.Part, *layout.Part, []layout.Problem) {
	if d.BOMOffset == 0 && d.Encoding == "utf-8" {
		return m.Up, m.Down, nil
	}
	up, down, problems := layout.Parts(m.Kind, m.Path, []byte(d.Text))
	if m.DownPath != "" {
		down = m.Down
	}
	if m.Kind == layout.Flyway {
		// Flyway's directive lives in a .conf file beside the script, which
		// Discover already read.
		up.Tx, up.TxReason, up.TxLine, up.TxAcrossRun = m.Up.Tx, m.Up.TxReason, m.Up.TxLine, m.Up.TxAcrossRun
	}
	return up, down, problems
}
