package catalog

import (
	"fmt"
	"strings"
)

func (o Origin) String() string {
	where := "base"
	if o.InChangeSet {
		where = "change"
	}
	if o.Path == "" {
		return where
	}
	return fmt.Sprintf("%s %s:%d", where, o.Path, o.Line)
}

// Dump renders the whole model as stable, line-oriented text, for golden
// files and for debugging a replay.
func (c *Catalog) Dump() string { return c.dump(true) }

// originText renders an origin suffix, or nothing when origins are left out.
func originText(o Origin, with bool) string {
	if !with {
		return ""
	}
	return " (" + o.String() + ")"
}

func (c *Catalog) dump(withOrigin bool) string {
	var b strings.Builder
	if c.searchPath != nil {
		fmt.Fprintf(&b, "search_path %s\n", strings.Join(c.searchPath, ", "))
	}
	for _, s := range c.Schemas() {
		s.dump(&b, withOrigin)
	}
	for _, e := range c.Enums() {
		e.dump(&b, withOrigin)
	}
	for _, d := range c.Domains() {
		d.dump(&b, withOrigin)
	}
	for _, s := range c.Sequences() {
		s.dump(&b, withOrigin)
	}
	for _, t := range c.Tables() {
		b.WriteString(t.dump(withOrigin))
	}
	return b.String()
}

func (s *Schema) dump(b *strings.Builder, withOrigin bool) {
	fmt.Fprintf(b, "schema %s%s\n", QuoteIdent(s.Name), originText(s.Origin, withOrigin))
}

func (e *Enum) dump(b *strings.Builder, withOrigin bool) {
	vals := make([]string, len(e.Values))
	for i, v := range e.Values {
		vals[i] = quoteLiteral(v)
	}
	fmt.Fprintf(b, "enum %s (%s)%s\n", e.QualifiedName(), strings.Join(vals, ", "), originText(e.Origin, withOrigin))
}

func (d *Domain) dump(b *strings.Builder, withOrigin bool) {
	fmt.Fprintf(b, "domain %s %s", d.QualifiedName(), d.BaseType.SQL())
	if d.NotNull {
		b.WriteString(" not null")
	}
	if d.Default != "" {
		fmt.Fprintf(b, " default %s", d.Default)
	}
	fmt.Fprintf(b, "%s\n", originText(d.Origin, withOrigin))
	for _, k := range d.Constraints {
		fmt.Fprintf(b, "  %s\n", k.describe())
	}
}

func (s *Sequence) dump(b *strings.Builder, withOrigin bool) {
	fmt.Fprintf(b, "sequence %s", s.QualifiedName())
	if s.OwnedByTable != "" {
		fmt.Fprintf(b, " owned by %s.%s", qualify(s.Schema, s.OwnedByTable), QuoteIdent(s.OwnedByColumn))
	}
	if s.Identity {
		b.WriteString(" identity")
	}
	fmt.Fprintf(b, "%s\n", originText(s.Origin, withOrigin))
}

// Dump renders one relation.
func (t *Table) Dump() string { return t.dump(true) }

func (t *Table) dump(withOrigin bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", t.Kind, t.QualifiedName())
	if t.Unlogged {
		b.WriteString(" unlogged")
	}
	if t.PartitionStrategy != "" {
		fmt.Fprintf(&b, " partition by %s", t.PartitionStrategy)
	}
	if t.PartitionOf != "" {
		fmt.Fprintf(&b, " partition of %s", t.PartitionOf)
	}
	if t.ColumnsUnknown {
		b.WriteString(" columns-unknown")
	}
	fmt.Fprintf(&b, "%s\n", originText(t.Origin, withOrigin))
	for _, col := range t.Columns {
		typ := col.Type.SQL()
		if typ == "" {
			typ = "?"
		}
		fmt.Fprintf(&b, "  column %s %s", QuoteIdent(col.Name), typ)
		if col.Collation != "" {
			fmt.Fprintf(&b, " collate %s", QuoteIdent(col.Collation))
		}
		if col.NotNull {
			b.WriteString(" not null")
		}
		if col.Default != "" {
			fmt.Fprintf(&b, " default %s", col.Default)
		}
		if col.Identity != "" {
			fmt.Fprintf(&b, " generated %s as identity", strings.ToLower(col.Identity))
		}
		if col.Generated != "" {
			fmt.Fprintf(&b, " generated always as (%s) stored", col.Generated)
		}
		fmt.Fprintf(&b, "%s\n", originText(col.Origin, withOrigin))
	}
	for _, k := range t.Constraints {
		fmt.Fprintf(&b, "  %s%s\n", k.describe(), originText(k.Origin, withOrigin))
	}
	for _, ix := range t.Indexes {
		fmt.Fprintf(&b, "  %s%s\n", ix.describe(), originText(ix.Origin, withOrigin))
	}
	if t.Definition != "" {
		fmt.Fprintf(&b, "  as %s\n", t.Definition)
	}
	for _, d := range t.DependsOn {
		fmt.Fprintf(&b, "  depends on %s %s\n", d.Kind, d)
	}
	return b.String()
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = QuoteIdent(n)
	}
	return strings.Join(q, ", ")
}

func (k *Constraint) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "constraint %s %s", QuoteIdent(k.Name), k.Kind)
	switch k.Kind {
	case Check:
		fmt.Fprintf(&b, " (%s)", k.Check)
	case ForeignKey:
		fmt.Fprintf(&b, " (%s) references %s (%s) on delete %s on update %s", quoteAll(k.Columns),
			qualify(k.RefSchema, k.RefTable), quoteAll(k.RefColumns), strings.ToLower(k.OnDelete), strings.ToLower(k.OnUpdate))
	default:
		fmt.Fprintf(&b, " (%s)", quoteAll(k.Columns))
	}
	if k.Index != "" {
		fmt.Fprintf(&b, " index %s", QuoteIdent(k.Index))
	}
	if k.Deferrable {
		b.WriteString(" deferrable")
	}
	if k.InitiallyDeferred {
		b.WriteString(" initially deferred")
	}
	if k.NoInherit {
		b.WriteString(" no inherit")
	}
	if !k.Validated {
		b.WriteString(" not valid")
	}
	return b.String()
}

func (ix *Index) describe() string {
	var b strings.Builder
	b.WriteString("index ")
	b.WriteString(QuoteIdent(ix.Name))
	if ix.Unique {
		b.WriteString(" unique")
	}
	keys := make([]string, len(ix.Keys))
	for i, k := range ix.Keys {
		keys[i] = k.String()
		if k.Desc {
			keys[i] += " desc"
		}
	}
	fmt.Fprintf(&b, " using %s (%s)", ix.Method, strings.Join(keys, ", "))
	if len(ix.Include) > 0 {
		fmt.Fprintf(&b, " include (%s)", quoteAll(ix.Include))
	}
	if ix.Where != "" {
		fmt.Fprintf(&b, " where %s", ix.Where)
	}
	if ix.Primary {
		b.WriteString(" primary")
	}
	if ix.Constraint != "" {
		fmt.Fprintf(&b, " constraint %s", QuoteIdent(ix.Constraint))
	}
	if ix.parent.name != "" {
		fmt.Fprintf(&b, " attached to %s", qualify(ix.parent.schema, ix.parent.name))
	}
	// How the index was built (CONCURRENTLY or not) is not part of the
	// schema: a down part that rebuilds it the other way restores it. The
	// catalog keeps it in Index.Concurrently for the rules.
	if !ix.Valid {
		b.WriteString(" invalid")
	}
	return b.String()
}
