package layout

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func bomLen(content []byte) int {
	if bytes.HasPrefix(content, utf8BOM) {
		return len(utf8BOM)
	}
	return 0
}

// textLine is one line of a file: [start, end) without the line break,
// next is where the following line starts.
type textLine struct {
	no               int
	start, end, next int
	text             string
}

// eachLine calls fn for every line from offset from (which must be on line
// 1) to the end; fn returns false to stop. A trailing "\r" is left out of
// the text the way bufio.ScanLines, which goose reads with, leaves it out.
// fn may keep any part of a line's text.
func eachLine(content []byte, from int, fn func(l textLine) bool) {
	// One string for the whole file, of which every line's text is a
	// part: a string per line was an allocation per line, the most of
	// what reading a history's layout cost.
	linesOf(content, string(content[min(from, len(content)):]), from, fn)
}

// eachLineSeen is eachLine for an fn that keeps no part of a line's text
// once it returns (it may format it into a message, which copies it): the
// text is then read in content's own bytes, which nothing writes during
// the call, and not in a copy of the whole file. splitGoose and the Flyway
// checks, which read every numbered file of a history, use it;
// TestSplitKeepsNoText holds them to keeping nothing.
func eachLineSeen(content []byte, from int, fn func(l textLine) bool) {
	rest := content[min(from, len(content)):]
	linesOf(content, unsafe.String(unsafe.SliceData(rest), len(rest)), from, fn)
}

// linesOf is eachLine over str, the text of content[from:].
func linesOf(content []byte, str string, from int, fn func(l textLine) bool) {
	no := 1
	for i := from; i < len(content); no++ {
		j := bytes.IndexByte(content[i:], '\n')
		end, next := len(content), len(content)
		if j >= 0 {
			end, next = i+j, i+j+1
		}
		text := str[i-from : end-from]
		if len(text) > 0 && text[len(text)-1] == '\r' {
			text = text[:len(text)-1]
		}
		if !fn(textLine{no: no, start: i, end: end, next: next, text: text}) {
			return
		}
		i = next
	}
}

// fileParts is what splitting one file yields.
type fileParts struct {
	up       Part
	down     *Part
	more     []Section
	problems []Problem
}

func (fp *fileParts) problem(p string, line int, format string, args ...any) {
	fp.problems = append(fp.problems, Problem{Path: p, Line: line, Message: fmt.Sprintf(format, args...)})
}

// Parts splits a file's content into its up and down parts with the
// transaction mode its directives set, for callers that have the text but
// not a Set. For a file that only holds a down migration (golang-migrate
// .down.sql, Flyway U…, sqitch revert/…) up is empty and down covers the
// file. Runner options and Flyway .sql.conf sidecars are not known here, so
// the tool's defaults apply.
func Parts(kind Kind, path string, content []byte) (up Part, down *Part, problems []Problem) {
	fp := splitFile(kind, path, content, Options{})
	return fp.up, fp.down, fp.problems
}

func splitFile(kind Kind, p string, content []byte, opt Options) fileParts {
	start := bomLen(content)
	whole := Part{Path: p, Start: start, End: len(content)}
	var fp fileParts
	switch kind {
	case Goose:
		fp = splitGoose(p, content, opt)
	case Dbmate:
		fp = splitDbmate(p, content, opt)
	default:
		fp.up = whole
		fp.up.Tx, fp.up.TxReason = defaultTx(kind, opt)
		if kind == Drizzle {
			fp.up.TxAcrossRun = true
		}
		if kind == Flyway {
			fp.up.Mixed = opt.Mixed
			fp.up.TxAcrossRun = opt.Group
			checkFlywayInline(&fp, p, content)
			if !isDownOnly(kind, p) {
				checkFlywayPlaceholders(&fp, p, content)
			}
		}
		if isDownOnly(kind, p) {
			d := fp.up
			fp.down = &d
			fp.up = Part{Path: p, Start: start, End: start, Tx: d.Tx, TxReason: d.TxReason}
		}
		if start > 0 && (kind == Plain || kind == Sqitch) {
			fp.problem(p, 1, "the file starts with a UTF-8 byte order mark, which psql sends to the server as part of the first statement; save the file without it")
		}
	}
	return fp
}

// isDownOnly reports whether a whole file is a down migration of its layout.
func isDownOnly(kind Kind, p string) bool {
	dir, base := splitPath(p)
	switch kind {
	case GolangMigrate:
		n, ok := parseGolangMigrate(base)
		return ok && n.down
	case Flyway:
		n, ok := parseFlyway(base)
		return ok && n.prefix == 'U'
	case Sqitch:
		_, b := splitPath(dir)
		return b == "revert"
	}
	return false
}

