// Package prodstats is the statistics file that lets the analyzer judge a
// migration against the size of the production tables it touches, and the
// estimates made from it.
//
// The file is collected from production by `migration-guard stats` and
// committed to the repository, so reviewing a migration never needs a
// connection to production. It holds sizes, row estimates and column
// statistics, never row data, connection strings or credentials. The
// package is pure: the analyzer imports it, and collecting lives in
// internal/pgstats.
package prodstats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Format is the value of a statistics file's "format" field: it tells a
// statistics file apart from any other JSON a user might pass by mistake.
const Format = "migration-guard-stats"

// Version is the file version this package writes. It changes only when a
// field changes meaning or is removed; new fields may appear within a version
// and are ignored by older readers.
const Version = 1

// maxFileBytes bounds what Load reads: a file for 1,000 tables is well under
// 1 MB, so anything this large is not a statistics file.
const maxFileBytes = 64 << 20

// File is one statistics file.
type File struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// CollectedAt is when the statistics were read, in UTC.
	CollectedAt time.Time `json:"collected_at"`
	// Server describes the server the statistics came from, without its
	// address: the file is committed, the address may not be public.
	Server Server `json:"server"`
	// Settings are the defaults a migration's session starts with; they
	// decide whether a waiting lock gives up or stalls every query behind it.
	Settings Settings `json:"settings"`
	// Calibration, when present, replaces the default throughputs.
	Calibration *Calibration `json:"calibration,omitempty"`
	Tables      []Table      `json:"tables"`
}

// Server identifies the PostgreSQL the statistics were collected from.
type Server struct {
	// Version is server_version, e.g. "15.20 (Debian 15.20-0+deb12u1)".
	Version string `json:"version"`
	// VersionNum is server_version_num, e.g. 150020.
	VersionNum int `json:"version_num,omitempty"`
	// Database is the database's name; it tells a reviewer whether the file
	// was collected from the right database.
	Database string `json:"database,omitempty"`
}

// Settings are the server's session defaults that matter to a migration, as
// a new session of the collecting role gets them (pg_settings.reset_val, so
// server, database and role defaults included). Timeouts are milliseconds;
// 0 means disabled, and a nil pointer means the value could not be read.
type Settings struct {
	LockTimeoutMS                     *int64 `json:"lock_timeout_ms,omitempty"`
	StatementTimeoutMS                *int64 `json:"statement_timeout_ms,omitempty"`
	IdleInTransactionSessionTimeoutMS *int64 `json:"idle_in_transaction_session_timeout_ms,omitempty"`
	TimeZone                          string `json:"timezone,omitempty"`
}

// Table is one table, partitioned table or materialized view.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Kind is "partitioned" or "matview"; empty for an ordinary table.
	Kind string `json:"kind,omitempty"`
	// Rows is pg_class.reltuples, the planner's estimate; -1 when the table
	// has never been vacuumed or analyzed. For a partitioned table it is the
	// sum over its leaf partitions.
	Rows int64 `json:"rows"`
	// HeapBytes is the main fork (pg_relation_size), IndexBytes all indexes
	// (pg_indexes_size), ToastBytes the TOAST table and its index, and
	// TotalBytes pg_total_relation_size, which also counts the free space and
	// visibility maps. A partitioned table's sizes sum its leaf partitions.
	HeapBytes  int64 `json:"heap_bytes,omitempty"`
	IndexBytes int64 `json:"index_bytes,omitempty"`
	ToastBytes int64 `json:"toast_bytes,omitempty"`
	TotalBytes int64 `json:"total_bytes,omitempty"`
	Indexes    int   `json:"indexes,omitempty"`
	// Stats says why column statistics are missing, when they are: one of
	// StatsNoPrivilege or StatsNotAnalyzed.
	Stats string `json:"stats,omitempty"`
	// NoStats names the columns pg_stats has no row for.
	NoStats []string `json:"no_stats,omitempty"`
	Columns []Column `json:"columns,omitempty"`
}

// Values of Table.Stats.
const (
	// StatsNoPrivilege: the collecting role may not read some columns'
	// statistics (pg_stats shows only columns the role may SELECT); those
	// columns are listed in NoStats.
	StatsNoPrivilege = "no-privilege"
	// StatsNotAnalyzed: the table has never been analyzed.
	StatsNotAnalyzed = "not-analyzed"
)

// Values of Table.Kind.
const (
	KindPartitioned = "partitioned"
	KindMatview     = "matview"
)

