package catalog

// Shape renders the model like Dump but without where each object came
// from, so that two catalogs built by different statements compare equal
// when they describe the same schema (a down migration that undoes its up
// migration leaves the same shape behind).
func (c *Catalog) Shape() string { return c.dump(false) }