// defaultTx is how each tool runs a file that carries no directive.
func defaultTx(kind Kind, opt Options) (TxMode, string) {
	switch opt.Transaction {
	case TransactionPerFile:
		return TxWrapped, "configured with transaction: per-file, so the runner wraps the whole file in one transaction (as psql --single-transaction does)"
	case TransactionNone:
		return TxNone, "configured with transaction: none, so the runner sends each statement on its own outside any transaction"
	}
	switch kind {
	case Plain:
		return TxNone, "psql runs each statement in its own transaction unless the file says BEGIN/COMMIT (set transaction: per-file if it is run with psql --single-transaction)"
	case GolangMigrate:
		if opt.MultiStatement {
			return TxNone, "golang-migrate with x-multi-statement splits the file on semicolons and sends each statement on its own, outside any transaction"
		}
		return TxImplicit, "golang-migrate's postgres driver sends the whole file as one query, which PostgreSQL runs as one implicit transaction when it holds more than one statement"
	case Goose:
		return TxWrapped, "goose runs every migration in a transaction unless it says -- +goose NO TRANSACTION"
	case Dbmate:
		return TxWrapped, "dbmate runs every migration in a transaction unless its marker says transaction:false"
	case Flyway:
		return TxAutoNonTx, "Flyway runs each migration in a transaction unless a statement cannot run in one; then it runs the whole script without a transaction and refuses a script mixing both kinds unless mixed=true"
	case Sqitch:
		return TxNone, "sqitch runs the script with psql without wrapping it, so only BEGIN/COMMIT in the script make a transaction"
	case Prisma:
		return TxImplicit, "prisma migrate sends migration.sql as one query, which PostgreSQL runs as one implicit transaction when it holds more than one statement"
	case Drizzle:
		return TxWrapped, "drizzle's migrator runs all pending migrations of a run in one transaction"
	case Supabase:
		return TxWrapped, "the supabase CLI sends the file's statements and its history insert as one pipelined batch, which PostgreSQL runs as one implicit transaction"
	}
	return TxNone, "unknown layout: statements are assumed to autocommit"
}

// checkFlywayInline reports the "-- flyway:key=value" header that some
// teams write, since open-source Flyway reads per-script settings only from
// the <file>.sql.conf sidecar.
func checkFlywayInline(fp *fileParts, p string, content []byte) {
	eachLineSeen(content, bomLen(content), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if t == "" {
			return true
		}
		if !strings.HasPrefix(t, "--") {
			return false
		}
		c := strings.TrimSpace(strings.TrimPrefix(t, "--"))
		if strings.HasPrefix(strings.ToLower(c), "flyway:") {
			_, base := splitPath(p)
			fp.problem(p, l.no, "Flyway reads per-script settings from %s.conf (SqlScriptMetadata), not from a comment; %q does not change how this migration runs there", base, c)
		}
		return true
	})
}

// checkFlywayPlaceholders reports the placeholders Flyway fills in: it
// replaces ${name} everywhere in a script's text (placeholderReplacement
// is on by default), quoted values and comments included, with a value of
// its configuration or environment, before the statements are read.
func checkFlywayPlaceholders(fp *fileParts, p string, content []byte) {
	first, n := 0, 0
	eachLineSeen(content, bomLen(content), func(l textLine) bool {
		if i := strings.Index(l.text, "${"); i >= 0 && strings.Index(l.text[i+2:], "}") > 0 {
			if n++; first == 0 {
				first = l.no
			}
		}
		return true
	})
	if n > 0 {
		fp.problems = append(fp.problems, Problem{Path: p, Line: first, RunTimeText: true, Message: fmt.Sprintf(
			"Flyway replaces the placeholders (${name}) on %d line(s), from line %d, with values of its configuration or environment, inside quoted text too, before PostgreSQL reads the statement: what runs, which rows a WHERE matches or whether a value closes its quote and adds a statement, is not what this review reads",
			n, first)})
	}
}

// DetectFile guesses the layout of one .sql file from its name and content.
func DetectFile(path string, content []byte) Kind {
	dir, base := splitPath(path)
	if _, ok := parseGolangMigrate(base); ok {
		return GolangMigrate
	}
	if _, ok := parseFlyway(base); ok {
		return Flyway
	}
	_, parent := splitPath(dir)
	if base == "migration.sql" && leadingDigits(parent) != "" {
		return Prisma
	}
	sig := scanSignals(content)
	switch {
	case sig.goose > 0 && sig.goose >= sig.dbmate:
		return Goose
	case sig.dbmate > 0:
		return Dbmate
	}
	if hasPathSuffix(dir, "supabase/migrations") {
		return Supabase
	}
	if sig.drizzle > 0 {
		return Drizzle
	}
	if parent == "deploy" || parent == "revert" {
		return Sqitch
	}
	return Plain
}

// signals counts the tool markers a file carries.
type signals struct {
	goose, dbmate, drizzle int
}

func scanSignals(content []byte) signals {
	var s signals
	// Only comment lines are looked at, and only they become strings: a
	// folder's every numbered file is scanned to detect its tool.
	for i := bomLen(content); i < len(content); {
		end, next := len(content), len(content)
		if j := bytes.IndexByte(content[i:], '\n'); j >= 0 {
			end, next = i+j, i+j+1
		}
		line := bytes.TrimSpace(content[i:end])
		i = next
		if !bytes.HasPrefix(line, []byte("--")) {
			continue
		}
		t := string(line)
		switch {
		case strings.Contains(t, "+goose"):
			s.goose++
		case strings.HasPrefix(t, "--> statement-breakpoint"):
			s.drizzle++
		default:
			c := strings.TrimLeft(t[2:], " \t")
			if strings.HasPrefix(c, "migrate:up") || strings.HasPrefix(c, "migrate:down") {
				s.dbmate++
			}
		}
	}
	return s
}