// Column is one column and what pg_stats knows about it. In the file a
// column is an array, [name, type, null_frac, avg_width, max_len], with
// trailing zeros left out: a statistics file for a thousand tables of ten
// columns stays under half a megabyte, where objects with named fields
// would take twice that.
type Column struct {
	Name string
	// Type is format_type(atttypid, atttypmod), e.g. "character varying(100)".
	Type string
	// NullFrac is pg_stats.null_frac, the fraction of rows that are NULL.
	NullFrac float64
	// AvgWidth is pg_stats.avg_width in bytes; 0 for fixed-width types,
	// whose width the type says.
	AvgWidth int
	// MaxLen, for text-like columns, is the longest value (in characters)
	// among pg_stats' most common values and histogram bounds. It is a lower
	// bound of the column's longest value: statistics hold a sample, and
	// ANALYZE leaves out values wider than 1 kB.
	MaxLen int
}

// MarshalJSON writes the column as [name, type, null_frac, avg_width,
// max_len] without trailing zeros.
func (c Column) MarshalJSON() ([]byte, error) {
	parts := []any{c.Name, c.Type, c.NullFrac, c.AvgWidth, c.MaxLen}
	n := len(parts)
	for n > 2 {
		if v, ok := parts[n-1].(int); ok && v == 0 {
			n--
			continue
		}
		if v, ok := parts[n-1].(float64); ok && v == 0 {
			n--
			continue
		}
		break
	}
	return json.Marshal(parts[:n])
}

// columnError is a column that is not [name, type, ...]. encoding/json
// gives errors from UnmarshalJSON no position, so Load finds the table
// and column itself.
type columnError struct{ msg string }

func (e *columnError) Error() string { return e.msg }

// UnmarshalJSON reads the array MarshalJSON writes.
func (c *Column) UnmarshalJSON(data []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return &columnError{"a column must be an array [name, type, null_frac, avg_width, max_len]"}
	}
	if len(parts) < 2 {
		return &columnError{"a column must have at least a name and a type"}
	}
	*c = Column{}
	targets := []any{&c.Name, &c.Type, &c.NullFrac, &c.AvgWidth, &c.MaxLen}
	names := []string{"name", "type", "null_frac", "avg_width", "max_len"}
	for i, p := range parts {
		if i >= len(targets) {
			// Elements added later within the version are ignored.
			break
		}
		if err := json.Unmarshal(p, targets[i]); err != nil {
			return &columnError{fmt.Sprintf("%s (element %d) is %s, not a %T", names[i], i+1, p, reflectElem(targets[i]))}
		}
	}
	return nil
}

func reflectElem(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *float64:
		return *p
	case *int:
		return *p
	}
	return p
}

