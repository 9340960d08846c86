package analyzer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/plpgsql"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
	"github.com/migration-guard/migration-guard/internal/ahead"
)

// Request is what to analyze.
type Request struct {
	// Base is the repository at the base of the change. Every migration in it
	// is replayed, in the tool's order, to know the schema that exists. Nil
	// when there is no base (files given one by one): then each file is
	// judged against what the earlier ones built.
	Base fs.FS
	// Head is the repository with the change.
	Head fs.FS
	// Changed lists the paths (in Head) that the change adds or modifies.
	// Only migrations among them are judged. Nil means every migration found
	// in Head is judged.
	Changed []string
	// Migrations, when set, are judged in this order instead of discovering
	// them in Head (the CLI's `check FILE...`).
	Migrations []layout.Migration
	// Problems are what discovering Migrations found that belongs to no
	// single migration (a file a journal or plan does not list); they are
	// reported as notes, as Discover's are when Head is examined.
	Problems []layout.Problem
	Config   Config
	// Stats are production table sizes (from `migration-guard stats`);
	// nil means sizes are unknown, which question 6 says plainly.
	Stats *prodstats.File
	// Probe counts the rows that would break a statement; nil means no
	// data probes.
	Probe DataProbe
	// Unseen are places of Head the caller could not list or read (GitHub
	// truncated a folder's listing): migrations the tool would run may be
	// there, so each is a finding that needs approval.
	Unseen []Unseen
	// MaxStatements, when positive, bounds the statements judged: beyond
	// it Analyze stops with a *StatementLimitError rather than a report.
	MaxStatements int
	// Cache, when set, keeps the schema the base history builds, keyed by
	// the configuration and every base migration's content: the next
	// request over the same history reads it back instead of replaying.
	// The report is the same with or without it.
	Cache Cache
	// BaseID, when set, names everything Base holds: two requests whose
	// bases have the same BaseID have the same files, byte for byte (the
	// CLI gives a digest of the base commit's listing, every blob id in
	// it). With Cache, what discovery finds at the base is then kept under
	// it without the files' text, so that a request over a base seen
	// before reads the base's files only when its schema is not in the
	// cache or a migration's text must be compared with the head's.
	BaseID string
}

// Unseen is a place of the repository that could not be examined.
type Unseen struct {
	Path   string
	ID     string // the git object id that stands for it (a tree id)
	Reason string
}

// StatementLimitError says a change holds more statements than
// Request.MaxStatements allows to judge.
type StatementLimitError struct{ Max int }

func (e *StatementLimitError) Error() string {
	return fmt.Sprintf("the change holds more than %d statements to judge", e.Max)
}

// Analyze answers the checklist for every changed migration.
func Analyze(ctx context.Context, req Request) (*Report, error) {
	d, err := Discover(req)
	if err != nil {
		return nil, err
	}
	return d.Analyze(ctx)
}

// Discovered is a request with the migrations at its base and head found:
// its Fingerprint and its Analyze share the one reading of the files.
type Discovered struct {
	req Request
	// base is nil without a base; head is nil when the request gives its
	// migrations (Request.Migrations).
	base, head *layout.Set
	// summary is set when base came from the cache (Request.BaseID):
	// its migrations then carry no text, and summary the keys and sums
	// that stand for it; fullBase reads the text when it is needed.
	summary *baseSummary
	// keys stand for the base's set in keys, when known without hashing
	// it again (Request.BaseID).
	keys *baseKeys
}

// Discover validates the configuration and finds the migrations at the
// request's base and head.
func Discover(req Request) (*Discovered, error) {
	if err := req.Config.Validate(); err != nil {
		return nil, err
	}
	d := &Discovered{req: req}
	locs := req.Config.locations()
	if req.Base != nil {
		if sum := restoreBaseSummary(req); sum != nil {
			d.base, d.summary, d.keys = &sum.Set, sum, &sum.Keys
		} else {
			set, err := layout.Discover(req.Base, locs)
			if err != nil {
				return nil, fmt.Errorf("finding the migrations at the base: %w", err)
			}
			d.base = set
			d.keys = keepBaseSummary(req, set)
		}
	}
	if req.Migrations == nil {
		if req.Head == nil {
			return nil, fmt.Errorf("nothing to analyze: no head and no migrations")
		}
		set, err := layout.Discover(req.Head, locs)
		if err != nil {
			return nil, fmt.Errorf("finding the migrations of the change: %w", err)
		}
		d.head = set
	}
	return d, nil
}

