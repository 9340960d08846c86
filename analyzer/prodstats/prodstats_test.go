package prodstats

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ms(v int64) *int64 { return &v }

func sample() *File {
	return &File{
		CollectedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		Server:      Server{Version: "15.20 (Debian 15.20-0+deb12u1)", VersionNum: 150020, Database: "shop"},
		Settings:    Settings{LockTimeoutMS: ms(0), StatementTimeoutMS: ms(30000), IdleInTransactionSessionTimeoutMS: ms(0), TimeZone: "Etc/UTC"},
		Tables: []Table{
			{Schema: "public", Name: "orders", Rows: 5_000_000, HeapBytes: 952 << 20, IndexBytes: 365 << 20, TotalBytes: 1317 << 20, Indexes: 3,
				Columns: []Column{
					{Name: "id", Type: "bigint"},
					{Name: "email", Type: "text", NullFrac: 0.02, AvgWidth: 21, MaxLen: 44},
					{Name: "name", Type: "character varying(100)", AvgWidth: 12, MaxLen: 31},
				}},
			{Schema: "audit", Name: "events", Rows: -1, Stats: StatsNotAnalyzed,
				NoStats: []string{"payload"}, Columns: []Column{{Name: "payload", Type: "jsonb"}}},
		},
	}
}

func TestWriteLoadRoundTrip(t *testing.T) {
	f := sample()
	f.Calibration = &Calibration{
		MeasuredAt:     time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		Where:          "PostgreSQL 15.20, shared_buffers=128MB, fsync=on",
		TableBytes:     200 << 20,
		BytesPerSecond: Throughput{Rewrite: 90e6, Scan: 1.5e9, IndexBuild: 300e6, Backfill: 25e6},
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Load(Write(f)): %v\n%s", err, buf.String())
	}
	want := *f
	want.Format, want.Version = Format, Version
	// Write sorts by schema and name.
	want.Tables = []Table{f.Tables[1], f.Tables[0]}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("round trip changed the file:\n got %+v\nwant %+v", got, &want)
	}
	if len(f.Tables) != 2 || f.Tables[0].Name != "orders" {
		t.Fatal("Write reordered the caller's tables")
	}
}

func TestWriteLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().Write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// Header, one line per table, closing bracket.
	if len(lines) != 4 {
		t.Fatalf("want header, 2 table lines and a closing line, got %d lines:\n%s", len(lines), out)
	}
	if !strings.HasPrefix(lines[0], `{"format":"migration-guard-stats","version":1,`) {
		t.Errorf("header does not start with format and version: %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], `{"schema":"audit","name":"events"`) || !strings.HasPrefix(lines[2], `{"schema":"public","name":"orders"`) {
		t.Errorf("tables not one per line in schema, name order:\n%s", out)
	}
	if strings.Contains(out, "  ") || strings.Contains(out, "\t") {
		t.Errorf("output has indentation:\n%s", out)
	}
	// Empty fields are left out: events has no sizes, id has no statistics
	// worth writing, and nothing is calibrated.
	for _, absent := range []string{`"heap_bytes":0`, `"toast_bytes"`, `"null_frac":0,`, `"avg_width":0`, `"calibration"`, `"kind"`, `"max_len":0`} {
		if strings.Contains(out, absent) {
			t.Errorf("output contains %s:\n%s", absent, out)
		}
	}
	// Rows is kept even when 0: 0 rows and unknown (-1) differ.
	if !strings.Contains(lines[1], `"rows":-1`) {
		t.Errorf("unknown row count not written as -1: %s", lines[1])
	}
	// A disabled timeout (0) is written; only an unknown one is left out.
	if !strings.Contains(lines[0], `"lock_timeout_ms":0`) {
		t.Errorf("disabled lock_timeout not written: %s", lines[0])
	}
}

func TestEmptyFile(t *testing.T) {
	var buf bytes.Buffer
	if err := (&File{Server: Server{Version: "15.20"}}).Write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Load(&buf)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(f.Tables) != 0 || f.Table("public", "x") != nil {
		t.Fatalf("empty file has tables: %+v", f.Tables)
	}
}

