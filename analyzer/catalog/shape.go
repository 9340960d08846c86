package catalog

import (
	"slices"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer/catalog/internal/pmap"
)

// Shape renders the model like Dump but without where each object came
// from, so that two catalogs built by different statements compare equal
// when they describe the same schema (a down migration that undoes its up
// migration leaves the same shape behind).
func (c *Catalog) Shape() string { return c.dump(false) }

// ShapeChanges renders, as Shape does, only the objects whose shape differs
// between a snapshot (before) and a catalog (after) (or that exist in one of them only): before's
// version of them, then after's. An object whose shape is the same in both
// is left out of both texts, so comparing the two texts line by line finds
// the same differences as comparing the two whole shapes, at the cost of a
// comparison (no text) for every object that did not change. The search
// path, which Shape renders too, is left out: it is session state.
func ShapeChanges(snapshot Snapshot, after *Catalog) (string, string) {
	before := snapshot.c
	var b, a strings.Builder
	// The maps share the nodes neither side changed since the snapshot, and
	// unchanged objects are the same pointers: Diff visits only the rest.
	pmap.Diff(before.schemas, after.schemas, func(_ qname, x *Schema, inB bool, y *Schema, inA bool) {
		if inB && !inA {
			x.dump(&b, false)
		}
		if inA && !inB {
			y.dump(&a, false)
		}
	})
	diffObjects(before.enums, after.enums, enumShapeEqual, &b, &a)
	diffObjects(before.domains, after.domains, domainShapeEqual, &b, &a)
	diffObjects(before.sequences, after.sequences, sequenceShapeEqual, &b, &a)
	pmap.Diff(before.tables, after.tables, func(_ qname, t *Table, inB bool, u *Table, inA bool) {
		if inB && inA && tableShapeEqual(t, u) {
			return
		}
		if inB {
			b.WriteString(t.dump(false))
		}
		if inA {
			a.WriteString(u.dump(false))
		}
	})
	return b.String(), a.String()
}

type dumper interface {
	comparable
	dump(b *strings.Builder, withOrigin bool)
}

func diffObjects[T dumper](before, after pmap.Map[qname, T], equal func(x, y T) bool, b, a *strings.Builder) {
	pmap.Diff(before, after, func(_ qname, x T, inB bool, y T, inA bool) {
		if inB && inA && (x == y || equal(x, y)) {
			return
		}
		if inB {
			x.dump(b, false)
		}
		if inA {
			y.dump(a, false)
		}
	})
}

// The ...ShapeEqual functions compare exactly the fields that dump reads
// without origins (TestShapeEqualCoversFields keeps them in step): equal
// objects render the same shape text.

func enumShapeEqual(x, y *Enum) bool {
	return x.Schema == y.Schema && x.Name == y.Name && slices.Equal(x.Values, y.Values)
}

func domainShapeEqual(x, y *Domain) bool {
	return x.Schema == y.Schema && x.Name == y.Name && typeEqual(x.BaseType, y.BaseType) && x.NotNull == y.NotNull &&
		x.Default == y.Default && slices.EqualFunc(x.Constraints, y.Constraints, constraintShapeEqual)
}

func sequenceShapeEqual(x, y *Sequence) bool {
	return x.Schema == y.Schema && x.Name == y.Name && x.OwnedByTable == y.OwnedByTable &&
		x.OwnedByColumn == y.OwnedByColumn && x.Identity == y.Identity
}

func typeEqual(x, y Type) bool {
	return x.Schema == y.Schema && x.Name == y.Name && x.ArrayDims == y.ArrayDims && slices.Equal(x.Mods, y.Mods)
}

func tableShapeEqual(x, y *Table) bool {
	if x == y {
		return true
	}
	return x.Schema == y.Schema && x.Name == y.Name && x.Kind == y.Kind && x.Unlogged == y.Unlogged &&
		x.PartitionStrategy == y.PartitionStrategy && x.PartitionOf == y.PartitionOf &&
		x.ColumnsUnknown == y.ColumnsUnknown && x.Definition == y.Definition &&
		slices.EqualFunc(x.Columns, y.Columns, columnShapeEqual) &&
		slices.EqualFunc(x.Constraints, y.Constraints, constraintShapeEqual) &&
		slices.EqualFunc(x.Indexes, y.Indexes, indexShapeEqual) &&
		slices.Equal(x.DependsOn, y.DependsOn)
}

func columnShapeEqual(x, y *Column) bool {
	return x.Name == y.Name && typeEqual(x.Type, y.Type) && x.Collation == y.Collation && x.NotNull == y.NotNull &&
		x.Default == y.Default && x.Identity == y.Identity && x.Generated == y.Generated
}

func constraintShapeEqual(x, y *Constraint) bool {
	return x.Name == y.Name && x.Kind == y.Kind && x.Check == y.Check && slices.Equal(x.Columns, y.Columns) &&
		x.RefSchema == y.RefSchema && x.RefTable == y.RefTable && slices.Equal(x.RefColumns, y.RefColumns) &&
		x.OnDelete == y.OnDelete && x.OnUpdate == y.OnUpdate && x.Index == y.Index && x.Deferrable == y.Deferrable &&
		x.InitiallyDeferred == y.InitiallyDeferred && x.NoInherit == y.NoInherit && x.Validated == y.Validated
}

// indexShapeEqual leaves out how the index was built (Concurrently), as
// dump does: it is not part of the schema, and a down part that rebuilds
// an index the other way restores it.
func indexShapeEqual(x, y *Index) bool {
	return x.Name == y.Name && x.Unique == y.Unique && x.Method == y.Method && x.Where == y.Where &&
		x.Primary == y.Primary && x.Constraint == y.Constraint && x.parent == y.parent &&
		x.Valid == y.Valid && slices.Equal(x.Include, y.Include) &&
		slices.EqualFunc(x.Keys, y.Keys, func(p, q IndexKey) bool { return p.Column == q.Column && p.Expr == q.Expr && p.Desc == q.Desc })
}