// Analyze answers the checklist for every changed migration.
func (d *Discovered) Analyze(ctx context.Context) (*Report, error) {
	req := d.req
	cfg := req.Config
	s := newSession(cfg)
	s.stats, s.probe, s.ctx, s.maxStatements = req.Stats, req.Probe, ctx, req.MaxStatements
	rep := &Report{PostgresVersion: cfg.PostgresVersion}

	var baseIDs map[string]bool
	// base is what the base's migrations read as: a symbolic link reads
	// as its target, so a migration whose path did not change can still
	// run other bytes.
	base := &baseTexts{d: d}
	if req.Base != nil {
		baseIDs = map[string]bool{}
		var key string
		restored := false
		if req.Cache != nil {
			var err error
			if key, err = d.baseCatalogKey(); err != nil {
				slog.Debug("cache: no key for the base", "err", err)
			} else if cat := restoreBase(req.Cache, key); cat != nil {
				s.cat, restored = cat, true
			}
		}
		if !restored {
			// The replay reads every base migration's text.
			if err := d.fullBase(); err != nil {
				return nil, err
			}
		}
		set := d.base
		base.index()
		var parsed *ahead.Sequence[*parsedFile]
		if !restored {
			jobs := make([]parseJob, len(set.Migrations))
			for i, m := range set.Migrations {
				jobs[i] = parseJob{m: m}
			}
			parsed = parseAhead(jobs, cfg.MaxFileBytes)
			defer parsed.Stop()
		}
		for _, m := range set.Migrations {
			if !restored {
				s.replay(m, parsed.Next())
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			baseIDs[m.Path] = true
			s.downParts.count(m)
		}
		if key != "" && !restored && !s.expired() {
			if b, err := s.cat.Encode(); err != nil {
				slog.Debug("cache: not keeping the base catalog", "err", err)
			} else {
				req.Cache.Put(key, b)
			}
		}
		rep.BaseMigrations = len(set.Migrations)
	}
	s.cat.BeginChangeSet()
	if note := s.statsCoverage(); note != "" {
		rep.Notes = append(rep.Notes, note)
	}

	migrations := req.Migrations
	for _, p := range req.Problems {
		rep.Notes = append(rep.Notes, problemNote(p))
	}
	if migrations == nil {
		set := d.head
		migrations = set.Migrations
		for _, p := range set.Problems {
			rep.Notes = append(rep.Notes, problemNote(p))
		}
	}
	var changed map[string]bool
	if req.Changed != nil {
		changed = map[string]bool{}
		for _, p := range req.Changed {
			changed[path.Clean(p)] = true
		}
	}
	judged := 0
	if req.Base == nil {
		// Without a base, the migrations given are the project's history:
		// they tell whether it writes down parts at all.
		for _, m := range migrations {
			s.downParts.count(m)
		}
	}
	// What each migration is read for is known before any is: the ones
	// replayed or judged are parsed ahead, in this order, on the other
	// cores, while the schema is built from the earlier ones.
	steps := make([]headStep, len(migrations))
	var jobs []parseJob
	for i, m := range migrations {
		// A migration whose path is not among the changed ones but whose
		// content is not the base's (a link whose target changed) runs
		// other bytes all the same.
		contentChanged := false
		if b, ok := base.byPath[m.Path]; ok {
			contentChanged = b.Unreadable != m.Unreadable || (m.Unreadable != "" && b.BlobSHA != m.BlobSHA)
			if !contentChanged {
				same, err := base.same(m)
				if err != nil {
					return nil, err
				}
				contentChanged = !same
			}
		}
		st := &steps[i]
		st.up = changed == nil || changed[m.Path] || contentChanged
		st.down = m.DownPath != "" && (changed == nil || changed[m.DownPath])
		st.judge = st.up || st.down
		// Not changed but not at the base (or no base): it is part of the
		// schema all the same. Not changed and at the base: the base's
		// replay applied it.
		st.replay = !st.judge && (baseIDs == nil || !baseIDs[m.Path])
		if st.judge || st.replay {
			jobs = append(jobs, parseJob{m: m, judge: st.judge, up: st.up, down: st.down || st.up, reads: s.reads})
		}
	}
	parsed := parseAhead(jobs, cfg.MaxFileBytes)
	defer parsed.Stop()
	for i, m := range migrations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := steps[i]
		if st.replay {
			s.replay(m, parsed.Next())
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		if !st.judge {
			continue
		}
		upChanged, downChanged := st.up, st.down
		if req.Base == nil && !m.FollowsSameVersion {
			// Without a base, each file is judged against what the earlier
			// ones built, as if they had run in production already; files
			// that share a version in a plain folder run together, so what
			// one creates is still new in the next.
			s.checkForeignKeyIndexes(rep)
			s.cat.Settle()
		}
		opt := judgeOptions{up: upChanged, down: downChanged || upChanged, existedAtBase: baseIDs[m.Path],
			inRun: req.Base != nil && upChanged && !baseIDs[m.Path]}
		if opt.existedAtBase && !m.Repeatable {
			opt.applied = s.appliedStatements(req.Base, m)
		}
		if judged == 0 || !m.Kind.SharesSession() {
			// A deploy starts a new session; psql starts one per file. Tools
			// that run a whole run over one connection keep a SET from one
			// file in the next.
			s.cat.ResetSession()
		}
		judged++
		f := s.judge(m, opt, parsed.Next())
		// judge stops early when the deadline passes: a file cut short
		// is not a judgement.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.overLimit {
			return nil, &StatementLimitError{Max: s.maxStatements}
		}
		rep.Files = append(rep.Files, f)
	}
	s.checkForeignKeyIndexes(rep)
	for _, u := range req.Unseen {
		f := File{Path: u.Path, Statements: []Statement{}, BlobSHA: u.ID, Findings: []Finding{
			s.fileFinding(ruleUnreadableFile, u.Reason, Position{Line: 1, Column: 1}),
		}}
		rep.Files = append(rep.Files, f)
	}
	if note := s.downParts.note(); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	return rep, nil
}

