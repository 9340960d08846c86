#!/usr/bin/env bash
# Runs every safe way that migration-guard prints for the real-world corpus
# (issue 12, "Done when"), with `migration-guard try-safe-ways`: for each
# finding whose safe way holds SQL, the folder's history is applied up to the
# statement, rows are added, and the statement and its safe way (as an
# operator runs it) are compared with the comparators the fixture harness
# uses in CI (internal/effect). docs/corpus.md says how to read the results.
#
# The corpus must have been extracted by scripts/corpus.sh (same CORPUS); the
# folders are the ones listed there. Each folder runs in a private PostgreSQL
# cluster started from the local binaries (or on --rehearsal-db given in
# TRY_FLAGS), as the rehearsal runs.
#
# Usage: scripts/corpus-safeways.sh [-b BINARY] [-o OUT] [-c CORPUS] [-j JOBS] [NAME...]
#   OUT (default /work/corpus-out/safeways) gets <name>.tsv and <name>.stderr
#   per folder, rules.tsv (per rule: suggestions, ran ok, failed, not
#   runnable, fragments), folders.tsv, failed.tsv, not-runnable.tsv and
#   totals.txt.
#
# Exit status: 0 when no safe way failed, 1 when one did or a folder could
# not be run at all, 2 for usage errors.
set -euo pipefail

CORPUS=${CORPUS:-/work/corpus}
OUT=${OUT:-/work/corpus-out/safeways}
BIN=${BIN:-}
JOBS=${JOBS:-2}

while getopts "b:o:c:j:h" opt; do
	case $opt in
	b) BIN=$OPTARG ;;
	o) OUT=$OPTARG ;;
	c) CORPUS=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	h)
		sed -n '2,22p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

ROOT=$(cd "$(dirname "$0")/.." && pwd)
die() {
	echo "corpus-safeways.sh: $*" >&2
	exit 2
}

case "$OUT" in "$ROOT" | "$ROOT"/*) die "OUT must be outside the repository ($ROOT)" ;; esac
if [ -z "$BIN" ]; then
	BIN=$(mktemp -d)/migration-guard
	echo "building $BIN from $ROOT" >&2
	(cd "$ROOT" && go build -o "$BIN" ./cmd/migration-guard) || die "build failed"
fi
[ -x "$BIN" ] || die "$BIN is not an executable"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# The entries of scripts/corpus.sh: name|repo|commit|layout|folder.
ENTRIES=$(sed -n "/^ENTRIES=\$(/,/^EOF/p" "$ROOT/scripts/corpus.sh" | grep '|')
SELECTED=("$@")
want() {
	[ ${#SELECTED[@]} -eq 0 ] && return 0
	local n
	for n in "${SELECTED[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

mkdir -p "$OUT"
list=()
while IFS='|' read -r name repo commit layout folder; do
	want "$name" || continue
	[ -d "$CORPUS/$name/$folder" ] || die "$CORPUS/$name/$folder is missing: run scripts/corpus.sh first"
	list+=("$name|$folder")
done <<<"$ENTRIES"

export BIN OUT CORPUS TRY_FLAGS
printf '%s\n' "${list[@]}" | xargs -P "$JOBS" -I{} bash -c '
	name=${1%%|*}; folder=${1#*|}
	set +e
	(cd "$CORPUS/$name" && "$BIN" try-safe-ways ${TRY_FLAGS:-} "$folder") >"$OUT/$name.tsv" 2>"$OUT/$name.stderr"
	echo "$?" >"$OUT/$name.exit"
	echo "$name: done (exit $(cat "$OUT/$name.exit"))" >&2
' _ {}

bad=0
printf 'name\thistory_statements_applied\tsuggestions\tok\tfailed\tnot_runnable\tfragments\texit\tnot_runnable_because\n' >"$OUT/folders.tsv"
: >"$OUT/all.tsv"
for e in "${list[@]}"; do
	name=${e%%|*}
	rc=$(cat "$OUT/$name.exit")
	[ "$rc" -eq 0 ] || bad=1
	hist=$(grep -m1 '^# history' "$OUT/$name.tsv" || printf '# history\t0\tthe run failed: %s' "$(head -c 300 "$OUT/$name.stderr" | tr '\n\t' '  ')")
	applied=$(printf '%s' "$hist" | cut -f2)
	why=$(printf '%s' "$hist" | cut -f3)
	grep -v -e '^# history' -e '^path	line' "$OUT/$name.tsv" | sed "s/^/$name\t/" >>"$OUT/all.tsv" || true
	count() { grep -c -P "^$name\t[^\t]*\t[^\t]*\t[^\t]*\t$1\t" "$OUT/all.tsv" || true; }
	ok=$(count ok)
	failed=$(count failed)
	nr=$(count not-runnable)
	frag=$(count fragment)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$applied" $((ok + failed + nr)) "$ok" "$failed" "$nr" "$frag" "$rc" "$why" >>"$OUT/folders.tsv"
done

# Per rule over the whole corpus. Fragments (a column definition) are not
# statements an operator runs, so they are no suggestion; counted apart.
printf 'rule\tsuggestions\tok\tfailed\tnot_runnable\tfragments\n' >"$OUT/rules.tsv"
awk -F'\t' '{ r[$4] = 1; n[$4 "\t" $5]++ }
END { for (k in r) printf "%s\t%d\t%d\t%d\t%d\t%d\n", k, n[k "\tok"] + n[k "\tfailed"] + n[k "\tnot-runnable"], n[k "\tok"], n[k "\tfailed"], n[k "\tnot-runnable"], n[k "\tfragment"] }' "$OUT/all.tsv" |
	sort -t$'\t' -k2,2nr -k1,1 >>"$OUT/rules.tsv"
awk -F'\t' '$5 == "failed"' "$OUT/all.tsv" >"$OUT/failed.tsv"
awk -F'\t' '$5 == "not-runnable"' "$OUT/all.tsv" >"$OUT/not-runnable.tsv"

totals=$(awk -F'\t' 'NR > 1 { s += $3; o += $4; f += $5; n += $6; g += $7; if ($9 != "-") h++ }
END { printf "total: %d folders, %d suggestions: %d ran ok, %d failed, %d not runnable; %d fragments not run; %d folders whose history stops applying\n", NR - 1, s, o, f, n, g, h }' "$OUT/folders.tsv")
echo "$totals" >"$OUT/totals.txt"
[ -s "$OUT/failed.tsv" ] && bad=1

echo >&2
column -t -s $'\t' "$OUT/rules.tsv" >&2
echo >&2
cut -f1-8 "$OUT/folders.tsv" | column -t -s $'\t' >&2
echo "$totals" >&2
echo "outputs: $OUT (rules.tsv, folders.tsv, failed.tsv, not-runnable.tsv, all.tsv, <name>.tsv)" >&2
exit $bad
