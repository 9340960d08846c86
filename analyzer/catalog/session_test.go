package catalog

import (
	"strings"
	"testing"
)

// SET search_path, SET ROLE and SET SESSION AUTHORIZATION decide where an
// unqualified name resolves; "$user" is the current role's schema when
// one by that name exists.
func TestSessionSettingsResolveNames(t *testing.T) {
	cases := []struct {
		name     string
		sql      string
		table    string // where "scratch" resolves, "" for nowhere
		settings string
		sole     string
	}{
		{"a new session", "", "public.scratch", "", ""},
		{"search_path", "SET search_path = billing;", "billing.scratch", "search_path=billing", "billing"},
		{"search_path with two schemas", "SET search_path = ops, billing;", "billing.scratch", "search_path=ops, billing", ""},
		{"set_config", "SELECT pg_catalog.set_config('search_path', 'billing', false);", "billing.scratch", "search_path=billing", "billing"},
		{"SET ROLE picks $user", "SET ROLE billing;", "billing.scratch", "role=billing", ""},
		{"SET ROLE without a schema of that name", "SET ROLE ops;", "public.scratch", "role=ops", ""},
		{"SET ROLE NONE", "SET ROLE billing; SET ROLE NONE;", "public.scratch", "", ""},
		{"RESET ROLE", "SET ROLE billing; RESET ROLE;", "public.scratch", "", ""},
		{"SET SESSION AUTHORIZATION", "SET SESSION AUTHORIZATION billing;", "billing.scratch", "session_authorization=billing", ""},
		{"SET SESSION AUTHORIZATION ends SET ROLE", "SET ROLE ops; SET SESSION AUTHORIZATION billing;", "billing.scratch", "session_authorization=billing", ""},
		{"RESET ALL keeps the role and the session authorization", "SET SESSION AUTHORIZATION ops; SET ROLE billing; SET search_path = ops; RESET ALL;", "billing.scratch", "role=billing, session_authorization=ops", ""},
		{"search_path without $user ignores the role", "SET ROLE billing; SET search_path = public;", "public.scratch", "search_path=public, role=billing", "public"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat := New()
			mustApply(t, cat, "CREATE TABLE scratch (id int); CREATE SCHEMA billing; CREATE TABLE billing.scratch (id int); CREATE SCHEMA ops;")
			if c.sql != "" {
				mustApply(t, cat, c.sql)
			}
			got := ""
			if tb := cat.Table("", "scratch"); tb != nil {
				got = tb.QualifiedName()
			}
			if got != c.table {
				t.Errorf("scratch resolves to %q, want %q", got, c.table)
			}
			if s := strings.Join(cat.Settings(), ", "); s != c.settings {
				t.Errorf("settings %q, want %q", s, c.settings)
			}
			if s := cat.SoleSchema(); s != c.sole {
				t.Errorf("sole schema %q, want %q", s, c.sole)
			}
			cat.ResetSession()
			if len(cat.Settings()) != 0 {
				t.Errorf("settings after ResetSession: %q", cat.Settings())
			}
		})
	}
}