// locateColumnError names the table and column a columnError came from.
func locateColumnError(data []byte) error {
	var shape struct {
		Tables []struct {
			Schema  string            `json:"schema"`
			Name    string            `json:"name"`
			Columns []json.RawMessage `json:"columns"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		return jsonError(data, err)
	}
	for _, t := range shape.Tables {
		for i, raw := range t.Columns {
			var c Column
			if err := c.UnmarshalJSON(raw); err != nil {
				return fmt.Errorf("statistics file: table %s.%s, column %d: %v", t.Schema, t.Name, i+1, err)
			}
		}
	}
	return errors.New("statistics file: a column is malformed")
}

// Calibration is throughput measured on a scratch database by
// `migration-guard calibrate`.
type Calibration struct {
	MeasuredAt time.Time `json:"measured_at"`
	// Where describes the server without naming it, e.g.
	// "PostgreSQL 15.20, shared_buffers=128MB, fsync=on".
	Where string `json:"where"`
	// TableBytes is the total size of the table the figures were measured on.
	TableBytes     int64      `json:"table_bytes,omitempty"`
	BytesPerSecond Throughput `json:"bytes_per_second"`
}

// Table returns the named table, or nil. An empty schema means "public",
// where an unqualified name in a migration lands by default.
func (f *File) Table(schema, name string) *Table {
	if f == nil {
		return nil
	}
	if schema == "" {
		schema = "public"
	}
	for i := range f.Tables {
		if f.Tables[i].Schema == schema && f.Tables[i].Name == name {
			return &f.Tables[i]
		}
	}
	return nil
}

// HasStats reports whether pg_stats had a row for the named column.
func (t *Table) HasStats(column string) bool {
	if t == nil || t.Column(column) == nil {
		return false
	}
	for _, n := range t.NoStats {
		if n == column {
			return false
		}
	}
	return true
}

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	if t == nil {
		return nil
	}
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// header is read first, so that a file of another format or version is
// refused with a clear message rather than a field error.
type header struct {
	Format  *string `json:"format"`
	Version *int    `json:"version"`
}

// Load reads a statistics file.
func Load(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read statistics file: %w", err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("statistics file is larger than %d MB: not a migration-guard statistics file", maxFileBytes>>20)
	}
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, jsonError(data, err)
	}
	if h.Format == nil || *h.Format != Format {
		got := "no \"format\" field"
		if h.Format != nil {
			got = fmt.Sprintf("format %q", *h.Format)
		}
		return nil, fmt.Errorf("not a migration-guard statistics file (%s, want format %q)", got, Format)
	}
	if h.Version == nil {
		return nil, errors.New("statistics file has no \"version\" field; re-run migration-guard stats")
	}
	switch v := *h.Version; {
	case v > Version:
		return nil, fmt.Errorf("statistics file version %d is newer than this migration-guard reads (version %d); upgrade migration-guard or re-run migration-guard stats with this one", v, Version)
	case v < 1:
		return nil, fmt.Errorf("statistics file version %d is not supported (this migration-guard reads version %d); re-run migration-guard stats", v, Version)
	}
	// Later versions add a case per older version here that still converts.
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		var ce *columnError
		if errors.As(err, &ce) {
			return nil, locateColumnError(data)
		}
		return nil, jsonError(data, err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) validate() error {
	seen := make(map[[2]string]bool, len(f.Tables))
	for i, t := range f.Tables {
		if t.Name == "" || t.Schema == "" {
			return fmt.Errorf("statistics file: table %d has no schema or name", i+1)
		}
		key := [2]string{t.Schema, t.Name}
		if seen[key] {
			return fmt.Errorf("statistics file: table %s.%s appears twice", t.Schema, t.Name)
		}
		seen[key] = true
		if t.Rows < -1 || t.HeapBytes < 0 || t.IndexBytes < 0 || t.ToastBytes < 0 || t.TotalBytes < 0 || t.Indexes < 0 {
			return fmt.Errorf("statistics file: table %s.%s has a negative size or row count", t.Schema, t.Name)
		}
		for _, c := range t.Columns {
			if c.NullFrac < 0 || c.NullFrac > 1 {
				return fmt.Errorf("statistics file: column %s.%s.%s has null_frac %v outside [0, 1]", t.Schema, t.Name, c.Name, c.NullFrac)
			}
		}
	}
	if c := f.Calibration; c != nil {
		if err := c.BytesPerSecond.validate(); err != nil {
			return fmt.Errorf("statistics file: calibration: %w", err)
		}
	}
	return nil
}

// jsonError turns a decoding error into one that says where the file is
// broken, as line:column, because editors show positions that way.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		if int(syn.Offset) >= len(data) {
			return errors.New("statistics file is not valid JSON: it ends too early (truncated?)")
		}
		line, col := position(data, syn.Offset)
		return fmt.Errorf("statistics file is not valid JSON at line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("statistics file: field %s at line %d, column %d: expected %s, found %s", field, line, col, typ.Type, typ.Value)
	}
	return fmt.Errorf("statistics file is not valid JSON: %w", err)
}

// position turns encoding/json's offset, the number of bytes read when the
// error was found, into the line and column of the last byte read.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 0
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 0
		} else {
			col++
		}
	}
	if col == 0 {
		col = 1
	}
	return line, col
}

// Write writes the file as compact JSON with one table per line: compact so
// that 1,000 tables stay well under 1 MB, one per line so that a re-collected
// file's diff shows which tables changed. Tables are written sorted by schema
// and name, whatever their order in f.
func (f *File) Write(w io.Writer) error {
	out := *f
	out.Format = Format
	out.Version = Version
	tables := append([]Table(nil), f.Tables...)
	sort.Slice(tables, func(i, j int) bool {
		if tables[i].Schema != tables[j].Schema {
			return tables[i].Schema < tables[j].Schema
		}
		return tables[i].Name < tables[j].Name
	})
	out.Tables = nil
	head, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode statistics file: %w", err)
	}
	// The header ends with `"tables":null}`; the tables are spliced in
	// there so that each gets its own line.
	const tail = `"tables":null}`
	if !bytes.HasSuffix(head, []byte(tail)) {
		return errors.New("encode statistics file: unexpected header layout")
	}
	var buf bytes.Buffer
	buf.Write(head[:len(head)-len(tail)])
	buf.WriteString(`"tables":[`)
	for i := range tables {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		b, err := json.Marshal(&tables[i])
		if err != nil {
			return fmt.Errorf("encode statistics file: table %s.%s: %w", tables[i].Schema, tables[i].Name, err)
		}
		buf.Write(b)
	}
	if len(tables) > 0 {
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	_, err = w.Write(buf.Bytes())
	return err
}
