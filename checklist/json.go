// Package checklist turns an analyzer report into what people and machines
// read: the six-question summary, the CLI's text, JSON and Markdown, and the
// texts the App posts. Everything here is a pure function of the report.
package checklist

import (
	"io"

	"github.com/migration-guard/migration-guard/analyzer"
)

// SchemaVersion is the version of the JSON document; it changes only when a
// field changes meaning or goes away (docs/json.md).
const SchemaVersion = 1

// Document is the JSON output of `check --format json`.
type Document struct {
	SchemaVersion    int              `json:"schema_version"`
	Tool             Tool             `json:"tool"`
	PostgresVersion  int              `json:"postgres_version"`
	RequiresApproval bool             `json:"requires_approval"`
	Summary          []QuestionResult `json:"summary"`
	BaseMigrations   int              `json:"base_migrations"`
	Files            []FileDoc        `json:"files"`
	Notes            []string         `json:"notes"`
}

// Tool names the program that wrote the document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// QuestionResult is one row of the six-question summary.
type QuestionResult struct {
	Question int    `json:"question"`
	Title    string `json:"title"`
	Count    int    `json:"count"`
	// Worst is the worst severity among the findings, "" when there are none.
	Worst            string `json:"worst"`
	RequiresApproval int    `json:"requires_approval"`
}

// FileDoc is one changed migration.
type FileDoc struct {
	Path              string         `json:"path"`
	Layout            string         `json:"layout"`
	Version           string         `json:"version,omitempty"`
	DownPath          string         `json:"down_path,omitempty"`
	InTransaction     bool           `json:"in_transaction"`
	TransactionMode   string         `json:"transaction_mode"`
	TransactionReason string         `json:"transaction_reason"`
	Findings          []FindingDoc   `json:"findings"`
	Statements        []StatementDoc `json:"statements"`
	// BlobSHA and UpDigest are what an approval binds to (docs/json.md).
	BlobSHA  string `json:"blob_sha,omitempty"`
	UpDigest string `json:"up_digest,omitempty"`
	// RunTransaction names the transaction the tool runs this file in
	// together with the other pending files that name it (drizzle).
	RunTransaction string `json:"run_transaction,omitempty"`
}

// StatementDoc is one statement.
type StatementDoc struct {
	Path          string `json:"path"`
	Part          string `json:"part"`
	StartLine     int    `json:"start_line"`
	StartColumn   int    `json:"start_column"`
	EndLine       int    `json:"end_line"`
	EndColumn     int    `json:"end_column"`
	SQL           string `json:"sql"`
	Kind          string `json:"kind"`
	InTransaction bool   `json:"in_transaction"`
	// Objects and Settings are the statement's names as they resolve when
	// it runs, and the session settings that decide it.
	Objects  []string `json:"objects,omitempty"`
	Settings []string `json:"settings,omitempty"`
	// Inner marks a statement a DO block or function body runs, part of
	// the outer statement before it.
	Inner bool `json:"inner,omitempty"`
	// WALBytes is about how much WAL the statement's rewrite, index build
	// or UPDATE of every row writes, from the statistics file; absent when
	// the size is unknown or it writes none worth counting.
	WALBytes int64        `json:"wal_bytes,omitempty"`
	Findings []FindingDoc `json:"findings"`
}

// FindingDoc is one finding.
type FindingDoc struct {
	Rule     string `json:"rule"`
	Question int    `json:"question"`
	// AlsoQuestions are the other questions the finding answers, counted
	// in their summary rows too.
	AlsoQuestions    []int    `json:"also_questions"`
	Severity         string   `json:"severity"`
	RequiresApproval bool     `json:"requires_approval"`
	Objects          []string `json:"objects"`
	Message          string   `json:"message"`
	Why              string   `json:"why"`
	SafeAlternative  string   `json:"safe_alternative"`
	Line             int      `json:"line"`
	Column           int      `json:"column"`
	Suppressed       bool     `json:"suppressed"`
	SuppressedReason string   `json:"suppressed_reason,omitempty"`
	// Rehearsal is "confirmed" or "contradicted" by a rehearsal on a real
	// PostgreSQL; absent when none checked the finding.
	Rehearsal string `json:"rehearsal,omitempty"`
}

