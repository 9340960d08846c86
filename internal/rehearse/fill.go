package rehearse

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// column is one column of a table to fill.
type column struct {
	name, typ, typtype, category string
	typmod                       int32
	notNull, generated, identity bool
	// refTable and refColumn name the parent of a one-column foreign key.
	refTable, refColumn string
}

type fillTable struct {
	name    string
	columns []column
	parents []string
}

// Fill inserts n generated rows into every user table of the database,
// parents before children, with values that fit each column's type and the
// keys of the parents. A table it cannot fill (a CHECK or unique constraint
// its values break, a type it cannot make up) is named with PostgreSQL's
// reason and left as it was; the others are filled.
func Fill(ctx context.Context, c *pgx.Conn, n int) (filled []string, skipped map[string]string, err error) {
	tables, err := fillPlan(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	skipped = map[string]string{}
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		return nil, nil, fmt.Errorf("filling the tables: %w", err)
	}
	for _, t := range tables {
		q, why := insertFor(t, n)
		if q == "" {
			skipped[t.name] = why
			continue
		}
		if _, err := c.Exec(ctx, "SAVEPOINT fill"); err != nil {
			_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
			return nil, nil, fmt.Errorf("filling %s: %w", t.name, err)
		}
		if _, err := c.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
			skipped[t.name] = err.Error()
			if _, err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT fill"); err != nil {
				_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
				return nil, nil, fmt.Errorf("filling %s: %w", t.name, err)
			}
			continue
		}
		filled = append(filled, t.name)
	}
	if _, err := c.Exec(ctx, "COMMIT"); err != nil {
		return nil, nil, fmt.Errorf("filling the tables: %w", err)
	}
	// Statistics as production would have them, so that plans match.
	if _, err := c.Exec(ctx, "ANALYZE"); err != nil {
		return nil, nil, fmt.Errorf("analyzing the filled tables: %w", err)
	}
	return filled, skipped, nil
}

func fillPlan(ctx context.Context, c *pgx.Conn) ([]fillTable, error) {
	rows, err := c.Query(ctx, `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), t.typtype::text, coalesce(bt.typcategory, t.typcategory)::text, a.atttypmod,
       a.attnotnull, a.attgenerated <> '', a.attidentity <> '',
       coalesce((SELECT pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(pc.relname) || ' ' || pa.attname
                 FROM pg_catalog.pg_constraint k
                 JOIN pg_catalog.pg_class pc ON pc.oid = k.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                 JOIN pg_catalog.pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
                 WHERE k.contype = 'f' AND k.conrelid = c.oid AND k.conkey = ARRAY[a.attnum] LIMIT 1), '')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, a.attnum`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("reading the tables to fill: %w", err)
	}
	byName := map[string]*fillTable{}
	var order []string
	var table, ref string
	var col column
	_, err = pgx.ForEachRow(rows, []any{&table, &col.name, &col.typ, &col.typtype, &col.category, &col.typmod, &col.notNull, &col.generated, &col.identity, &ref}, func() error {
		t := byName[table]
		if t == nil {
			t = &fillTable{name: table}
			byName[table] = t
			order = append(order, table)
		}
		cc := col
		cc.refTable, cc.refColumn = "", ""
		if ref != "" {
			i := strings.LastIndex(ref, " ")
			cc.refTable, cc.refColumn = ref[:i], ref[i+1:]
			if cc.refTable != table {
				t.parents = append(t.parents, cc.refTable)
			}
		}
		t.columns = append(t.columns, cc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the tables to fill: %w", err)
	}
	// Parents first: a depth-first walk; a cycle is broken where it closes
	// (its foreign key then finds no parent row and the table is named).
	var out []fillTable
	state := map[string]int{}
	var visit func(string)
	visit = func(name string) {
		t := byName[name]
		if t == nil || state[name] != 0 {
			return
		}
		state[name] = 1
		ps := append([]string{}, t.parents...)
		sort.Strings(ps)
		for _, p := range ps {
			visit(p)
		}
		state[name] = 2
		out = append(out, *t)
	}
	for _, name := range order {
		visit(name)
	}
	return out, nil
}

// insertFor is the INSERT that fills t with n rows, or "" and why not.
func insertFor(t fillTable, n int) (string, string) {
	var cols, exprs []string
	identity := false
	for _, c := range t.columns {
		if c.generated {
			continue
		}
		g := "g"
		if c.refTable != "" {
			// The parent was filled with rows 1..n: point at one of them.
			g = fmt.Sprintf("((g - 1) %% %d + 1)", n)
		}
		e := valueFor(c, g)
		if e == "" {
			if !c.notNull {
				continue
			}
			return "", fmt.Sprintf("no value can be made up for column %s of type %s", c.name, c.typ)
		}
		identity = identity || c.identity
		cols = append(cols, quoteIdent(c.name))
		exprs = append(exprs, "("+e+")::"+c.typ)
	}
	if len(cols) == 0 {
		return "", "no column to fill"
	}
	overriding := ""
	if identity {
		overriding = " OVERRIDING SYSTEM VALUE"
	}
	return fmt.Sprintf("INSERT INTO %s (%s)%s SELECT %s FROM pg_catalog.generate_series(1, %d) AS g",
		t.name, strings.Join(cols, ", "), overriding, strings.Join(exprs, ", "), n), ""
}

// valueFor is an expression of row number g that fits the column's type;
// values are distinct per row where the type allows, far from the small
// numbers seed rows use.
func valueFor(c column, g string) string {
	typ := c.typ
	if i := strings.Index(typ, "("); i > 0 {
		typ = typ[:i]
	}
	switch {
	case c.typtype == "e":
		return "pg_catalog.enum_first(NULL::" + c.typ + ")"
	case strings.HasSuffix(typ, "[]"):
		return "'{}'"
	}
	switch typ {
	case "smallint":
		return "(" + g + " % 30000) + 1000"
	case "integer", "bigint", "numeric", "real", "double precision":
		return "1000000 + " + g
	case "text", "character varying", "character", "citext", "name":
		if c.typmod > 4 {
			return fmt.Sprintf("pg_catalog.left('r' || %s, %d)", g, c.typmod-4)
		}
		return "'r' || " + g
	case "boolean":
		return g + " % 2 = 0"
	case "timestamp with time zone", "timestamp without time zone":
		return "timestamp '2020-01-01' + " + g + " * interval '1 second'"
	case "date":
		return "date '2000-01-01' + (" + g + " % 20000)::int"
	case "time without time zone", "time with time zone":
		return "time '00:00' + (" + g + " % 86400) * interval '1 second'"
	case "interval":
		return g + " * interval '1 second'"
	case "uuid":
		return "pg_catalog.md5('r' || " + g + ")::uuid"
	case "json", "jsonb":
		return `'{"r": ' || ` + g + ` || '}'`
	case "bytea":
		return "pg_catalog.int8send(" + g + ")"
	case "inet", "cidr":
		return "'10.0.0.0'::inet + " + g
	}
	// A domain or another type: by its category.
	switch c.category {
	case "S":
		return "'r' || " + g
	case "N":
		return "1000000 + " + g
	case "B":
		return g + " % 2 = 0"
	}
	return ""
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
