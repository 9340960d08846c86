package layout

import (
	"fmt"
	"strings"
)

// goose annotations, as pressly/goose internal/sqlparser/parser.go knows them.
const (
	gooseUp             = "Up"
	gooseDown           = "Down"
	gooseStatementBegin = "StatementBegin"
	gooseStatementEnd   = "StatementEnd"
	gooseNoTransaction  = "NO TRANSACTION"
	gooseEnvsubOn       = "ENVSUB ON"
	gooseEnvsubOff      = "ENVSUB OFF"
)

var gooseAnnotations = []string{gooseUp, gooseDown, gooseStatementBegin, gooseStatementEnd, gooseNoTransaction, gooseEnvsubOn, gooseEnvsubOff}

// gooseAnnotation mirrors goose's extractAnnotation: every "--" is removed,
// then one "+goose", and what is left must name an annotation, in any case.
// It returns why goose rejects the line when it does.
func gooseAnnotation(line string) (string, string) {
	if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
		return "", "goose refuses annotations with leading whitespace"
	}
	cmd := strings.ReplaceAll(line, "--", "")
	cmd = strings.Replace(cmd, "+goose", "", 1)
	if strings.Contains(cmd, "+goose") {
		return "", "goose refuses a line with more than one +goose"
	}
	cmd = strings.TrimSpace(cmd)
	if cmd == "" {
		return "", "goose refuses an empty +goose annotation"
	}
	for _, a := range gooseAnnotations {
		if strings.EqualFold(a, cmd) {
			return a, ""
		}
	}
	return "", fmt.Sprintf("goose does not know the annotation %q (known: Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON, ENVSUB OFF)", cmd)
}

// splitGoose follows goose's state machine closely enough to find the
// sections and every mistake that makes goose refuse the file.
func splitGoose(p string, content []byte, opt Options) fileParts {
	var fp fileParts
	const (
		start = iota
		up
		down
	)
	state := start
	bom := bomLen(content)
	upStart, upEnd, downStart := -1, len(content), -1
	inBlock, blockLine := false, 0
	noTxLine := 0
	sqlBeforeUp := false
	// goose replaces environment variables ($NAME, ${NAME}, ${NAME:-x})
	// in the text of statements read while ENVSUB is on, quoted text and
	// dollar-quoted bodies included.
	envsub, envLines, envFirst := false, 0, 0
	eachLineSeen(content, bom, func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if state == start && t == "" {
			return true
		}
		if strings.HasPrefix(t, "--") && strings.Contains(l.text, "+goose") {
			ann, why := gooseAnnotation(l.text)
			if why != "" {
				fp.problem(p, l.no, "%s: %q", why, l.text)
				return true
			}
			switch ann {
			case gooseUp:
				if state == start {
					state, upStart = up, l.next
				} else {
					fp.problem(p, l.no, "second -- +goose Up: goose refuses the file")
				}
			case gooseDown:
				switch {
				case state == start:
					fp.problem(p, l.no, "-- +goose Down before -- +goose Up: goose refuses the file")
				case state == down:
					fp.problem(p, l.no, "second -- +goose Down: goose refuses the file")
				case inBlock:
					fp.problem(p, l.no, "-- +goose Down inside the StatementBegin of line %d: goose refuses the file", blockLine)
				default:
					state, upEnd, downStart = down, l.start, l.next
				}
			case gooseStatementBegin:
				switch {
				case state == start:
					fp.problem(p, l.no, "-- +goose StatementBegin before -- +goose Up: goose refuses the file")
				case inBlock:
					fp.problem(p, l.no, "-- +goose StatementBegin inside the StatementBegin of line %d: goose refuses the file", blockLine)
				default:
					inBlock, blockLine = true, l.no
				}
			case gooseStatementEnd:
				if !inBlock {
					fp.problem(p, l.no, "-- +goose StatementEnd without StatementBegin: goose refuses the file")
				}
				inBlock = false
			case gooseNoTransaction:
				if noTxLine == 0 {
					noTxLine = l.no
				}
			case gooseEnvsubOn:
				envsub = true
			case gooseEnvsubOff:
				envsub = false
			}
			return true
		}
		if envsub && state == up && gooseEnvRef(l.text) {
			if envLines++; envFirst == 0 {
				envFirst = l.no
			}
		}
		if state == start && !strings.HasPrefix(t, "--") && !sqlBeforeUp {
			sqlBeforeUp = true
			fp.problem(p, l.no, "SQL before -- +goose Up: goose refuses the file")
		}
		return true
	})
	if inBlock {
		fp.problem(p, blockLine, "-- +goose StatementBegin without StatementEnd: goose refuses the file")
	}
	if envLines > 0 {
		fp.problems = append(fp.problems, Problem{Path: p, Line: envFirst, RunTimeText: true, Message: fmt.Sprintf(
			"-- +goose ENVSUB ON: goose replaces the environment variables ($NAME, ${NAME}) on %d line(s) of the up part, from line %d, with values of the machine that deploys, inside quoted text too, before PostgreSQL reads the statement: what runs, which rows a WHERE matches or whether a value closes its quote and adds a statement, is not what this review reads",
			envLines, envFirst)})
	}
	if state == start {
		fp.problem(p, 0, "no -- +goose Up annotation: goose refuses the file; the whole file is treated as the up part")
		upStart = bom
	}
	if bom > 0 {
		eachLineSeen(content, bom, func(l textLine) bool {
			if strings.Contains(l.text, "+goose") {
				fp.problem(p, 1, "the file starts with a UTF-8 byte order mark, so goose does not see the annotation on line 1; save the file without it")
			}
			return false
		})
	}

	mode, reason := defaultTx(Goose, opt)
	line := 0
	if noTxLine > 0 {
		mode, line = TxNone, noTxLine
		reason = fmt.Sprintf("-- +goose NO TRANSACTION on line %d: goose runs each statement on its own, outside a transaction", noTxLine)
	}
	fp.up = Part{Path: p, Start: upStart, End: upEnd, Tx: mode, TxReason: reason, TxLine: line}
	if downStart >= 0 {
		fp.down = &Part{Path: p, Start: downStart, End: len(content), Tx: mode, TxReason: reason, TxLine: line}
	}
	return fp
}

// gooseEnvRef says whether a line holds what goose's ENVSUB replaces: a
// "$" followed by a letter, "_" or "{" ("$$" stands for one "$").
func gooseEnvRef(line string) bool {
	for i := 0; i+1 < len(line); i++ {
		if line[i] != '$' {
			continue
		}
		c := line[i+1]
		if c == '$' {
			i++
			continue
		}
		if c == '{' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}
