package catalog

import pg_query "github.com/pganalyze/pg_query_go/v5"

// CreateTableConflict returns the relation (table, view, sequence or index)
// that already holds the name a CREATE TABLE without IF NOT EXISTS would
// take, or "" and false: the same check createTable makes before it leaves
// the model unchanged. An unqualified name is taken in the schema the
// catalog creates objects in; temporary tables are not modelled.
func (c *Catalog) CreateTableConflict(cs *pg_query.CreateStmt) (schema, name string, ok bool) {
	rv := cs.GetRelation()
	if rv == nil || cs.GetIfNotExists() || rv.GetRelpersistence() == "t" || rv.GetRelname() == "" {
		return "", "", false
	}
	schema = rv.GetSchemaname()
	if schema == "" {
		schema = c.creationSchema()
	}
	if !c.relationNameTaken(schema, rv.GetRelname()) {
		return "", "", false
	}
	return schema, rv.GetRelname(), true
}

// RelationNameTaken says a table, view, sequence or index of the schema
// has the name.
func (c *Catalog) RelationNameTaken(schema, name string) bool {
	return c.relationNameTaken(schema, name)
}

// RelationKindOf names what holds a relation name of the schema, for
// messages: "table", "view", "sequence", "index".
func (c *Catalog) RelationKindOf(schema, name string) string {
	if t := c.tables.Get(qname{schema, name}); t != nil {
		return t.Kind.String()
	}
	if c.sequences.Has(qname{schema, name}) {
		return "sequence"
	}
	return "index"
}
