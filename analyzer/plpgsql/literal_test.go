package plpgsql

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// sameSource says two Sources hold the same text at the same offsets.
func sameSource(a, b Source) bool {
	if a.Text != b.Text {
		return false
	}
	for k := -1; k <= len(a.Text)+1; k++ {
		if a.At(k) != b.At(k) {
			return false
		}
	}
	return true
}

// checkLiteralSource: for every DO and CREATE FUNCTION of file, finding
// the body's constant without the scanner gives what the scanner gives.
func checkLiteralSource(t *testing.T, file string) (found int) {
	t.Helper()
	tree, err := pg_query.Parse(file)
	if err != nil {
		return 0
	}
	for _, raw := range tree.GetStmts() {
		start := int(raw.GetStmtLocation())
		end := start + int(raw.GetStmtLen())
		if raw.GetStmtLen() == 0 {
			end = len(file)
		}
		src := Linear(file[start:end], start)
		n := raw.GetStmt()
		var opts []*pg_query.Node
		switch {
		case n.GetDoStmt() != nil:
			opts = n.GetDoStmt().GetArgs()
		case n.GetCreateFunctionStmt() != nil:
			opts = n.GetCreateFunctionStmt().GetOptions()
		}
		for _, o := range opts {
			d := o.GetDefElem()
			if d.GetDefname() != "as" {
				continue
			}
			value := d.GetArg().GetString_().GetSval()
			if items := d.GetArg().GetList().GetItems(); len(items) > 0 {
				value = items[0].GetString_().GetSval()
			}
			from := int(d.GetLocation())
			if _, _, _, ok := dollarQuoteAt(src.Text, clamp(from, len(src.Text))); ok {
				found++
			}
			got, want := literalSource(src, from, value), scannedLiteralSource(src, clamp(from, len(src.Text)), value)
			if !sameSource(got, want) {
				t.Errorf("%q: the body found without the scanner is %+v, with it %+v", file, got, want)
			}
		}
	}
	return found
}

// TestLiteralSourceWithoutScanner: the constants a scan would find, and
// the forms only the scanner reads (a comment before the constant, quoted
// strings, "as$$" as one word, $1, a tag inside the body), come out as
// the scanner finds them.
func TestLiteralSourceWithoutScanner(t *testing.T) {
	found := 0
	for _, file := range append(append([]string{}, bareCases...),
		"CREATE FUNCTION f() RETURNS int AS /* c */ $$ SELECT 1 $$ LANGUAGE sql",
		"CREATE FUNCTION f() RETURNS int as\n\t$body$ SELECT '$a$' $bod$ $body$ LANGUAGE sql",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $a$ SELECT $ab$x$ab$ || $a$",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $é$ SELECT 1 $é$",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $_1$ SELECT $$x$$ $_1$",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT $$1$$'",
		"DO $$$$", "DO $x$ $$ $x$", "DO E'BEGIN NULL; END'",
		"-- lead\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; DO $$ BEGIN END $$;",
	) {
		found += checkLiteralSource(t, file)
	}
	if found < 15 {
		t.Errorf("only %d constants found without the scanner", found)
	}
}

// FuzzLiteralSource: whatever the statement, finding the constant without
// the scanner agrees with the scanner.
func FuzzLiteralSource(f *testing.F) {
	for _, s := range []string{"DO $$ BEGIN END $$", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $a$ SELECT $ab$x$ab$ || $a$", "DO $x$ $$ $x$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkLiteralSource(t, s)
	})
}