// baseTexts compares head migrations with the base's, by path.
type baseTexts struct {
	d      *Discovered
	byPath map[string]layout.Migration
	// sums is the SHA-256 of each base migration's text while the base
	// is the cache's, without text; nil once it has its text.
	sums map[string][sha256.Size]byte
}

// index lists the base's migrations by path (the last of a path wins).
func (t *baseTexts) index() {
	t.byPath, t.sums = map[string]layout.Migration{}, nil
	if t.d.summary != nil {
		t.sums = map[string][sha256.Size]byte{}
	}
	for i, m := range t.d.base.Migrations {
		t.byPath[m.Path] = m
		if t.sums != nil {
			t.sums[m.Path] = t.d.summary.Sums[i]
		}
	}
}

// same says whether head migration m reads as the base's migration at its
// path did. Without the base's text, the bytes are compared by SHA-256;
// only a file whose bytes differ (line endings, which sameText forgives)
// needs the base's text, and then the base is read.
func (t *baseTexts) same(m layout.Migration) (bool, error) {
	if sum, ok := t.sums[m.Path]; ok {
		if sha256.Sum256(m.Content) == sum {
			return true, nil
		}
		if err := t.d.fullBase(); err != nil {
			return false, err
		}
		t.index()
	}
	return sameText(t.byPath[m.Path].Content, m.Content), nil
}

// fullBase reads the base's migrations with their text when they came
// from the cache without it.
func (d *Discovered) fullBase() error {
	if d.summary == nil {
		return nil
	}
	set, err := layout.Discover(d.req.Base, d.req.Config.locations())
	if err != nil {
		return fmt.Errorf("finding the migrations at the base: %w", err)
	}
	d.base, d.summary = set, nil
	return nil
}

// headStep is what Analyze does with a migration of the change: judge it
// (and which parts changed), replay it, or neither (the base replayed it).
type headStep struct {
	judge, up, down, replay bool
}

// sameText compares two files' bytes with line endings normalized: a
// checkout with core.autocrlf has CRLF where the commit has LF.
func sameText(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	crlf, lf := []byte("\r\n"), []byte("\n")
	return bytes.Equal(bytes.ReplaceAll(a, crlf, lf), bytes.ReplaceAll(b, crlf, lf))
}

func problemNote(p layout.Problem) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Message)
	}
	if p.Path != "" {
		return p.Path + ": " + p.Message
	}
	return p.Message
}

func (c Config) locations() []layout.Location {
	out := make([]layout.Location, len(c.Migrations))
	for i, m := range c.Migrations {
		m.Path = strings.Trim(path.Clean(m.Path), "/")
		out[i] = m
	}
	return out
}

