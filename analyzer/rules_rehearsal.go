package analyzer

// Rules of findings only a rehearsal gives: migration-guard rehearse (or
// check --rehearse) applies the migrations to a throwaway PostgreSQL and
// reports what the server did. The analyzer never makes these findings
// itself; they are registered here so that every report format, `explain`
// and docs/rules/ know them.
var (
	RuleRehearsalFails = register(Rule{
		ID: "fails-at-deploy", Question: QTransaction, Severity: Danger,
		Title: "PostgreSQL refused the statement in the rehearsal",
		Why: "The rehearsal applied the base migrations and then this one, statement by statement as the tool runs it, to a throwaway " +
			"PostgreSQL, and the server refused this statement: the migration fails at deploy, leaving the database as far as the last " +
			"commit got. The error is PostgreSQL's own, with the line it points at.",
		Example: "ALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orders ALTER COLUMN notes SET NOT NULL; -- no column \"notes\"",
		Safe:    "ALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orders ALTER COLUMN note SET NOT NULL;",
	})
	RuleRehearsalContradicts = register(Rule{
		ID: "rehearsal-contradicts-model", Question: QLocks, Severity: Warning,
		Title: "PostgreSQL took other locks or did other work than predicted",
		Why: "The rehearsal read pg_locks for the migrating session before each commit, and each table's file (relfilenode) and scan " +
			"counter before and after each statement. What PostgreSQL did differs from what migration-guard predicted: when it did more " +
			"(a stronger lock, a rewrite or scan not predicted) the prediction understated the risk and the statement needs a person's " +
			"review; when it did less, the prediction was too cautious.",
		Example: "ALTER TABLE orders ALTER COLUMN note TYPE varchar(200); -- predicted a rewrite; PostgreSQL changed metadata only",
		Safe:    "-- Read what PostgreSQL did in the finding and judge the statement by that.",
	})
	RuleRehearsalDownRestore = register(Rule{
		ID: "down-does-not-restore", Question: QTransaction, Severity: Warning,
		Title: "The down part does not give the schema back",
		Why: "The rehearsal ran the up part, then the down part, and compared the schema (tables, columns, types, constraints, indexes, " +
			"functions, triggers, read from pg_catalog) with the schema before the up part. They differ: rolling back with this down part " +
			"leaves a schema the previous version of the application was not built for, or fails to run at all.",
		Example: "-- up\nALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_note ON orders (note);\n-- down\nDROP INDEX orders_note;",
		Safe:    "-- down\nDROP INDEX orders_note;\nALTER TABLE orders DROP COLUMN note;",
	})
	RuleNotRehearsed = register(Rule{
		ID: "not-rehearsed", Question: QTransaction, Severity: Warning,
		Title: "The migration could not be rehearsed",
		Why: "A rehearsal was asked for, and this migration (or its rest) did not run to the end on the throwaway PostgreSQL for a reason " +
			"that says nothing about production: an extension the machine lacks, a privilege the rehearsal never grants, a timeout, psql " +
			"syntax. What it would do was not observed, so it is not confirmed; a person reads it.",
		Example: "CREATE EXTENSION postgis; -- not installed on the machine running the rehearsal",
		Safe:    "-- Install the extension where the rehearsal runs, or review the migration by hand.",
	})
)
