package rehearse

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

// Schema is the user schema as lines, one per object and property, read
// from pg_catalog: tables and their columns (type, nullability, default),
// constraints, indexes, views, sequences, types and enum labels, functions.
// OIDs and generated names of files are left out so that a schema rebuilt
// by a down and an up part compares equal to the first.
type Schema map[string]bool

const schemaQuery = `
WITH ns AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
)
SELECT 'schema ' || quote_ident(nspname) FROM ns
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'partitioned table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
  WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table ' ELSE 'relation ' END || quote_ident(ns.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'column ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
  || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
  || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
  || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
  || CASE WHEN a.attgenerated <> '' THEN ' GENERATED' ELSE '' END
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'constraint ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || ' ' || quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid)
  || CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT 'index ' || quote_ident(ns.nspname) || '.' || quote_ident(i.relname) || ' ' || pg_get_indexdef(i.oid)
  || CASE WHEN x.indisvalid THEN '' ELSE ' (invalid)' END
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN ns ON ns.oid = i.relnamespace
UNION ALL
SELECT 'type ' || quote_ident(ns.nspname) || '.' || quote_ident(t.typname) || ' ' || t.typtype::text
  || coalesce(' (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')', '')
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r', 'c') AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
UNION ALL
SELECT 'function ' || quote_ident(ns.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
UNION ALL
SELECT 'trigger ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || ' ' || pg_get_triggerdef(g.oid)
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN ns ON ns.oid = c.relnamespace WHERE NOT g.tgisinternal
UNION ALL
SELECT 'extension ' || quote_ident(extname) FROM pg_extension WHERE extname <> 'plpgsql'
`

// ReadSchema reads the schema visible to c.
func ReadSchema(ctx context.Context, c *pgx.Conn) (Schema, error) {
	rows, err := c.Query(ctx, schemaQuery, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	s := Schema{}
	for _, l := range lines {
		s[l] = true
	}
	return s, nil
}

func (r *runner) schema(ctx context.Context) (Schema, error) {
	restore, err := r.trustedPath(ctx)
	if err != nil {
		return nil, err
	}
	defer restore()
	return ReadSchema(ctx, r.conn)
}

// Diff lists what after lacks ("missing: ...") and what it has in excess
// ("left over: ...") compared with s, at most limit lines.
func (s Schema) Diff(after Schema, limit int) []string {
	var out []string
	for l := range s {
		if !after[l] {
			out = append(out, "missing: "+l)
		}
	}
	for l := range after {
		if !s[l] {
			out = append(out, "left over: "+l)
		}
	}
	sort.Strings(out)
	if len(out) > limit {
		n := len(out) - limit
		out = append(out[:limit], fmt.Sprintf("... and %d more", n))
	}
	return out
}