// session carries the schema from one migration to the next.
type session struct {
	cfg   Config
	cat   *catalog.Catalog
	stats *prodstats.File
	probe DataProbe
	ctx   context.Context
	// run is what the rules remember across the judged files.
	run *runState
	// runTx names the transaction that spans the pending migrations of
	// one run (drizzle) while such a migration is judged, else "".
	runTx string
	// judged counts the statements judged, against maxStatements.
	judged, maxStatements int
	overLimit             bool
	// downParts is what the base says of the project's down migrations.
	downParts downHabit
	// bodies are the procedural code of the judged file's statements,
	// read with its parse (parsedFile.bodies).
	bodies map[*pg_query.Node]*plpgsql.Body
	// bare are the bodies of CREATE FUNCTION statements read while the
	// file is judged (parsedFile.bare, and those read in procedural code),
	// as the catalog keeps them: applyOwn hands them to it.
	bare map[*pg_query.Node]*plpgsql.Body
	// reads keeps what reading each body gave, for the bodies the run
	// reads again (plpgsql.Memo).
	reads *plpgsql.Memo
	// creates keeps createsOnly's answers (creationsOf).
	creates map[createsKey]createsAnswer
	// fileCalls are the evaluated calls of the judged file's statements,
	// listed with its parse (parsedFile.calls).
	fileCalls map[*pg_query.Node][]evaluatedCall
	// innerCalls keeps the evaluated calls of the statements of
	// procedural code, by parse tree (stmtContext.evaluatedCalls).
	innerCalls map[*pg_query.Node][]evaluatedCall
}

func newSession(cfg Config) *session {
	return &session{cfg: cfg, cat: catalog.New(), run: newRunState(), reads: newBodyMemo(), innerCalls: map[*pg_query.Node][]evaluatedCall{}}
}

// expired says the job's deadline passed (or it was cancelled): the
// loops over statements stop, and Analyze returns the context's error,
// so that one huge file cannot hold a worker past the deadline.
func (s *session) expired() bool { return s.overLimit || (s.ctx != nil && s.ctx.Err() != nil) }

// replay applies a migration's up part to the catalog without judging it.
// Statements that do not parse are skipped: they did not change the schema
// PostgreSQL would have, or the migration never applied.
func (s *session) replay(m layout.Migration, p *parsedFile) {
	if m.Unreadable != "" || p.derr != nil {
		return
	}
	s.cat.ResetSession()
	s.cat.SetPosition(m.Path, 0)
	if p.script == nil {
		// The common case: the part parsed whole; no positions needed.
		for _, n := range p.trees {
			if s.expired() {
				return
			}
			s.cat.Apply(n)
		}
		return
	}
	lines := sqlscript.NewLines(p.d.Text)
	for _, st := range p.script.Statements {
		if st.Node == nil {
			continue
		}
		if s.expired() {
			return
		}
		line, _ := lines.Position(st.Start)
		s.cat.SetPosition(m.Path, line)
		s.cat.Apply(st.Node)
	}
}

// statsCoverage says when the statistics file does not describe the schema
// the migrations build: collected from another database, or stale.
func (s *session) statsCoverage() string {
	if s.stats == nil {
		return ""
	}
	known, found := 0, 0
	for _, t := range s.cat.Tables() {
		if t.Kind != catalog.KindTable {
			continue
		}
		known++
		if s.stats.Table(t.Schema, t.Name) != nil {
			found++
		}
	}
	switch {
	case known == 0:
		return ""
	case found == 0:
		return fmt.Sprintf("the statistics file (collected %s) holds none of the %d tables the migrations build: it was probably collected from another database; sizes are treated as unknown",
			s.stats.CollectedAt.Format("2006-01-02"), known)
	case found*2 < known:
		return fmt.Sprintf("the statistics file (collected %s) holds only %d of the %d tables the migrations build: collect it again with `migration-guard stats`",
			s.stats.CollectedAt.Format("2006-01-02"), found, known)
	}
	return ""
}

// appliedStatements lists the up statements of a migration as it is at the
// base: they ran already wherever the base ran, so an edit is judged by the
// statements it adds or changes.
func (s *session) appliedStatements(base fs.FS, m layout.Migration) map[string]bool {
	out := map[string]bool{}
	raw, err := fs.ReadFile(base, m.Path)
	if err != nil {
		return out
	}
	d, derr := sqlscript.Decode(raw, s.cfg.MaxFileBytes)
	if derr != nil {
		return out
	}
	up, _, _ := layout.Parts(m.Kind, m.Path, []byte(d.Text))
	for _, st := range sqlscript.Split(d.Text, up.Start, up.End).Statements {
		out[normalizedSQL(st.SQL)] = true
	}
	return out
}

// normalizedSQL folds white space so that re-indenting a statement does not
// make it new.
func normalizedSQL(sql string) string { return strings.Join(strings.Fields(sql), " ") }
