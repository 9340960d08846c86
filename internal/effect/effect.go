// Package effect runs a safe way as an operator would and describes what a
// migration leaves in a database, so that the effect of a printed safe way
// can be compared with the effect of the statement it replaces. The fixture
// harness of the analyzer (analyzer/safeway_pg_test.go) and the corpus
// runner (internal/safewayrun) use this one implementation: what CI proves
// on the fixtures is what the corpus run checks on real migrations.
package effect

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Steps splits a safe way into the statements an operator runs, with
// placeholders filled in from values. Comments, and the tools' own
// annotations (-- +goose NO TRANSACTION, -- migrate:up transaction:false),
// are not statements; a placeholder left unfilled is refused with
// ErrPlaceholder.
func Steps(safe string, values map[string]string) ([]string, error) {
	for k, v := range values {
		safe = strings.ReplaceAll(safe, k, v)
	}
	if p := Placeholder(safe); p != "" {
		return nil, &PlaceholderError{Near: p}
	}
	parts, err := pg_query.SplitWithParser(safe, true)
	if err != nil {
		return nil, fmt.Errorf("splitting: %w", err)
	}
	var out []string
	for _, p := range parts {
		res, err := pg_query.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("%q does not parse: %w", p, err)
		}
		if len(res.GetStmts()) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// PlaceholderError is a safe way that still holds a value only the
// operator can choose (<value>, <table>).
type PlaceholderError struct{ Near string }

func (e *PlaceholderError) Error() string {
	return fmt.Sprintf("a placeholder is left to fill in at %q", e.Near)
}

// Placeholder returns the text at the first placeholder of sql (a "<"
// operator token glued to the word after it, outside strings and
// comments), "" when there is none.
func Placeholder(sql string) string {
	if !strings.Contains(sql, "<") {
		return ""
	}
	res, err := pg_query.Scan(sql)
	if err != nil {
		return ""
	}
	for _, tok := range res.GetTokens() {
		// The scanner reads a lone "<" as the character token, not Op.
		if (tok.GetToken() == pg_query.Token_ASCII_60 || tok.GetToken() == pg_query.Token_Op) && sql[tok.GetStart():tok.GetEnd()] == "<" &&
			tok.GetEnd() < int32(len(sql)) && sql[tok.GetEnd()] != ' ' && sql[tok.GetEnd()] != '=' {
			return sql[tok.GetStart():min(int(tok.GetStart())+20, len(sql))]
		}
	}
	return ""
}

// Batched says a statement is an UPDATE or DELETE of a batch (a LIMIT in
// its subquery): the operator repeats it until it changes 0 rows.
func Batched(sql string) bool {
	res, err := pg_query.Parse(sql)
	if err != nil || len(res.GetStmts()) != 1 {
		return false
	}
	n := res.GetStmts()[0].GetStmt()
	if n.GetUpdateStmt() == nil && n.GetDeleteStmt() == nil {
		return false
	}
	toks, err := pg_query.Scan(sql)
	if err != nil {
		return false
	}
	for _, tok := range toks.GetTokens() {
		if tok.GetToken() == pg_query.Token_LIMIT {
			return true
		}
	}
	return false
}

// MaxBatches bounds how often a batch is repeated: a batch still changing
// rows after that many rounds never ends.
const MaxBatches = 1000

// Run runs the steps one after the other on one session, as psql would:
// each on its own unless the text opens a transaction (conn should use the
// simple protocol); a batch repeated until it changes 0 rows.
func Run(ctx context.Context, conn *pgx.Conn, steps []string) error {
	for _, s := range steps {
		if !Batched(s) {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			continue
		}
		for round := 0; ; round++ {
			if round > MaxBatches {
				return fmt.Errorf("%s: still changing rows after %d batches", s, MaxBatches)
			}
			tag, err := conn.Exec(ctx, s)
			if err != nil {
				return fmt.Errorf("%s (batch %d): %w", s, round+1, err)
			}
			if tag.RowsAffected() == 0 {
				break
			}
		}
	}
	return nil
}

const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`

// relName is how a relation is named in a snapshot: its name, with its
// schema when that is not public.
const relName = `(CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END) || c.relname`

// Snapshot describes what a migration leaves in the database, one fact a
// line, sorted, for comparison: columns (type, NOT NULL, default, identity,
// generation, collation), index definitions without the index's name,
// constraint definitions (a CHECK by its definition only), domain
// constraints, views, triggers, functions, types, schemas, sequences, and a
// checksum of every table's rows. Relations in skip are left out; volatile
// columns ("table.column") hold per-run values and are compared by how many
// rows hold NULL.
func Snapshot(ctx context.Context, conn *pgx.Conn, volatile, skip []string) ([]string, error) {
	var out []string
	add := func(q string, f func(pgx.Rows) (string, error)) error {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			s, err := f(rows)
			if err != nil {
				return err
			}
			if s != "" {
				out = append(out, s)
			}
		}
		return rows.Err()
	}
	skipped := func(rel string) bool { return slices.Contains(skip, rel) }
	err := add(`SELECT `+relName+`, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
	  a.attidentity::text, a.attgenerated::text, coalesce(co.collname, '')
	FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default'
	WHERE `+userSchemas+` AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped`, func(r pgx.Rows) (string, error) {
		var rel, col, typ, def, ident, gen, coll string
		var notNull bool
		if err := r.Scan(&rel, &col, &typ, &notNull, &def, &ident, &gen, &coll); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		return fmt.Sprintf("column %s.%s %s notnull=%v default=%q identity=%q generated=%q collate=%q", rel, col, typ, notNull, def, ident, gen, coll), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT `+relName+`, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchemas, func(r pgx.Rows) (string, error) {
		var rel, def string
		var valid bool
		if err := r.Scan(&rel, &def, &valid); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		res, err := pg_query.Parse(def)
		if err != nil {
			return "", fmt.Errorf("%s: %w", def, err)
		}
		res.GetStmts()[0].GetStmt().GetIndexStmt().Idxname = ""
		unnamed, err := pg_query.Deparse(res)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("index on %s: %s valid=%v", rel, unnamed, valid), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT `+relName+`, k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.convalidated FROM pg_constraint k
	JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchemas, func(r pgx.Rows) (string, error) {
		var rel, name, typ, def string
		var valid bool
		if err := r.Scan(&rel, &name, &typ, &def, &valid); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		if typ == "c" {
			name = "(check)" // compared by definition
		}
		return fmt.Sprintf("constraint %s on %s %s %s validated=%v", name, rel, typ, def, valid), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT format_type(y.oid, NULL), k.conname, pg_get_constraintdef(k.oid), k.convalidated FROM pg_constraint k
	JOIN pg_type y ON y.oid = k.contypid JOIN pg_namespace n ON n.oid = y.typnamespace WHERE `+userSchemas, func(r pgx.Rows) (string, error) {
		var typ, name, def string
		var valid bool
		if err := r.Scan(&typ, &name, &def, &valid); err != nil {
			return "", err
		}
		return fmt.Sprintf("domain constraint %s on %s %s validated=%v", name, typ, def, valid), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT `+relName+`, pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE `+userSchemas+` AND c.relkind IN ('v', 'm')`, func(r pgx.Rows) (string, error) {
		var rel, def string
		if err := r.Scan(&rel, &def); err != nil {
			return "", err
		}
		if skipped(rel) {
			return "", nil
		}
		return fmt.Sprintf("view %s: %s", rel, strings.Join(strings.Fields(def), " ")), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND `+userSchemas+`
	UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE `+userSchemas+`
	UNION ALL SELECT 'type ' || format_type(y.oid, NULL) FROM pg_type y JOIN pg_namespace n ON n.oid = y.typnamespace WHERE `+userSchemas+` AND y.typtype IN ('e', 'd', 'c') AND y.typrelid = 0
	UNION ALL SELECT 'schema ' || nspname FROM pg_namespace n WHERE `+userSchemas+`
	UNION ALL SELECT 'sequence ' || `+relName+` FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchemas+` AND c.relkind = 'S'`,
		func(r pgx.Rows) (string, error) {
			var s string
			return s, r.Scan(&s)
		})
	if err != nil {
		return nil, err
	}
	tables, err := Tables(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, tbl := range tables {
		if skipped(tbl.Name) {
			continue
		}
		line, err := tableRows(ctx, conn, tbl, volatile)
		if err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out, nil
}

// Table is a user table: Name as snapshots show it, Ident quoted for SQL.
type Table struct{ Name, Ident string }

// Tables lists the user tables, in name order.
func Tables(ctx context.Context, conn *pgx.Conn) ([]Table, error) {
	rows, err := conn.Query(ctx, `SELECT `+relName+`, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchemas+` AND c.relkind = 'r' ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("listing the tables: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
		var t Table
		return t, r.Scan(&t.Name, &t.Ident)
	})
}

// tableRows is a checksum of the table's rows as jsonb (keys sorted, so the
// order of columns does not matter), volatile columns left out and counted
// by NULLs instead.
func tableRows(ctx context.Context, conn *pgx.Conn, tbl Table, volatile []string) (string, error) {
	drop := ""
	var nulls []string
	for _, v := range volatile {
		if i := strings.LastIndexByte(v, '.'); i > 0 && v[:i] == tbl.Name {
			col := v[i+1:]
			drop += " - " + quoteLiteral(col)
			nulls = append(nulls, fmt.Sprintf("count(*) FILTER (WHERE t.%s IS NULL)", quoteIdent(col)))
		}
	}
	extra := "0"
	if len(nulls) > 0 {
		extra = strings.Join(nulls, " + ")
	}
	q := fmt.Sprintf(`SELECT count(*), md5(coalesce(string_agg((to_jsonb(t)%s)::text, E'\n' ORDER BY (to_jsonb(t)%s)::text), '')), %s FROM %s t`,
		drop, drop, extra, tbl.Ident)
	var n, nullCount int64
	var sum string
	if err := conn.QueryRow(ctx, q).Scan(&n, &sum, &nullCount); err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	return fmt.Sprintf("rows of %s: %d, checksum %s, NULLs in volatile columns %d", tbl.Name, n, sum, nullCount), nil
}

// ColumnSums is a checksum of each column's values in the table, by column
// name: where two runs of the same statement differ, that column holds
// per-run values (a random default, now()).
func ColumnSums(ctx context.Context, conn *pgx.Conn, tbl Table) (map[string]string, error) {
	rows, err := conn.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, tbl.Ident)
	if err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", tbl.Name, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", tbl.Name, err)
	}
	out := map[string]string{}
	for _, c := range cols {
		var sum string
		q := fmt.Sprintf(`SELECT md5(coalesce(string_agg(t.%[1]s::text, E'\n' ORDER BY t.%[1]s::text), '')) FROM %[2]s t`, quoteIdent(c), tbl.Ident)
		if err := conn.QueryRow(ctx, q).Scan(&sum); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		out[c] = sum
	}
	return out, nil
}

// Diff lists the lines only one side has: "- " for want's, "+ " for have's.
func Diff(want, have []string) string {
	var b strings.Builder
	w, h := map[string]int{}, map[string]int{}
	for _, s := range want {
		w[s]++
	}
	for _, s := range have {
		h[s]++
	}
	for _, s := range want {
		if h[s] == 0 {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	for _, s := range have {
		if w[s] == 0 {
			fmt.Fprintf(&b, "+ %s\n", s)
		}
	}
	return b.String()
}

func quoteIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
