package plpgsql

import (
	"fmt"
	"testing"
)

// TestCalledNames: every function call and CALL of a body's statements,
// nested ones and those in expressions included, in walk order.
func TestCalledNames(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"plpgsql statements and expressions", "DO $$ BEGIN PERFORM a(b(1)); IF s.c() THEN CALL p.d(e()); END IF; UPDATE t SET x = f(); END $$",
			"[[a] [b] [s c] [p d] [e] [f]]"},
		{"sql body", "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT count(*) FROM t WHERE h(x); $$",
			"[[count] [h]]"},
		{"no calls", "DO $$ BEGIN DELETE FROM t WHERE x = 1; END $$", "[]"},
		{"unreadable", "DO $$ BEGIN SELEC a(); END $$", "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, src := statementAt(t, tc.text, 0)
			b := Read(node, src)
			if got := fmt.Sprint(b.CalledNames()); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
