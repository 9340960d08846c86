package catalog

import (
	"fmt"
	"strings"
	"testing"
)

// TestColumnLimit: PostgreSQL refuses a column beyond 1,600, and so does
// the model; an endless file of ADD COLUMNs stays a bounded table (and a
// bounded cost per statement), with the indexes still matching a scan.
func TestColumnLimit(t *testing.T) {
	c := New()
	var b strings.Builder
	b.WriteString("CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE wide (id bigint PRIMARY KEY);\n")
	for i := range MaxColumns + 50 {
		typ := "integer"
		if i%2 == 0 {
			typ = "mood"
		}
		fmt.Fprintf(&b, "ALTER TABLE wide ADD COLUMN c%d %s;\n", i, typ)
	}
	if err := c.ApplySQL("wide.sql", b.String()); err != nil {
		t.Fatal(err)
	}
	tbl := c.Table("public", "wide")
	if tbl == nil {
		t.Fatal("table wide missing")
	}
	if got := len(tbl.Columns); got != MaxColumns {
		t.Fatalf("wide has %d columns, want PostgreSQL's limit %d", got, MaxColumns)
	}
	if err := checkIndexes(c); err != nil {
		t.Fatal(err)
	}
}
