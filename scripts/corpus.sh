#!/usr/bin/env bash
# Rebuilds the real-world corpus of PostgreSQL migration folders and runs
# `migration-guard check --format json` over each folder (issue 11, "Done when").
#
# The corpus is public repositories' migration folders, pinned to a commit. The
# repositories themselves are NOT fetched by this script: it expects bare git
# snapshots at $MIRROR/<owner>+<name>/repo (default /work/.mirror), as the
# workplace's search tool brings them (its `fetch` verb, github:<owner>/<name>).
# A missing snapshot or commit is an error that names the repository, never a
# silent skip.
#
# Only the migration folders are extracted (git archive <commit> <folder>), into
# $CORPUS (default /work/corpus), outside this repository: other projects' files
# are never committed here, not even as test fixtures. The JSON outputs and a
# summary go to $OUT (default /work/corpus-out/latest).
#
# Usage: scripts/corpus.sh [-b BINARY] [-o OUT] [-c CORPUS] [-m MIRROR] [NAME...]
#   NAME limits the run to those corpus entries (first column below).
#
# Exit status: 0 when every folder was read (no crash, no "no migrations found",
# the detected layout is the expected one), 1 otherwise, 2 for usage errors.
set -euo pipefail

MIRROR=${MIRROR:-/work/.mirror}
CORPUS=${CORPUS:-/work/corpus}
OUT=${OUT:-/work/corpus-out/latest}
BIN=${BIN:-}

while getopts "b:o:c:m:h" opt; do
	case $opt in
	b) BIN=$OPTARG ;;
	o) OUT=$OPTARG ;;
	c) CORPUS=$OPTARG ;;
	m) MIRROR=$OPTARG ;;
	h)
		sed -n '2,22p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# name | owner/repo | commit | expected layout | folder to check (also what is extracted)
# Why each one is here: docs/corpus.md.
ENTRIES=$(
	cat <<'EOF'
conch|joyent/conch|fc8a0e3d7a0ec15bc216ee0843153225cccd1e8e|plain|sql/migrations
pgxn-manager|pgxn/pgxn-manager|517868879cf0bef99f62342152c64a2b3418d8c6|plain|sql
harbor|goharbor/harbor|c50c7ddd6ea4e335a480b49c618281882ab7eec9|golang-migrate|make/migrations/postgresql
flipt|flipt-io/flipt|2490388c86489952d5d4f4ca9d9f01db73df5f59|golang-migrate|config/migrations/postgres
openfga|openfga/openfga|da9354f7e6704cef47e620ffa2e08212c08d5ad3|goose|assets/migrations/postgres
hatchet|hatchet-dev/hatchet|89d130f303c9561442804c9c32b8748e699d5139|goose|cmd/hatchet-migrate/migrate/migrations
supabase-postgres|supabase/postgres|7db7e1a9e34b9ffb9b0e3372ccf08eb4fa772f4b|dbmate|migrations/db/migrations
measure|measure-sh/measure|cad4ddf454f2dd853e7b88cd1a17b8be1c926606|dbmate|self-host/postgres
kestra|kestra-io/kestra|58c1ca2d0589c888328bacc3ee65e65dc4ba0a6a|flyway|jdbc-postgres/src/main/resources/migrations/postgres
conductor|conductor-oss/conductor|b54f0d4ee546c1053367e1c14405c5396c17bfb1|flyway|postgres-persistence/src/main/resources/db/migration_postgres
chef-erchef|chef/chef-server|9df4f56e51411b48330651c0ad57e3706555f216|sqitch|src/oc_erchef/schema
chef-bifrost|chef/chef-server|9df4f56e51411b48330651c0ad57e3706555f216|sqitch|src/oc_bifrost/schema
chef-bookshelf|chef/chef-server|9df4f56e51411b48330651c0ad57e3706555f216|sqitch|src/bookshelf/schema
documenso|documenso/documenso|75330166cc00b29c14399bc2e391e4b4d8080c00|prisma|packages/prisma/migrations
langfuse|langfuse/langfuse|62751446149b702b419a9292ddfc2280cdf74b8c|prisma|packages/shared/prisma/migrations
dokploy|Dokploy/dokploy|772b76821771c53b072c2fbb95cf8876e1a65ae4|drizzle|apps/dokploy/drizzle
ai-chatbot|vercel/ai-chatbot|9d5d8a3ea7968522a37ab1cc145a6c0ef8a9dd2e|drizzle|lib/db/migrations
chatbot-ui|mckaywrigley/chatbot-ui|81328b61d2a4ab597a7a057be70e785cf756d9f8|supabase|supabase/migrations
basejump|usebasejump/basejump|cfaeaa314e2bd336ff296c8b45fa5f0fa7e4856b|supabase|supabase/migrations
EOF
)

