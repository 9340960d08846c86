#!/usr/bin/env bash
# Times `migration-guard check --base` over a real history with one changed
# migration (issue 13, "Fast": a warm `check --base` over ~400 migrations in
# under 50 ms), cold and warm, side by side in one run: for every round, one
# run of each kind in turn, so that the load of a shared machine falls on all
# alike.
#
# The history is a corpus folder extracted by scripts/corpus.sh (default:
# langfuse, 436 prisma migrations; docs/corpus.md). It is copied into a
# throwaway git repository under mktemp (never into the project's tree),
# committed, and tagged `base`; one migration is then added on top in the
# working tree (prisma: a new <timestamp>_bench_warm/migration.sql; other
# layouts: a CREATE TABLE appended to the last migration file).
#
# migration-guard runs `check --base base --format json` from the
# repository's root, three ways:
#   cold:   --no-cache;
#   base:   the base's schema from the cache, the changed file new to it (its
#           text gets a new comment before every run, so the whole output is
#           never in the cache: this is a push that edited the file);
#   output: the second run on unchanged files (the whole output from the
#           cache).
# The cache is a folder of this run's own, filled by one run of each kind
# before the rounds. squawk 2.66's native binary lints the changed file for
# reference, if scripts/bench-vs-squawk.sh installed it ($SQUAWK_DIR, same
# default); it is skipped otherwise.
#
# Wall time is taken with bash's EPOCHREALTIME around each run, peak RSS and
# CPU time (user and system, of the process and the git processes it waited
# for) with /usr/bin/time. Figures: min and median of $ROUNDS rounds (default
# 9), in milliseconds. On a shared machine CPU time moves less with the load
# than wall time does.
#
# Usage: scripts/bench-base-warm.sh [-b BINARY] [-c CORPUS] [-n ROUNDS] [NAME]
set -euo pipefail

CORPUS=${CORPUS:-/work/corpus}
ROUNDS=${ROUNDS:-9}
BIN=${BIN:-}
SQUAWK_VERSION=2.66.0
SQUAWK_DIR=${SQUAWK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/migration-guard-bench/squawk-$SQUAWK_VERSION}

while getopts "b:c:n:h" opt; do
	case $opt in
	b) BIN=$OPTARG ;;
	c) CORPUS=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	h)
		sed -n '2,34p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
NAME=${1:-langfuse}

die() {
	echo "bench-base-warm.sh: $*" >&2
	exit 2
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is required for peak RSS"
command -v git >/dev/null || die "git is required"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$BIN" ]; then
	BIN=$tmp/migration-guard
	echo "building $BIN from $ROOT" >&2
	(cd "$ROOT" && go build -o "$BIN" ./cmd/migration-guard) || die "build failed"
fi
[ -x "$BIN" ] || die "$BIN is not an executable"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

SQUAWK=$SQUAWK_DIR/node_modules/@squawk-cli/linux-x64/bin/squawk
[ -x "$SQUAWK" ] || SQUAWK=

# The corpus entry, as scripts/corpus.sh lists it: name|repo|commit|layout|folder.
entry=$(sed -n "/^	cat <<'EOF'$/,/^EOF$/p" "$ROOT/scripts/corpus.sh" | sed '1d;$d' | grep "^$NAME|") ||
	die "no corpus entry named $NAME in scripts/corpus.sh"
IFS='|' read -r _ _ _ layout folder <<<"$entry"
[ -d "$CORPUS/$NAME/$folder" ] || die "$CORPUS/$NAME/$folder is missing: run scripts/corpus.sh first"

# The throwaway repository: the history at `base`, one migration on top.
repo=$tmp/repo
mkdir -p "$repo/$(dirname "$folder")"
cp -r "$CORPUS/$NAME/$folder" "$repo/$folder"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -q -m base
git -C "$repo" tag base
# Packed, as in a clone: loose objects would cost git a file each.
git -C "$repo" gc -q
files=$(git -C "$repo" ls-files | wc -l)
if [ "$layout" = prisma ]; then
	changed=$folder/99991231000000_bench_warm/migration.sql
	mkdir -p "$repo/$(dirname "$changed")"
	cat >"$repo/$changed" <<'SQL'
-- AlterTable
CREATE TABLE "bench_warm" ("id" TEXT NOT NULL, "note" TEXT, CONSTRAINT "bench_warm_pkey" PRIMARY KEY ("id"));
ALTER TABLE "bench_warm" ADD COLUMN "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
CREATE INDEX "bench_warm_note_idx" ON "bench_warm"("note");
SQL
else
	changed=$(git -C "$repo" ls-files "$folder" | grep '\.sql$' | sort | tail -n1)
	[ -n "$changed" ] || die "$NAME: no .sql file in $folder"
	printf '\nCREATE TABLE bench_warm (id bigint PRIMARY KEY, note text);\n' >>"$repo/$changed"
fi
cp "$repo/$changed" "$tmp/changed.sql"

# run OUTFILE CMD...: appends "milliseconds rss_kib cpu_milliseconds" of one
# run, from the repository's root, to OUTFILE.
run() {
	local out=$1
	shift
	local t0 t1
	t0=$EPOCHREALTIME
	(cd "$repo" && /usr/bin/time -f '%M %U %S' -o "$tmp/rss" "$@" >/dev/null 2>&1) || true
	t1=$EPOCHREALTIME
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }') $(tail -n1 "$tmp/rss" | awk '{ printf "%d %.0f", $1, ($2 + $3) * 1000 }')" >>"$out"
}

