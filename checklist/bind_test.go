package checklist

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/migration-guard/migration-guard/analyzer"
)

// analyzed runs the real analyzer over a base and a head, as the App does.
func analyzed(t *testing.T, base, head map[string]string, changed ...string) *analyzer.Report {
	t.Helper()
	toFS := func(m map[string]string) fstest.MapFS {
		fs := fstest.MapFS{}
		for p, c := range m {
			fs[p] = &fstest.MapFile{Data: []byte(c)}
		}
		return fs
	}
	rep, err := analyzer.Analyze(context.Background(), analyzer.Request{Base: toFS(base), Head: toFS(head), Changed: changed, Config: analyzer.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// What an approval binds to, from SQL to fingerprint: the same text can
// run as something else, and only what runs may keep the approval.
func TestFingerprintBindsWhatWillRun(t *testing.T) {
	base := map[string]string{
		"db/migrations/001_init.up.sql":   "CREATE TABLE scratch (id int);\nCREATE SCHEMA billing;\nCREATE TABLE billing.scratch (id int);\n",
		"db/migrations/001_init.down.sql": "DROP TABLE billing.scratch;\nDROP SCHEMA billing;\nDROP TABLE scratch;\n",
	}
	approved := map[string]string{
		"db/migrations/005_drop.up.sql":   "DROP TABLE scratch;\n",
		"db/migrations/005_drop.down.sql": "CREATE TABLE scratch (id int);\n",
	}
	with := func(changes map[string]string) map[string]string {
		out := map[string]string{}
		for p, c := range base {
			out[p] = c
		}
		for p, c := range approved {
			out[p] = c
		}
		for p, c := range changes {
			out[p] = c
		}
		return out
	}
	changedOf := func(changes map[string]string) []string {
		out := []string{"db/migrations/005_drop.up.sql", "db/migrations/005_drop.down.sql"}
		for p := range changes {
			out = append(out, p)
		}
		return out
	}
	want := ApprovalFingerprint(analyzed(t, base, with(nil), changedOf(nil)...))
	if want == "" {
		t.Fatal("the DROP needs no approval")
	}
	tests := []struct {
		name    string
		changes map[string]string
		same    bool
	}{
		{"a README", map[string]string{"README.md": "# notes\n"}, true},
		{"spacing and comments in the approved file", map[string]string{"db/migrations/005_drop.up.sql": "-- cleanup\ndrop   table scratch; -- gone\n"}, true},
		{"a comment in an unrelated migration", map[string]string{"db/migrations/004_note.up.sql": "-- nothing yet\nCREATE TABLE notes (id int);\n", "db/migrations/004_note.down.sql": "DROP TABLE notes;\n"}, true},
		{"SET search_path above the DROP", map[string]string{"db/migrations/005_drop.up.sql": "SET search_path = billing;\nDROP TABLE scratch;\n"}, false},
		{"SET ROLE above the DROP", map[string]string{"db/migrations/005_drop.up.sql": "SET ROLE billing;\nDROP TABLE scratch;\n"}, false},
		{"another statement in the approved file", map[string]string{"db/migrations/005_drop.up.sql": "DROP TABLE scratch;\nUPDATE billing.scratch SET id = 0 WHERE id = 1;\n"}, false},
		// golang-migrate runs a run over one connection: a SET in an
		// earlier new file still holds.
		{"SET search_path in an earlier new file", map[string]string{
			"db/migrations/003_path.up.sql":   "SET search_path = billing;\n",
			"db/migrations/003_path.down.sql": "SELECT 1;\n",
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := analyzed(t, base, with(tt.changes), changedOf(tt.changes)...)
			got := ApprovalFingerprint(rep)
			if (got == want) != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got == want, tt.same)
			}
		})
	}
}

func TestFindingsNameTheResolvedSchema(t *testing.T) {
	rep := analyzed(t, nil, map[string]string{"db/001_drop.sql": "SET search_path = billing;\nDROP TABLE invoices;\n"})
	var drop *analyzer.Statement
	for i := range rep.Files[0].Statements {
		if s := &rep.Files[0].Statements[i]; strings.HasPrefix(s.SQL, "DROP") {
			drop = s
		}
	}
	if drop == nil || len(drop.Findings) == 0 {
		t.Fatalf("no DROP finding: %+v", rep.Files[0].Statements)
	}
	if !strings.Contains(drop.Findings[0].Message, "billing.invoices") {
		t.Errorf("message %q", drop.Findings[0].Message)
	}
	if strings.Join(drop.Objects, ",") != "billing.invoices" || strings.Join(drop.Settings, ",") != "search_path=billing" {
		t.Errorf("objects %q settings %q", drop.Objects, drop.Settings)
	}
}

func TestUnreadableFileBindsItsBlob(t *testing.T) {
	rep := func(blob string) *analyzer.Report {
		return &analyzer.Report{Files: []analyzer.File{{Path: "db/002.sql", BlobSHA: blob, Findings: []analyzer.Finding{
			{Rule: "unreadable-file", Severity: analyzer.Danger, RequiresApproval: true, Message: "db/002.sql is binary"},
		}}}}
	}
	a, b := ApprovalFingerprint(rep(strings.Repeat("a", 40))), ApprovalFingerprint(rep(strings.Repeat("b", 40)))
	if a == "" || a == b {
		t.Errorf("the same message over other bytes keeps the fingerprint: %q %q", a, b)
	}
}

// A push that makes the approved DROP run in another schema resets the
// approval, and the reset says what changed.
func TestResetListsWhatChanged(t *testing.T) {
	base := map[string]string{"db/001_init.sql": "CREATE TABLE scratch (id int);\nCREATE SCHEMA billing;\nCREATE TABLE billing.scratch (id int);\n"}
	head := func(sql string) map[string]string {
		return map[string]string{"db/001_init.sql": base["db/001_init.sql"], "db/002_drop.sql": sql}
	}
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	prior := NewLedger(7, strings.Repeat("a", 40), strings.Repeat("c", 40), "main", analyzed(t, base, head("DROP TABLE scratch;\n"), "db/002_drop.sql"))
	prior.Add(LedgerRecord{Kind: RecordApproval, Login: "carol", UserID: 3, At: t0, Fingerprint: prior.Fingerprint, Head: prior.Head, PR: 7, BaseRef: "main"})
	cur := NewLedger(7, strings.Repeat("b", 40), strings.Repeat("c", 40), "main", analyzed(t, base, head("SET search_path = billing;\nDROP TABLE scratch;\n"), "db/002_drop.sql"))
	cur.Carry(prior, t0.Add(time.Hour))
	if cur.Approved() {
		t.Fatal("the approval carried over a SET search_path")
	}
	last := cur.Records[len(cur.Records)-1]
	if last.Kind != RecordReset || last.Changes == nil || len(last.Changes.Changed) != 1 {
		t.Fatalf("reset %+v", last)
	}
	got := last.Changes.Changed[0]
	for _, want := range []string{"DROP TABLE scratch;", "now on `billing.scratch`, was on `public.scratch`", "runs under `search_path=billing`, was under none"} {
		if !strings.Contains(got, want) {
			t.Errorf("change line %q lacks %q", got, want)
		}
	}
	if line := historyLine(cur); !strings.Contains(line, "billing.scratch") {
		t.Errorf("history line %q", line)
	}
}

// A ledger from before fingerprint versions were recorded (v1) resets
// once, saying why, and the next push carries the new approval.
func TestOldFingerprintVersionResetsOnce(t *testing.T) {
	rep := analyzed(t, nil, map[string]string{"db/001_drop.sql": "DROP TABLE scratch;\n"})
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	old := NewLedger(7, strings.Repeat("a", 40), strings.Repeat("c", 40), "main", rep)
	old.FPV, old.Fingerprint = 0, strings.Repeat("9", 64)
	old.Add(LedgerRecord{Kind: RecordApproval, Login: "carol", UserID: 3, At: t0, Fingerprint: old.Fingerprint, Head: old.Head, PR: 7, BaseRef: "main"})
	parsed, ok := ParseLedger("x\n"+old.Marker(), old.Head)
	if !ok || !parsed.Approved() {
		t.Fatalf("the old ledger does not parse as approved: %v", ok)
	}
	cur := NewLedger(7, strings.Repeat("b", 40), strings.Repeat("c", 40), "main", rep)
	cur.Carry(parsed, t0.Add(time.Hour))
	last := cur.Records[len(cur.Records)-1]
	if cur.Approved() || last.Kind != RecordReset || !strings.Contains(last.Reason, "fingerprint version 2") || last.Changes != nil {
		t.Fatalf("reset %+v", last)
	}
	cur.Add(LedgerRecord{Kind: RecordApproval, Login: "carol", UserID: 3, At: t0.Add(2 * time.Hour), Fingerprint: cur.Fingerprint, Head: cur.Head, PR: 7, BaseRef: "main"})
	next := NewLedger(7, strings.Repeat("d", 40), strings.Repeat("c", 40), "main", rep)
	next.Carry(cur, t0.Add(3*time.Hour))
	if !next.Approved() {
		t.Error("the approval given under v2 did not carry")
	}
}

// TestFingerprintBindsWhatCalledCodeDestroys: the statement that calls a
// function is what needs approval, with what the body destroys, and the
// body may stand in another file of the change, which holds nothing
// needing approval itself. Pointing the body at another table keeps every
// approved statement's text: the approval must not carry.
func TestFingerprintBindsWhatCalledCodeDestroys(t *testing.T) {
	base := map[string]string{
		"db/migrations/001_init.up.sql":   "CREATE TABLE sessions (id int);\nCREATE TABLE users (id int);\n",
		"db/migrations/001_init.down.sql": "DROP TABLE users;\nDROP TABLE sessions;\n",
	}
	head := func(body, caller string) map[string]string {
		out := map[string]string{
			"db/migrations/002_fn.up.sql":     "CREATE OR REPLACE FUNCTION cleanup() RETURNS void LANGUAGE sql AS '" + body + "';\n",
			"db/migrations/002_fn.down.sql":   "DROP FUNCTION cleanup();\n",
			"db/migrations/003_call.up.sql":   caller,
			"db/migrations/003_call.down.sql": "SELECT 1;\n",
		}
		for p, c := range base {
			out[p] = c
		}
		return out
	}
	changed := []string{"db/migrations/002_fn.up.sql", "db/migrations/002_fn.down.sql", "db/migrations/003_call.up.sql", "db/migrations/003_call.down.sql"}
	tests := []struct {
		name         string
		body, caller string
		same         bool
	}{
		{"the same body, reformatted", "delete  from sessions", "SELECT cleanup();\n", true},
		{"the body deletes another table", "DELETE FROM users", "SELECT cleanup();\n", false},
		{"the body deletes both", "DELETE FROM sessions; DELETE FROM users", "SELECT cleanup();\n", false},
		{"a view runs it: another table", "DELETE FROM users", "CREATE VIEW v AS SELECT cleanup();\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ApprovalFingerprint(analyzed(t, base, head("DELETE FROM sessions", tt.caller), changed...))
			if want == "" {
				t.Fatal("the call needs no approval")
			}
			got := ApprovalFingerprint(analyzed(t, base, head(tt.body, tt.caller), changed...))
			if (got == want) != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got == want, tt.same)
			}
		})
	}
}