die() {
	echo "corpus.sh: $*" >&2
	exit 2
}

command -v jq >/dev/null || die "jq is required to summarize the JSON outputs"

if [ -z "$BIN" ]; then
	BIN=$(mktemp -d)/migration-guard
	echo "building $BIN from $ROOT" >&2
	(cd "$ROOT" && go build -o "$BIN" ./cmd/migration-guard) || die "build failed"
fi
[ -x "$BIN" ] || die "$BIN is not an executable"

want() {
	[ ${#SELECTED[@]} -eq 0 ] && return 0
	local n
	for n in "${SELECTED[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}
SELECTED=("$@")

# Every selected entry's snapshot and commit must be there before anything runs:
# a corpus with a hole is not the corpus.
missing=0
while IFS='|' read -r name repo commit layout folder; do
	want "$name" || continue
	gitdir="$MIRROR/${repo/\//+}/repo"
	if [ ! -d "$gitdir" ]; then
		echo "corpus.sh: missing snapshot of $repo: expected a bare git directory at $gitdir" >&2
		echo "  bring it with the search tool's fetch (source github:$repo), or set MIRROR / -m" >&2
		missing=1
		continue
	fi
	if ! git --git-dir="$gitdir" cat-file -e "$commit^{commit}" 2>/dev/null; then
		echo "corpus.sh: the snapshot of $repo at $gitdir lacks commit $commit (fetch a newer snapshot)" >&2
		missing=1
	fi
done <<<"$ENTRIES"
[ $missing -eq 0 ] || exit 2

case "$CORPUS" in "$ROOT" | "$ROOT"/*) die "CORPUS must be outside the repository ($ROOT)" ;; esac
case "$OUT" in "$ROOT" | "$ROOT"/*) die "OUT must be outside the repository ($ROOT)" ;; esac
mkdir -p "$CORPUS" "$OUT"

summary="$OUT/summary.tsv"
rules="$OUT/rules.tsv"
printf 'name\trepo\texpected\tdetected\tfiles\tstatements\tdanger\twarning\tinfo\tsyntax_errors\tlayout_problems\texit\tproblem\n' >"$summary"
: >"$OUT/findings.tsv"
rm -rf "$OUT/.cache"
bad=0

while IFS='|' read -r name repo commit layout folder; do
	want "$name" || continue
	gitdir="$MIRROR/${repo/\//+}/repo"
	dest="$CORPUS/$name"
	rm -rf "$dest"
	mkdir -p "$dest"
	# (git archive complains about blobs absent from a snapshot, files of 4 MiB
	# and more elsewhere in the repository; the folder's own files are checked below.)
	git --git-dir="$gitdir" archive "$commit" "$folder" 2>/dev/null | tar -x -C "$dest" || true
	[ -d "$dest/$folder" ] || die "$repo@$commit has no folder $folder"
	want_files=$(git --git-dir="$gitdir" ls-tree -r --name-only "$commit" "$folder" | wc -l)
	got_files=$(find "$dest/$folder" -type f | wc -l)
	[ "$want_files" -eq "$got_files" ] || die "$repo@$commit: $folder has $want_files files, $got_files extracted (absent from the snapshot?)"

	json="$OUT/$name.json"
	err="$OUT/$name.stderr"
	set +e
	# A cache folder of this run's own: every run is judged afresh, and the
	# user's cache is left alone (an older binary ignores the variable).
	(cd "$dest" && MIGRATION_GUARD_CACHE_DIR="$OUT/.cache" "$BIN" check --format json "$folder") >"$json" 2>"$err"
	rc=$?
	set -e

	problem=""
	if [ $rc -gt 1 ]; then
		problem="exit $rc: $(head -c 300 "$err" | tr '\n\t' '  ')"
	fi
	if grep -q -e '^panic:' -e 'goroutine [0-9]* \[' "$err"; then
		problem="crash: $(grep -m1 '^panic:' "$err" | tr '\t' ' ')"
	fi
	if grep -qi 'no migrations found' "$err" "$json"; then
		problem="${problem:+$problem; }no migrations found"
	fi

	if [ -s "$json" ] && jq -e . "$json" >/dev/null 2>&1; then
		detected=$(jq -r '[.files[].layout] | unique | join(",")' "$json")
		files=$(jq '.files | length' "$json")
		stmts=$(jq '[.files[].statements[]] | length' "$json")
		sev() { jq --arg s "$1" '[.files[] | (.findings[], .statements[].findings[]) | select(.severity == $s and (.suppressed | not))] | length' "$json"; }
		danger=$(sev danger)
		warning=$(sev warning)
		info=$(sev info)
		syntax=$(jq '[.files[].statements[].findings[] | select(.rule == "syntax-error")] | length' "$json")
		layoutp=$(jq '[.files[].findings[] | select(.rule == "migration-layout")] | length' "$json")
		jq -r --arg n "$name" '.files[] | (.findings[] | [$n, .rule, .severity, .line, .message] ), (.statements[] | .path as $p | .findings[] | [$n, .rule, .severity, ($p + ":" + (.line|tostring)), .message]) | @tsv' "$json" >>"$OUT/findings.tsv"
		if [ "$detected" != "$layout" ]; then
			problem="${problem:+$problem; }layout $detected, expected $layout"
		fi
		# Every .sql file of the folder (verify scripts and Flyway undo aside) must be
		# judged, or be named in a layout finding: nothing is skipped silently.
		# sqitch runs only the deploy scripts its plan names (revert on rollback,
		# verify and pgTAP tests never as migrations).
		only='*'
		[ "$layout" = sqitch ] && only='*/deploy/*'
		unseen=$(cd "$dest" && find "$folder" -name '*.sql' -path "$only" | sort | jq -R . | jq -s . >"$OUT/$name.sqlfiles.json" &&
			jq --slurpfile all "$OUT/$name.sqlfiles.json" '[(.files[] | .path, .statements[].path, (.findings[] | .message)), .notes[]] as $seen
				| [$all[0][] | . as $f | select(($seen | any(. == $f or contains($f))) | not)] | length' "$json")
		if [ "$unseen" -gt 0 ]; then
			problem="${problem:+$problem; }$unseen .sql files neither judged nor reported"
		fi
	else
		detected="-"
		files=0 stmts=0 danger=0 warning=0 info=0 syntax=0 layoutp=0
		[ -n "$problem" ] || problem="no JSON document (exit $rc)"
	fi
	[ -z "$problem" ] || bad=1
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$repo" "$layout" "$detected" "$files" "$stmts" "$danger" "$warning" "$info" "$syntax" "$layoutp" "$rc" "${problem:--}" >>"$summary"
	echo "$name: $files files, $stmts statements, $danger danger, $warning warning, exit $rc ${problem:+ PROBLEM: $problem}" >&2
done <<<"$ENTRIES"

# Findings per rule and severity over the whole corpus.
printf 'rule\tseverity\tcount\n' >"$rules"
cut -f2,3 "$OUT/findings.tsv" | sort | uniq -c | sort -rn | awk '{printf "%s\t%s\t%s\n", $2, $3, $1}' >>"$rules"

totals=$(awk -F'\t' 'NR > 1 {
	f += $5; s += $6; d += $7; w += $8; i += $9; e += $10; l += $11
	if ($13 ~ /crash/) c++
	if ($13 ~ /no migrations found/) n++
	if ($13 ~ /layout .* expected/) m++
	if ($13 ~ /neither judged nor reported/) u++
} END {
	printf "total: %d folders, %d files, %d statements, %d danger, %d warning, %d info, %d syntax errors, %d layout problems; ", NR - 1, f, s, d, w, i, e, l
	printf "%d crashes, %d \"no migrations found\", %d layouts misread, %d folders with files neither judged nor reported\n", c, n, m, u
}' "$summary")
echo "$totals" >"$OUT/totals.txt"

echo >&2
column -t -s $'\t' "$summary" >&2
echo "$totals" >&2
echo >&2
echo "outputs: $OUT (summary.tsv, rules.tsv, findings.tsv, <name>.json, <name>.stderr)" >&2
exit $bad
