package catalog

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata and keywords_gen.go")

// TestReplayGolden replays testdata/replay (many migrations: renames, drops
// and re-creations, type changes, NOT VALID then VALIDATE, a growing enum,
// views, partitions, schemas) and compares the final model with a golden dump.
func TestReplayGolden(t *testing.T) {
	c := replay(t, replayFiles(t))
	got := c.Dump()
	golden := filepath.Join("testdata", "replay.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReplayGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("replay differs from %s (rerun with -update after checking):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only one side has, enough to spot a regression.
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	inW := map[string]int{}
	for _, l := range w {
		inW[l]++
	}
	inG := map[string]int{}
	for _, l := range g {
		inG[l]++
	}
	var b strings.Builder
	for _, l := range w {
		if inG[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if inW[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

func TestReplayOriginsAndLookups(t *testing.T) {
	c := replay(t, replayFiles(t))
	users := c.Table("public", "users")
	if users == nil {
		t.Fatal("users missing")
	}
	if users.Origin.InChangeSet || users.Origin.Path != "testdata/replay/001_users.sql" || users.Origin.Line != 2 {
		t.Errorf("users origin = %+v", users.Origin)
	}
	if col := users.Column("birth_year"); col == nil || !col.Origin.InChangeSet || col.Origin.Line != 4 {
		t.Errorf("birth_year origin = %+v", col)
	}
	if c.Table("", "invoices") != nil {
		t.Error("billing.invoices must not be visible with the default search path")
	}
	if c.Table("billing", "invoices") == nil {
		t.Error("billing.invoices missing")
	}
	ix, tbl := c.IndexByName("", "purchases_user_id_idx")
	if ix == nil || tbl.Name != "purchases" {
		t.Errorf("IndexByName(purchases_user_id_idx) = %v, %v", ix, tbl)
	}
	if k := c.ConstraintByName(c.Table("", "order_items"), "order_items_quantity_positive"); k == nil || !k.Validated {
		t.Errorf("validated constraint = %+v", k)
	}
	if k := c.ConstraintByName(users, "users_phone_not_null"); k == nil || k.Validated || k.NotNullColumn != "phone_number" {
		t.Errorf("NOT VALID not-null check = %+v", k)
	}
	e := c.Enum("", "order_status")
	if e == nil || strings.Join(e.Values, ",") != "pending,paid,cancelled,shipped,returned,archived" {
		t.Errorf("enum = %+v", e)
	}
	parts := c.Partitions(c.Table("", "events"))
	if len(parts) != 2 || parts[0].Name != "events_2024" || parts[1].Name != "events_2025" {
		t.Errorf("partitions = %v", parts)
	}
}
