package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

type rehearsalDoc struct {
	Files []struct {
		Path       string `json:"path"`
		Findings   []findingDoc
		Statements []struct {
			Findings []findingDoc `json:"findings"`
		} `json:"statements"`
	} `json:"files"`
	Notes []string `json:"notes"`
}

type findingDoc struct {
	Rule      string `json:"rule"`
	Message   string `json:"message"`
	Rehearsal string `json:"rehearsal"`
}

func (d rehearsalDoc) findings() []findingDoc {
	var out []findingDoc
	for _, f := range d.Files {
		out = append(out, f.Findings...)
		for _, s := range f.Statements {
			out = append(out, s.Findings...)
		}
	}
	return out
}

func rehearsalRepo(t *testing.T, change string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		".github/migration-guard.yml":  "postgres_version: 15\n",
		"db/migrations/00001_init.sql": "-- +goose Up\nCREATE TABLE users (id int PRIMARY KEY, email text);\n-- +goose Down\nDROP TABLE users;\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	writeFiles(t, dir, map[string]string{"db/migrations/00002_change.sql": change})
	return dir
}

// TestRehearseCommand runs `rehearse` and `check --rehearse` on a scratch
// server and in a private cluster: the same report, with what PostgreSQL did.
func TestRehearseCommand(t *testing.T) {
	dir := rehearsalRepo(t, "-- +goose Up\nCREATE INDEX users_email ON users (email);\nALTER TABLE users ALTER COLUMN emial SET NOT NULL;\n-- +goose Down\nDROP INDEX users_email;\n")
	for _, args := range [][]string{
		{"rehearse", "--base", "main", "--format", "json", "--rehearsal-db", pgtest.Scratch(t)},
		{"check", "--rehearse", "--base", "main", "--format", "json"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := runBinary(t, dir, nil, args...)
			if r.status != exitApproval {
				t.Fatalf("status %d\n%s%s", r.status, r.stdout, r.stderr)
			}
			var doc rehearsalDoc
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatal(err)
			}
			var failed, confirmed bool
			for _, f := range doc.findings() {
				if f.Rule == "fails-at-deploy" && strings.Contains(f.Message, `column "emial" of relation "users" does not exist`) && strings.Contains(f.Message, "00002_change.sql:3") {
					failed = true
				}
				if f.Rule == "blocking-index-build" && f.Rehearsal == "confirmed" {
					confirmed = true
				}
			}
			if !failed || !confirmed {
				t.Errorf("want fails-at-deploy and a confirmed blocking-index-build:\n%s", r.stdout)
			}
		})
	}
}

func TestRehearseRefusesTables(t *testing.T) {
	dir := rehearsalRepo(t, "-- +goose Up\nCREATE INDEX users_email ON users (email);\n")
	r := runBinary(t, dir, []string{"MIGRATION_GUARD_REHEARSAL_DB=" + pgtest.Scratch(t, "CREATE TABLE customers (id int)")}, "rehearse", "--base", "main")
	if r.status != exitError || !strings.Contains(r.stderr, "not a scratch server") || !strings.Contains(r.stderr, "public.customers") {
		t.Fatalf("status %d\n%s%s", r.status, r.stdout, r.stderr)
	}
}