// Summarize answers each of the six questions with what was found. A
// finding counts for its question and for each question it also answers:
// a constraint's scan under a blocking lock is reported once, as question
// 3's finding, and still counts as blocking work for question 6.
func Summarize(r *analyzer.Report) []QuestionResult {
	out := make([]QuestionResult, len(analyzer.Questions))
	for i, q := range analyzer.Questions {
		out[i] = QuestionResult{Question: int(q), Title: q.Short()}
	}
	// One pass over the findings where they are, each counted in every
	// row it answers: a pass per question over a list of them all
	// (AllFindings) allocated the list and read it six times. Counts and
	// the worst severity do not depend on the order they are taken in.
	count := func(f *analyzer.Finding) {
		// A suppressed finding no longer counts, unless it still needs
		// approval (a suppression never lifts that for danger).
		if f.Suppressed != nil && !f.RequiresApproval {
			return
		}
		for i, q := range analyzer.Questions {
			if !answers(f, q) {
				continue
			}
			res := &out[i]
			res.Count++
			if f.Severity.Rank() > analyzer.Severity(res.Worst).Rank() {
				res.Worst = string(f.Severity)
			}
			if f.RequiresApproval {
				res.RequiresApproval++
			}
		}
	}
	for i := range r.Files {
		f := &r.Files[i]
		for j := range f.Findings {
			count(&f.Findings[j])
		}
		for j := range f.Statements {
			s := &f.Statements[j]
			for k := range s.Findings {
				count(&s.Findings[k])
			}
		}
	}
	return out
}

func answers(f *analyzer.Finding, q analyzer.Question) bool {
	if f.Question == q {
		return true
	}
	for _, also := range f.AlsoQuestions {
		if also == q {
			return true
		}
	}
	return false
}

// NewDocument builds the JSON document of a report as Go values: the typed
// form of what WriteJSON writes, for Go callers that decode the output.
// WriteJSON does not build it; TestWriteReportMatchesDocument holds
// WriteJSON's bytes to encoding/json's of this document.
func NewDocument(r *analyzer.Report, version string) Document {
	doc := Document{
		SchemaVersion:    SchemaVersion,
		Tool:             Tool{Name: "migration-guard", Version: version},
		PostgresVersion:  r.PostgresVersion,
		RequiresApproval: r.RequiresApproval(),
		Summary:          Summarize(r),
		BaseMigrations:   r.BaseMigrations,
		Files:            make([]FileDoc, 0, len(r.Files)),
		Notes:            append([]string{}, r.Notes...),
	}
	for _, f := range r.Files {
		fd := FileDoc{
			Path: f.Path, Layout: f.Layout, Version: f.Version, DownPath: f.DownPath,
			InTransaction: f.InTransaction, TransactionMode: f.TransactionMode, TransactionReason: f.TransactionReason,
			Findings: findingDocs(f.Findings), Statements: make([]StatementDoc, 0, len(f.Statements)),
			BlobSHA: f.BlobSHA, UpDigest: f.UpDigest, RunTransaction: f.RunTransaction,
		}
		for _, s := range f.Statements {
			var wal int64
			if s.Estimate != nil {
				wal = s.Estimate.WALBytes
			}
			fd.Statements = append(fd.Statements, StatementDoc{
				Path: s.Path, Part: s.Part,
				StartLine: s.Start.Line, StartColumn: s.Start.Column, EndLine: s.End.Line, EndColumn: s.End.Column,
				SQL: s.SQL, Kind: s.Kind, InTransaction: s.InTx, Findings: findingDocs(s.Findings),
				Objects: s.Objects, Settings: s.Settings, Inner: s.Inner, WALBytes: wal,
			})
		}
		doc.Files = append(doc.Files, fd)
	}
	return doc
}

func findingDocs(fs []analyzer.Finding) []FindingDoc {
	out := make([]FindingDoc, 0, len(fs))
	for _, f := range fs {
		d := FindingDoc{
			Rule: f.Rule, Question: int(f.Question), AlsoQuestions: make([]int, 0, len(f.AlsoQuestions)), Severity: string(f.Severity), RequiresApproval: f.RequiresApproval,
			Objects: append([]string{}, f.Objects...), Message: f.Message, Why: f.Why, SafeAlternative: f.SafeAlternative,
			Line: f.Marker.Line, Column: f.Marker.Column, Rehearsal: f.Rehearsal,
		}
		for _, q := range f.AlsoQuestions {
			d.AlsoQuestions = append(d.AlsoQuestions, int(q))
		}
		if f.Suppressed != nil {
			d.Suppressed, d.SuppressedReason = true, f.Suppressed.Reason
		}
		out = append(out, d)
	}
	return out
}

// WriteJSON writes the report as one indented JSON document, the one
// NewDocument builds, in one pass (jsonWriter) from the report itself.
func WriteJSON(w io.Writer, r *analyzer.Report, version string) error {
	j := &jsonWriter{w: w, buf: make([]byte, 0, 2*jsonFlushAt)}
	j.report(r, version)
	j.flush()
	return j.err
}
