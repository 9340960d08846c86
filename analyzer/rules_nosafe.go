package analyzer

import "sync"

// batchesByHand says when no batched UPDATE is printed: a batch must tell
// a row it already updated from one it did not, by the new value.
const batchesByHand = "No batched UPDATE is printed, and the report says why, when a batch could not tell a row it already updated from one it did not: " +
	"the new value is computed from a column the UPDATE sets (SET n = n + 1), comes from a function that gives another value at each call " +
	"(random(), gen_random_uuid(), now(), clock_timestamp(), nextval(), ...), or from a join (UPDATE ... FROM), whose condition the batches would have to repeat; " +
	"or when the UPDATE sets part of a column, or several columns from one row expression. " +
	"Then the batches would never end, or would apply the change twice: write them by hand, by ranges of the table's key, each range updated once."

// expandContractNone says when the expand/contract of a column (a new
// column kept in step by a trigger, backfilled, swapped in) is not printed.
const expandContractNone = "when the column is not known from the migrations read (what the new column must keep is unknown); " +
	"when something depends on the column that the new column would need rebuilt (an index or constraint other than the primary key, a view, an identity, " +
	"a generation expression); or when the table has triggers on UPDATE, which the batched backfill would fire for every row while the statement itself fires none."

// noSafeSQL says, for the rules whose safe way is written from the
// statement, when none is printed and why: the report then says it in a
// comment, with no SQL, and the reviewer decides.
var noSafeSQL = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"backfill":             batchesByHand,
		"update-without-where": batchesByHand,
		"delete-rows":          rowsNone,
		"update-rows":          rowsNone,
		"drop-index": "No SQL is printed for an index of a partitioned table: PostgreSQL cannot DROP INDEX CONCURRENTLY there. " +
			"Drop it when the table is quiet, with SET lock_timeout.",
		"blocking-index-build": "No SQL is printed for an index on a partitioned table, which PostgreSQL cannot build CONCURRENTLY " +
			"(build it ON ONLY the parent, CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION each one), for REINDEX SYSTEM, " +
			"and for statements that have no concurrent form: run those when the table is quiet, with SET lock_timeout.",
		"create-unique-index": "No SQL is printed when the table is partitioned: PostgreSQL cannot build an index on a partitioned table CONCURRENTLY.",
		"add-unique-constraint": "No SQL is printed when the ALTER TABLE makes several changes at once: the index would be built before the statement's other changes " +
			"(a column it adds, a key it drops under the same name), so split it into one ALTER TABLE per change first. None either when the table is partitioned, " +
			"where PostgreSQL cannot build the index CONCURRENTLY.",
		"table-rewrite": "For ADD COLUMN with a volatile default, the safe way adds the column without it and backfills in batches; no SQL is printed when the table has " +
			"triggers on UPDATE, which the backfill would fire for every row while the ALTER itself fires none. " +
			"For other rewrites no form avoids the rewrite: the report says to run it when the table is quiet, with SET lock_timeout, or to rebuild the table online with pg_repack.",
		"blocking-scan": "No SQL is printed: for ATTACH PARTITION the report says to add a CHECK matching the partition bound first (NOT VALID, then VALIDATE), " +
			"which lets ATTACH skip its scan; for other scans no form avoids it, so run them when the table is quiet, with SET lock_timeout.",
		"type-change-rewrite": typeChangeNone,
		"type-narrowing":      typeChangeNone,
		"rename-column":       "No expand/contract SQL is printed " + expandContractNone,
	}
})

// rowsNone says why delete-rows and update-rows never print SQL.
const rowsNone = "No SQL is printed: which rows are meant is the author's to say, and how many the WHERE (or the conflicts of an INSERT ... ON CONFLICT DO UPDATE) " +
	"reaches depends on production data. The report says to count them on production first (SELECT count(*) with the same condition) and to keep a copy of them."

const typeChangeNone = "No expand/contract SQL is printed when the ALTER TABLE makes several changes at once (each would need its own rewrite in step with the others: " +
	"split it into one ALTER TABLE per change first); when the column is NOT NULL and PostgreSQL is older than 12, which cannot use a valid CHECK to skip SET NOT NULL's scan; " +
	expandContractNone + " A narrowing of a text column to varchar(n), alone in its statement, is kept as a CHECK on the length instead, which is printed."

// WhenNoSafeSQL says when the rule's findings print no safe SQL and why;
// "" when they always print one (or never write one from the statement).
func (r Rule) WhenNoSafeSQL() string { return noSafeSQL()[r.ID] }
