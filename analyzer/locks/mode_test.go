package locks

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// The conflict table as the "Explicit Locking" chapter prints it: row mode,
// then the modes it conflicts with.
var docConflicts = map[Mode][]Mode{
	AccessShare:          {AccessExclusive},
	RowShare:             {Exclusive, AccessExclusive},
	RowExclusive:         {Share, ShareRowExclusive, Exclusive, AccessExclusive},
	ShareUpdateExclusive: {ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive},
	Share:                {RowExclusive, ShareUpdateExclusive, ShareRowExclusive, Exclusive, AccessExclusive},
	ShareRowExclusive:    {RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive},
	Exclusive:            {RowShare, RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive},
	AccessExclusive:      {AccessShare, RowShare, RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive},
}

func TestConflicts(t *testing.T) {
	for a := AccessShare; a <= AccessExclusive; a++ {
		for b := AccessShare; b <= AccessExclusive; b++ {
			want := contains(modeNamesOf(docConflicts[a]), b.String())
			if got := a.Conflicts(b); got != want {
				t.Errorf("%s vs %s: got %v, want %v", a, b, got, want)
			}
			if a.Conflicts(b) != b.Conflicts(a) {
				t.Errorf("%s vs %s: not symmetric", a, b)
			}
		}
	}
	if Mode(0).Conflicts(AccessExclusive) || AccessExclusive.Conflicts(Mode(9)) {
		t.Error("invalid modes must conflict with nothing")
	}
}

func modeNamesOf(ms []Mode) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.String())
	}
	return out
}

func TestModeText(t *testing.T) {
	want := map[Mode]string{
		AccessShare: "ACCESS SHARE", RowShare: "ROW SHARE", RowExclusive: "ROW EXCLUSIVE",
		ShareUpdateExclusive: "SHARE UPDATE EXCLUSIVE", Share: "SHARE", ShareRowExclusive: "SHARE ROW EXCLUSIVE",
		Exclusive: "EXCLUSIVE", AccessExclusive: "ACCESS EXCLUSIVE",
	}
	for m, s := range want {
		if m.String() != s {
			t.Errorf("%d: got %q, want %q", int(m), m.String(), s)
		}
		if m.Blocks() == "" || m.Blocks() == Mode(0).Blocks() {
			t.Errorf("%s: no description of what it blocks", m)
		}
	}
	if Mode(0).String() != "NO LOCK" {
		t.Errorf("zero mode: %q", Mode(0).String())
	}
	if AccessExclusive.Blocks() != "blocks every read and write" || Share.Blocks() != "blocks writes, not reads" ||
		ShareUpdateExclusive.Blocks() != "blocks other DDL and VACUUM, not reads or writes" {
		t.Error("the descriptions people see changed")
	}
	for m := AccessShare; m <= AccessExclusive; m++ {
		if got, want := m.BlocksReads(), m == AccessExclusive; got != want {
			t.Errorf("%s.BlocksReads() = %v", m, got)
		}
		if got, want := m.BlocksWrites(), m >= Share; got != want {
			t.Errorf("%s.BlocksWrites() = %v", m, got)
		}
	}
}

// TestConflictsAgainstPostgres takes every pair of modes on a real server
// from two sessions, the second with NOWAIT, and checks that the second
// fails exactly when Conflicts says so.
func TestConflictsAgainstPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := pgx.Connect(ctx, pgtest.AdminURL)
	if err != nil {
		t.Fatalf("PostgreSQL must be reachable on 127.0.0.1:5432 (user postgres, trust auth) to measure lock conflicts: %v", err)
	}
	defer a.Close(context.Background())
	b, err := pgx.Connect(ctx, pgtest.AdminURL)
	if err != nil {
		t.Fatalf("second connection: %v", err)
	}
	defer b.Close(context.Background())
	// A temporary table is private to its session; a regular one in a
	// schema of its own keeps the test out of everyone's way.
	schema := fmt.Sprintf("mg_locks_conflicts_%d", time.Now().UnixNano())
	if _, err := a.Exec(ctx, "CREATE SCHEMA "+schema+"; CREATE TABLE "+schema+".x (id int)"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := a.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	}()
	for m1 := AccessShare; m1 <= AccessExclusive; m1++ {
		for m2 := AccessShare; m2 <= AccessExclusive; m2++ {
			if _, err := a.Exec(ctx, "BEGIN; LOCK TABLE "+schema+".x IN "+m1.String()+" MODE"); err != nil {
				t.Fatal(err)
			}
			_, err := b.Exec(ctx, "BEGIN; LOCK TABLE "+schema+".x IN "+m2.String()+" MODE NOWAIT")
			var pgErr *pgconn.PgError
			blocked := errors.As(err, &pgErr) && pgErr.Code == "55P03"
			if err != nil && !blocked {
				t.Fatalf("%s then %s: %v", m1, m2, err)
			}
			if blocked != m1.Conflicts(m2) {
				t.Errorf("%s held, %s requested: server blocked=%v, Conflicts=%v", m1, m2, blocked, m1.Conflicts(m2))
			}
			for _, c := range []*pgx.Conn{a, b} {
				if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
