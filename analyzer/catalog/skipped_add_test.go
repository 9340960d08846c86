package catalog

import "testing"

// TestSkippedAddColumn: ADD COLUMN IF NOT EXISTS of a column the table has
// is skipped whole by PostgreSQL (its type, default, constraints, index,
// sequence; TestSkippedAddColumn in the analyzer measures it on the
// server), so the model after such statements is the model before them.
func TestSkippedAddColumn(t *testing.T) {
	const base = `CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE t (id int PRIMARY KEY, a int, b text DEFAULT 'x');`
	want := modelText(build(t, base))
	for _, stmt := range []string{
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS a bigint DEFAULT 5;",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS a serial;",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS a int GENERATED ALWAYS AS IDENTITY;",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS a int GENERATED ALWAYS AS (id * 2) STORED;",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS a int NOT NULL UNIQUE CHECK (a > 0) REFERENCES p (id);",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS a int CONSTRAINT a_pk PRIMARY KEY;",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS b varchar(3) COLLATE \"C\";",
	} {
		if got := modelText(build(t, base+"\n"+stmt)); got != want {
			t.Errorf("%s changes the model:\n%s\nwant\n%s", stmt, got, want)
		}
	}
}