# median: the median of the numbers on standard input.
median() {
	sort -n | awk '{ t[NR] = $1 } END { printf "%.2f", (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

# stats FILE: "min median max_rss cpu_min cpu_median" of the runs in FILE.
stats() {
	local r c
	r=$(awk '{ if ($2 > r) r = $2 } END { printf "%.1f", r / 1024 }' "$1")
	c=$(awk '{ print $3 }' "$1" | sort -n | head -n1)
	echo "$(awk '{ print $1 }' "$1" | sort -n | head -n1) $(awk '{ print $1 }' "$1" | median) $r $c $(awk '{ print $3 }' "$1" | median)"
}

# edit N: the changed file with a comment of its own, so that its bytes,
# and so the output's key, are new to the cache while the base is not.
edit() {
	{
		cat "$tmp/changed.sql"
		printf -- '-- bench round %s\n' "$1"
	} >"$repo/$changed"
}

mg=("$BIN" check --base base --format json)
cache=(--cache-dir "$tmp/cache")
# Fill the cache: the base's schema, and the output for the unchanged file.
edit fill
(cd "$repo" && "${mg[@]}" "${cache[@]}" >/dev/null 2>&1) || true
: >"$tmp/cold" && : >"$tmp/base" && : >"$tmp/output" && : >"$tmp/sq"
for ((i = 0; i < ROUNDS; i++)); do
	run "$tmp/cold" "${mg[@]}" --no-cache
	edit "$i"
	run "$tmp/base" "${mg[@]}" "${cache[@]}"
	run "$tmp/output" "${mg[@]}" "${cache[@]}"
	[ -z "$SQUAWK" ] || run "$tmp/sq" "$SQUAWK" --reporter json "$changed"
done

echo "$NAME: $files migrations at base, one changed ($changed); $ROUNDS rounds; $BIN"
printf '%-8s %9s %9s %7s %11s %11s\n' run min_ms med_ms MiB cpu_min_ms cpu_med_ms
for k in cold base output sq; do
	[ -s "$tmp/$k" ] || continue
	read -r a b r c d <<<"$(stats "$tmp/$k")"
	label=$k
	[ "$k" = sq ] && label=squawk
	printf '%-8s %9s %9s %7s %11s %11s\n' "$label" "$a" "$b" "$r" "$c" "$d"
done
echo "cold: --no-cache; base: the base's schema from the cache, the changed file edited since; output: the second run on unchanged files; squawk: the changed file alone"