// TestFingerprintBindsReachedBodies: a call, a trigger or stored code runs
// a body it does not contain, which may stand in another file of the
// change. Any edit of what such a body runs (another column of the same
// table, another WHERE, one more statement, a body reached through another
// function) must drop the approval of the statement that runs it; spacing,
// comments and keyword case, which the body's normalized text leaves out,
// keep it.
func TestFingerprintBindsReachedBodies(t *testing.T) {
	base := map[string]string{
		"db/migrations/001_init.up.sql":   "CREATE TABLE sessions (id int, token text, user_id int);\nCREATE TABLE users (id int);\n",
		"db/migrations/001_init.down.sql": "DROP TABLE users;\nDROP TABLE sessions;\n",
	}
	fn := func(name, body string) string {
		return "CREATE OR REPLACE FUNCTION " + name + "() RETURNS void LANGUAGE plpgsql AS $fn$\nBEGIN\n" + body + "\nEND\n$fn$;\n"
	}
	head := func(functions, caller string) map[string]string {
		out := map[string]string{
			"db/migrations/002_fn.up.sql":     functions,
			"db/migrations/002_fn.down.sql":   "SELECT 1;\n",
			"db/migrations/003_call.up.sql":   caller,
			"db/migrations/003_call.down.sql": "SELECT 1;\n",
		}
		for p, c := range base {
			out[p] = c
		}
		return out
	}
	changed := []string{"db/migrations/002_fn.up.sql", "db/migrations/002_fn.down.sql", "db/migrations/003_call.up.sql", "db/migrations/003_call.down.sql"}
	const call = "SELECT cleanup();\n"
	trigger := "CREATE TRIGGER t AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION cleanup();\n"
	trigFn := func(body string) string {
		return "CREATE OR REPLACE FUNCTION cleanup() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n" + body + "\nRETURN NEW;\nEND\n$fn$;\n"
	}
	tests := []struct {
		name           string
		before, after  string
		caller         string
		same           bool
		changedEntries int
	}{
		{"another column of the same table",
			fn("cleanup", "UPDATE sessions SET token = NULL;"), fn("cleanup", "UPDATE sessions SET user_id = NULL;"), call, false, 1},
		{"another WHERE",
			fn("cleanup", "DELETE FROM sessions WHERE now() > '2020-01-01';"), fn("cleanup", "DELETE FROM sessions WHERE now() > '2090-01-01';"), call, false, 1},
		{"a statement added to the body",
			fn("cleanup", "DELETE FROM sessions WHERE now() > '2020-01-01';"), fn("cleanup", "DELETE FROM sessions WHERE now() > '2020-01-01';\nDELETE FROM sessions;"), call, false, 1},
		{"a harmless statement added to the body",
			fn("cleanup", "UPDATE sessions SET token = NULL;"), fn("cleanup", "UPDATE sessions SET token = NULL;\nPERFORM 1;"), call, false, 1},
		{"a condition changed in the body",
			fn("cleanup", "IF now() < '2030-01-01' THEN UPDATE sessions SET token = NULL; END IF;"), fn("cleanup", "IF now() > '2030-01-01' THEN UPDATE sessions SET token = NULL; END IF;"), call, false, 1},
		{"the body of a function reached through another",
			fn("purge", "UPDATE sessions SET token = NULL;") + fn("cleanup", "PERFORM purge();"),
			fn("purge", "UPDATE sessions SET user_id = NULL;") + fn("cleanup", "PERFORM purge();"), call, false, 1},
		{"a trigger's function",
			trigFn("UPDATE sessions SET token = NULL;"), trigFn("UPDATE sessions SET user_id = NULL;"), trigger, false, 1},
		{"a view's function",
			fn("cleanup", "UPDATE sessions SET token = NULL;"), fn("cleanup", "UPDATE sessions SET user_id = NULL;"), "CREATE VIEW v AS SELECT cleanup();\n", false, 1},
		{"the same body, spacing, comments and case changed",
			fn("cleanup", "UPDATE sessions SET token = NULL;"), fn("cleanup", "-- tokens go\nupdate   sessions\n  set token = null; /* all of them */"), call, true, 0},
	}
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := analyzed(t, base, head(tt.before, tt.caller), changed...)
			after := analyzed(t, base, head(tt.after, tt.caller), changed...)
			want, got := ApprovalFingerprint(before), ApprovalFingerprint(after)
			if want == "" || got == "" {
				t.Fatalf("the statement needs no approval: before %q after %q", want, got)
			}
			if (got == want) != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got == want, tt.same)
			}
			// Carried across the push: the approval holds only when the
			// fingerprint does, and a reset names the statement whose
			// reached code changed.
			prior := NewLedger(7, strings.Repeat("a", 40), strings.Repeat("c", 40), "main", before)
			prior.Add(LedgerRecord{Kind: RecordApproval, Login: "carol", UserID: 3, At: t0, Fingerprint: prior.Fingerprint, Head: prior.Head, PR: 7, BaseRef: "main"})
			cur := NewLedger(7, strings.Repeat("b", 40), strings.Repeat("c", 40), "main", after)
			cur.Carry(prior, t0.Add(time.Hour))
			if cur.Approved() != tt.same {
				t.Fatalf("approved after the push = %v, want %v", cur.Approved(), tt.same)
			}
			if tt.same {
				return
			}
			last := cur.Records[len(cur.Records)-1]
			if last.Kind != RecordReset || last.Changes == nil || len(last.Changes.Changed) != tt.changedEntries {
				t.Fatalf("reset %+v", last)
			}
			if got := last.Changes.Changed[0]; !strings.Contains(got, "003_call.up.sql") || !strings.Contains(got, "the function bodies it runs changed") {
				t.Errorf("change line %q", got)
			}
		})
	}
}

// An entry that reaches no function body hashes as it did before bodies
// were bound: approvals in force over such statements do not reset.
func TestFingerprintWithoutReachedCodeUnchanged(t *testing.T) {
	rep := analyzed(t, nil, map[string]string{"db/001_drop.sql": "DROP TABLE scratch;\n"})
	entries := ApprovalEntries(rep)
	if len(entries) != 1 || entries[0].Reached != "" {
		t.Fatalf("entries %+v", entries)
	}
	// Computed by the code before bodies were bound.
	const want = "150fbcc1949fab6969b2bfcd199ea2b1b629edc4e88390fdbdf5d5e0c87a45eb"
	if got := ApprovalFingerprint(rep); got != want {
		t.Errorf("fingerprint %s, want %s", got, want)
	}
}
