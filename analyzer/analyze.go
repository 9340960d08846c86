package analyzer

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
	"github.com/migration-guard/migration-guard/analyzer/layout"
	"github.com/migration-guard/migration-guard/analyzer/prodstats"
	"github.com/migration-guard/migration-guard/analyzer/sqlscript"
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
	Config     Config
	// Stats are production table sizes (from `migration-guard stats`);
	// nil means sizes are unknown, which question 6 says plainly.
	Stats *prodstats.File
	// Probe counts the rows that would break a statement; nil means no
	// data probes.
	Probe DataProbe
}

// Analyze answers the checklist for every changed migration.
func Analyze(ctx context.Context, req Request) (*Report, error) {
	cfg := req.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newSession(cfg)
	s.stats, s.probe, s.ctx = req.Stats, req.Probe, ctx
	rep := &Report{PostgresVersion: cfg.PostgresVersion}
	locs := cfg.locations()

	var baseIDs map[string]bool
	if req.Base != nil {
		set, err := layout.Discover(req.Base, locs)
		if err != nil {
			return nil, fmt.Errorf("finding the migrations at the base: %w", err)
		}
		baseIDs = map[string]bool{}
		for _, m := range set.Migrations {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s.replay(m)
			baseIDs[m.Path] = true
			s.downParts.count(m)
		}
		rep.BaseMigrations = len(set.Migrations)
	}
	s.cat.BeginChangeSet()
	if note := s.statsCoverage(); note != "" {
		rep.Notes = append(rep.Notes, note)
	}

	migrations := req.Migrations
	if migrations == nil {
		if req.Head == nil {
			return nil, fmt.Errorf("nothing to analyze: no head and no migrations")
		}
		set, err := layout.Discover(req.Head, locs)
		if err != nil {
			return nil, fmt.Errorf("finding the migrations of the change: %w", err)
		}
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
	for _, m := range migrations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		upChanged := changed == nil || changed[m.Path]
		downChanged := m.DownPath != "" && (changed == nil || changed[m.DownPath])
		if !upChanged && !downChanged {
			if baseIDs == nil || !baseIDs[m.Path] {
				// Not at the base (or no base) and not changed: it is part of
				// the schema all the same.
				s.replay(m)
			}
			continue
		}
		if req.Base == nil {
			// Without a base, each file is judged against what the earlier
			// ones built, as if they had run in production already.
			s.checkForeignKeyIndexes(rep)
			s.cat.Settle()
		}
		opt := judgeOptions{up: upChanged, down: downChanged || upChanged, existedAtBase: baseIDs[m.Path]}
		if opt.existedAtBase {
			opt.applied = s.appliedStatements(req.Base, m)
		}
		f := s.judge(m, opt)
		rep.Files = append(rep.Files, f)
	}
	s.checkForeignKeyIndexes(rep)
	if note := s.downParts.note(); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	return rep, nil
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
	// downParts is what the base says of the project's down migrations.
	downParts downHabit
}

func newSession(cfg Config) *session {
	return &session{cfg: cfg, cat: catalog.New()}
}

// replay applies a migration's up part to the catalog without judging it.
// Statements that do not parse are skipped: they did not change the schema
// PostgreSQL would have, or the migration never applied.
func (s *session) replay(m layout.Migration) {
	d, derr := sqlscript.Decode(m.Content, s.cfg.MaxFileBytes)
	if derr != nil {
		return
	}
	up, _, _ := s.parts(m, d)
	s.cat.ResetSession()
	s.cat.SetPosition(m.Path, 0)
	if nodes, ok := sqlscript.ParseTrees(d.Text, up.Start, up.End); ok {
		// The common case: no positions needed, the parser alone will do.
		for _, n := range nodes {
			s.cat.Apply(n)
		}
		return
	}
	lines := sqlscript.NewLines(d.Text)
	for _, st := range sqlscript.Split(d.Text, up.Start, up.End).Statements {
		if st.Node == nil {
			continue
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

// parts returns the up and down parts of a migration with offsets in the
// decoded text. Discover computed them on the raw bytes; a BOM shifts them.
func (s *session) parts(m layout.Migration, d *sqlscript.Decoded) (layout.Part, *layout.Part, []layout.Problem) {
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
		up.Tx, up.TxReason, up.TxLine = m.Up.Tx, m.Up.TxReason, m.Up.TxLine
	}
	return up, down, problems
}
