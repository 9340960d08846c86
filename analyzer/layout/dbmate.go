package layout

import (
	"fmt"
	"strings"
)

// dbmateMarker is a "-- migrate:up" or "-- migrate:down" line as dbmate's
// pattern ^--\s*migrate:(up|down)(\s*$|\s+\S+) finds it: "--" at the very
// start of the line, then the keyword followed by whitespace or the end of
// the line.
type dbmateMarker struct {
	down bool
	line textLine
	opts string // the rest of the line after the keyword
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r'
}

func parseDbmateMarker(l textLine) (dbmateMarker, bool) {
	if !strings.HasPrefix(l.text, "--") {
		return dbmateMarker{}, false
	}
	rest := strings.TrimLeft(l.text[2:], " \t\f\v")
	for _, kw := range []string{"migrate:up", "migrate:down"} {
		if !strings.HasPrefix(rest, kw) {
			continue
		}
		after := rest[len(kw):]
		if after != "" && !isSpaceByte(after[0]) {
			return dbmateMarker{}, false
		}
		return dbmateMarker{down: kw == "migrate:down", line: l, opts: after}, true
	}
	return dbmateMarker{}, false
}

// looksLikeDbmateMarker catches comment lines that were meant as markers but
// that dbmate's pattern does not match: leading whitespace, a space after
// the colon, a different case, a misspelt keyword.
func looksLikeDbmateMarker(l textLine) bool {
	t := strings.TrimSpace(l.text)
	if !strings.HasPrefix(t, "--") {
		return false
	}
	c := strings.ToLower(strings.TrimSpace(t[2:]))
	return strings.HasPrefix(c, "migrate:") || strings.HasPrefix(c, "migrate :") ||
		strings.HasPrefix(c, "migrate: ") || c == "migrate up" || c == "migrate down" ||
		strings.HasPrefix(c, "migrate up ") || strings.HasPrefix(c, "migrate down ")
}

// dbmateTx reads the options on a marker line the way dbmate's
// parseMigrationOptions does (whitespace-separated key:value pairs,
// transaction disabled only by exactly "false") and reports what dbmate
// would silently ignore.
func dbmateTx(fp *fileParts, p string, m dbmateMarker, opt Options) (TxMode, string, int) {
	mode, reason := defaultTx(Dbmate, opt)
	line := 0
	for _, field := range strings.Fields(m.opts) {
		kv := strings.Split(field, ":")
		if len(kv) != 2 {
			fp.problem(p, m.line.no, "dbmate ignores %q: options are written key:value with no spaces", field)
			continue
		}
		key, val := kv[0], kv[1]
		if key != "transaction" {
			fp.problem(p, m.line.no, "dbmate does not know the option %q and ignores it", key)
			continue
		}
		switch val {
		case "false":
			mode, line = TxImplicit, m.line.no
			reason = fmt.Sprintf("%s on line %d: dbmate sends the block as one query outside a transaction it opens, which PostgreSQL runs as one implicit transaction when it holds more than one statement", strings.TrimSpace(m.line.text), m.line.no)
		case "true":
		default:
			fp.problem(p, m.line.no, "transaction:%s is not exactly \"false\", so dbmate runs this block in a transaction", val)
		}
	}
	return mode, reason, line
}

// splitDbmate finds dbmate's sections. Newer dbmate accepts several
// up/down pairs in one file; each is run on its own.
func splitDbmate(p string, content []byte, opt Options) fileParts {
	var fp fileParts
	bom := bomLen(content)
	var markers []dbmateMarker
	sqlLine := 0
	eachLine(content, bom, func(l textLine) bool {
		if m, ok := parseDbmateMarker(l); ok {
			markers = append(markers, m)
			return true
		}
		t := strings.TrimSpace(l.text)
		if looksLikeDbmateMarker(l) {
			if strings.HasPrefix(l.text, "--") {
				fp.problem(p, l.no, "%q is not a dbmate marker (dbmate reads exactly \"-- migrate:up\" or \"-- migrate:down\")", t)
			} else {
				fp.problem(p, l.no, "dbmate reads markers only at the start of a line; %q is indented", t)
			}
			return true
		}
		if len(markers) == 0 && sqlLine == 0 && t != "" && !strings.HasPrefix(t, "--") {
			sqlLine = l.no
		}
		return true
	})
	if bom > 0 {
		eachLine(content, bom, func(l textLine) bool {
			if _, ok := parseDbmateMarker(l); ok {
				fp.problem(p, 1, "the file starts with a UTF-8 byte order mark, so dbmate does not see the marker on line 1; save the file without it")
			}
			return false
		})
	}
	if sqlLine > 0 {
		fp.problem(p, sqlLine, "SQL before the first -- migrate:up: dbmate refuses the file")
	}

	// Sections start at each up marker; downs before the first up belong
	// to none.
	type section struct {
		up    dbmateMarker
		downs []dbmateMarker
		end   int
	}
	var sections []section
	for _, m := range markers {
		switch {
		case !m.down:
			if n := len(sections); n > 0 {
				sections[n-1].end = m.line.start
			}
			sections = append(sections, section{up: m, end: len(content)})
		case len(sections) == 0:
			fp.problem(p, m.line.no, "-- migrate:down before -- migrate:up: dbmate refuses the file")
		default:
			s := &sections[len(sections)-1]
			s.downs = append(s.downs, m)
		}
	}
	if len(sections) == 0 {
		fp.problem(p, 0, "no -- migrate:up marker: dbmate refuses the file; the whole file is treated as the up part")
		mode, reason := defaultTx(Dbmate, opt)
		fp.up = Part{Path: p, Start: bom, End: len(content), Tx: mode, TxReason: reason}
		return fp
	}
	for i, s := range sections {
		mode, reason, line := dbmateTx(&fp, p, s.up, opt)
		up := Part{Path: p, Start: s.up.line.next, End: s.end, Tx: mode, TxReason: reason, TxLine: line}
		var down *Part
		switch len(s.downs) {
		case 0:
			fp.problem(p, s.up.line.no, "no -- migrate:down for this -- migrate:up: dbmate refuses the file")
		default:
			for _, extra := range s.downs[1:] {
				fp.problem(p, extra.line.no, "second -- migrate:down in one section: dbmate refuses the file")
			}
			d := s.downs[0]
			up.End = d.line.start
			dm, dr, dl := dbmateTx(&fp, p, d, opt)
			down = &Part{Path: p, Start: d.line.next, End: s.end, Tx: dm, TxReason: dr, TxLine: dl}
			if len(s.downs) > 1 {
				down.End = s.downs[1].line.start
			}
		}
		if i == 0 {
			fp.up, fp.down = up, down
			continue
		}
		fp.more = append(fp.more, Section{Up: up, Down: down})
	}
	return fp
}