// A statistics file is committed; 1,000 ordinary tables must stay well
// under 1 MB.
func TestThousandTablesSize(t *testing.T) {
	// A typical table: ten columns of the usual names and types; the
	// variable-width ones carry statistics.
	cols := []Column{
		{Name: "id", Type: "bigint"},
		{Name: "customer_id", Type: "bigint"},
		{Name: "email", Type: "text", NullFrac: 0.0123, AvgWidth: 24, MaxLen: 61},
		{Name: "name", Type: "character varying(255)", AvgWidth: 14, MaxLen: 48},
		{Name: "status", Type: "integer"},
		{Name: "amount", Type: "numeric(12,2)", NullFrac: 0.5, AvgWidth: 7},
		{Name: "metadata", Type: "jsonb", NullFrac: 0.861, AvgWidth: 112},
		{Name: "is_active", Type: "boolean"},
		{Name: "created_at", Type: "timestamp with time zone"},
		{Name: "updated_at", Type: "timestamp with time zone", NullFrac: 0.0456},
	}
	f := &File{CollectedAt: time.Now().UTC(), Server: Server{Version: "15.20 (Debian 15.20-0+deb12u1)", VersionNum: 150020, Database: "production"}}
	for i := 0; i < 1000; i++ {
		f.Tables = append(f.Tables, Table{Schema: "public", Name: fmt.Sprintf("customer_orders_%04d", i), Rows: 12_345_678,
			HeapBytes: 1234567890, IndexBytes: 234567890, ToastBytes: 34567890, TotalBytes: 1503703670, Indexes: 4, Columns: cols})
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("1,000 tables of 10 columns: %d bytes", buf.Len())
	if buf.Len() > 550_000 {
		t.Fatalf("1,000 tables take %d bytes; want well under 1 MB", buf.Len())
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"other JSON", `{"name":"package.json"}`, []string{"not a migration-guard statistics file", `no "format" field`}},
		{"wrong format", `{"format":"pg-stats","version":1}`, []string{"not a migration-guard statistics file", `format "pg-stats"`}},
		{"newer version", `{"format":"migration-guard-stats","version":2,"tables":[]}`, []string{"version 2 is newer", "upgrade migration-guard", "re-run migration-guard stats"}},
		{"old version", `{"format":"migration-guard-stats","version":0,"tables":[]}`, []string{"version 0 is not supported", "re-run migration-guard stats"}},
		{"no version", `{"format":"migration-guard-stats"}`, []string{`no "version" field`, "re-run migration-guard stats"}},
		{"malformed", "{\"format\":\"migration-guard-stats\",\n\"version\":1,\n\"tables\":[}\n", []string{"not valid JSON at line 3, column 11"}},
		{"truncated", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public"`, []string{"not valid JSON", "truncated"}},
		{"wrong type", "{\"format\":\"migration-guard-stats\",\"version\":1,\n\"tables\":[{\"schema\":\"public\",\"name\":\"t\",\"rows\":\"many\"}]}", []string{`field tables.rows`, "line 2", "expected int64"}},
		{"not an object", `[1,2]`, []string{"statistics file"}},
		{"no name", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public"}]}`, []string{"table 1 has no schema or name"}},
		{"duplicate", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public","name":"t","rows":1},{"schema":"public","name":"t","rows":1}]}`, []string{"public.t appears twice"}},
		{"negative size", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public","name":"t","rows":1,"heap_bytes":-5}]}`, []string{"negative size"}},
		{"bad null_frac", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public","name":"t","rows":1,"columns":[["c","text",2]]}]}`, []string{"null_frac 2 outside"}},
		{"column object", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public","name":"t","rows":1,"columns":[["a","int"],{"name":"c"}]}]}`, []string{"table public.t, column 2", "must be an array"}},
		{"column element", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public","name":"t","rows":1,"columns":[["a","int","x"]]}]}`, []string{"table public.t, column 1", `null_frac (element 3) is "x"`}},
		{"column short", `{"format":"migration-guard-stats","version":1,"tables":[{"schema":"public","name":"t","rows":1,"columns":[["a"]]}]}`, []string{"table public.t, column 1", "at least a name and a type"}},
		{"bad calibration", `{"format":"migration-guard-stats","version":1,"calibration":{"measured_at":"2025-01-01T00:00:00Z","where":"x","bytes_per_second":{"rewrite":0,"scan":1,"index_build":1,"backfill":1}},"tables":[]}`, []string{"calibration", "rewrite throughput 0"}},
		{"empty", ``, []string{"not valid JSON"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("Load(%s) succeeded", c.in)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadIgnoresUnknownFields(t *testing.T) {
	in := `{"format":"migration-guard-stats","version":1,"added_later":{"x":1},"tables":[{"schema":"s","name":"t","rows":3,"future":true}]}`
	f, err := Load(strings.NewReader(in))
	if err != nil {
		t.Fatalf("a field added within version 1 must not break older readers: %v", err)
	}
	if tb := f.Table("s", "t"); tb == nil || tb.Rows != 3 {
		t.Fatalf("Table(s, t) = %+v", tb)
	}
}

func TestTableLookup(t *testing.T) {
	f := sample()
	if tb := f.Table("", "orders"); tb == nil || tb.Rows != 5_000_000 {
		t.Fatalf(`Table("", "orders") = %+v; an empty schema means public`, tb)
	}
	if tb := f.Table("audit", "events"); tb == nil || tb.Stats != StatsNotAnalyzed {
		t.Fatalf("Table(audit, events) = %+v", tb)
	}
	if f.Table("public", "events") != nil || f.Table("public", "Orders") != nil {
		t.Fatal("lookup must match schema and the exact (already folded) name")
	}
	if c := f.Table("public", "orders").Column("email"); c == nil || c.MaxLen != 44 {
		t.Fatalf("Column(email) = %+v", c)
	}
	if f.Table("public", "orders").Column("nope") != nil {
		t.Fatal("Column(nope) found something")
	}
	var nf *File
	if nf.Table("public", "orders") != nil {
		t.Fatal("nil file found a table")
	}
	var nt *Table
	if nt.Column("x") != nil {
		t.Fatal("nil table found a column")
	}
}

// The example in docs/stats.md must be a file Load accepts, so the
// documentation cannot drift from the format.
func TestDocExampleLoads(t *testing.T) {
	doc, err := os.ReadFile("../../docs/stats.md")
	if err != nil {
		t.Fatalf("docs/stats.md: %v", err)
	}
	const open = "```json\n"
	i := bytes.Index(doc, []byte(open))
	if i < 0 {
		t.Fatal("docs/stats.md has no ```json example")
	}
	rest := doc[i+len(open):]
	j := bytes.Index(rest, []byte("```"))
	if j < 0 {
		t.Fatal("docs/stats.md: unterminated example")
	}
	f, err := Load(bytes.NewReader(rest[:j]))
	if err != nil {
		t.Fatalf("docs/stats.md example: %v", err)
	}
	if len(f.Tables) == 0 || f.Calibration == nil {
		t.Fatal("docs/stats.md example should show a table and a calibration")
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(rest[:j]) {
		t.Errorf("docs/stats.md example is not what Write produces; Write gives:\n%s", buf.String())
	}
}
