#!/usr/bin/env bash
# Times `migration-guard check` against squawk 2.66's native binary on the same
# files of each real-world corpus folder (issue 13, "Done when"), side by side
# in one run: for every folder and every round, one run of each, alternating,
# so that the load of a shared machine falls on both alike.
#
# squawk-cli@2.66.0 is installed from npm into $SQUAWK_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/migration-guard-bench/squawk-2.66.0) the first
# time; its native binary is node_modules/@squawk-cli/linux-x64/bin/squawk.
# The corpus must have been extracted by scripts/corpus.sh (docs/corpus.md).
#
# Both tools get the same files: every .sql file of the folder (for sqitch,
# the deploy scripts only, the ones migration-guard runs). migration-guard
# runs as the corpus runs it, `check --format json FOLDER` from the extracted
# root; squawk with `--reporter json FILE...`. Outputs go to /dev/null.
# migration-guard runs twice per round: cold (--no-cache) and warm (a cache
# folder of this run's own, filled by one run per folder before the rounds:
# the second run on unchanged files, docs/performance.md).
#
# Wall time is taken with bash's EPOCHREALTIME around each run, peak RSS with
# /usr/bin/time -f %M. Figures: min and median of $ROUNDS rounds (default 5)
# per folder, the totals are the sums over folders, and the ratios are
# migration-guard / squawk, cold (rc_*) and warm (rw_*) (below 1.0:
# migration-guard is faster). A last line gives each tool's start-up: the
# same timing around a run that does no work (`version`, `--version`), and
# what starting once per folder adds up to in the totals.
#
# Usage: scripts/bench-vs-squawk.sh [-b BINARY] [-c CORPUS] [-n ROUNDS] [NAME...]
set -euo pipefail

CORPUS=${CORPUS:-/work/corpus}
ROUNDS=${ROUNDS:-5}
BIN=${BIN:-}
SQUAWK_VERSION=2.66.0
SQUAWK_DIR=${SQUAWK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/migration-guard-bench/squawk-$SQUAWK_VERSION}

while getopts "b:c:n:h" opt; do
	case $opt in
	b) BIN=$OPTARG ;;
	c) CORPUS=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	h)
		sed -n '2,28p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

die() {
	echo "bench-vs-squawk.sh: $*" >&2
	exit 2
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is required for peak RSS"
command -v npm >/dev/null || die "npm is required to install squawk-cli@$SQUAWK_VERSION"

SQUAWK=$SQUAWK_DIR/node_modules/@squawk-cli/linux-x64/bin/squawk
if [ ! -x "$SQUAWK" ]; then
	echo "installing squawk-cli@$SQUAWK_VERSION into $SQUAWK_DIR" >&2
	mkdir -p "$SQUAWK_DIR"
	npm install --no-audit --no-fund --prefix "$SQUAWK_DIR" "squawk-cli@$SQUAWK_VERSION" >&2 || die "npm install failed"
	[ -x "$SQUAWK" ] || die "no native binary at $SQUAWK after npm install"
fi
"$SQUAWK" --version | grep -q "$SQUAWK_VERSION" || die "$SQUAWK is not squawk $SQUAWK_VERSION"

if [ -z "$BIN" ]; then
	BIN=$(mktemp -d)/migration-guard
	echo "building $BIN from $ROOT" >&2
	(cd "$ROOT" && go build -o "$BIN" ./cmd/migration-guard) || die "build failed"
fi
[ -x "$BIN" ] || die "$BIN is not an executable"

# The corpus entries, as scripts/corpus.sh lists them: name|repo|commit|layout|folder.
ENTRIES=$(sed -n "/^	cat <<'EOF'$/,/^EOF$/p" "$ROOT/scripts/corpus.sh" | sed '1d;$d')
[ -n "$ENTRIES" ] || die "no corpus entries found in scripts/corpus.sh"

SELECTED=("$@")
want() {
	[ ${#SELECTED[@]} -eq 0 ] && return 0
	local n
	for n in "${SELECTED[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run OUTFILE CMD...: appends "seconds rss_kib" of one run to OUTFILE.
run() {
	local out=$1
	shift
	local t0 t1
	t0=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 || true
	t1=$EPOCHREALTIME
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') $(tail -n1 "$tmp/rss")" >>"$out"
}

# stats FILE: "min median max_rss" of the runs in FILE.
stats() {
	sort -n "$1" | awk '{ t[NR] = $1; if ($2 > r) r = $2 } END {
		m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		printf "%.4f %.4f %d", t[1], m, r }'
}

# Start-up: a run that does no work (`version`, `--version`), as many
# rounds, to show how much of each total is only starting a process (paid
# once per folder).
: >"$tmp/mgv" && : >"$tmp/sqv"
for ((i = 0; i < ROUNDS; i++)); do
	run "$tmp/mgv" "$BIN" version
	run "$tmp/sqv" "$SQUAWK" --version
done
read -r mgvmin mgvmed _ <<<"$(stats "$tmp/mgv")"
read -r sqvmin sqvmed _ <<<"$(stats "$tmp/sqv")"

printf '%-18s %6s %9s %9s %9s %9s %9s %9s %6s %6s %6s %6s %7s %7s\n' name files cold_min cold_med warm_min warm_med sq_min sq_med rc_min rc_med rw_min rw_med mg_MiB sq_MiB
totals="$tmp/totals"
: >"$totals"
while IFS='|' read -r name repo commit layout folder; do
	want "$name" || continue
	dir="$CORPUS/$name"
	[ -d "$dir/$folder" ] || die "$dir/$folder is missing: run scripts/corpus.sh first"
	only='*'
	[ "$layout" = sqitch ] && only='*/deploy/*'
	mapfile -t files < <(cd "$dir" && find "$folder" -name '*.sql' -path "$only" | sort)
	[ ${#files[@]} -gt 0 ] || die "$name: no .sql file in $folder"
	: >"$tmp/mg" && : >"$tmp/mgw" && : >"$tmp/sq"
	# The warm runs' cache, filled by one run.
	(cd "$dir" && "$BIN" check --format json --cache-dir "$tmp/cache" "$folder" >/dev/null 2>&1 || true)
	for ((i = 0; i < ROUNDS; i++)); do
		(cd "$dir" && run "$tmp/mg" "$BIN" check --format json --no-cache "$folder")
		(cd "$dir" && run "$tmp/mgw" "$BIN" check --format json --cache-dir "$tmp/cache" "$folder")
		(cd "$dir" && run "$tmp/sq" "$SQUAWK" --reporter json "${files[@]}")
	done
	read -r mgmin mgmed mgrss <<<"$(stats "$tmp/mg")"
	read -r mwmin mwmed mwrss <<<"$(stats "$tmp/mgw")"
	read -r sqmin sqmed sqrss <<<"$(stats "$tmp/sq")"
	[ "$mwrss" -gt "$mgrss" ] && mgrss=$mwrss
	echo "$mgmin $mgmed $mgrss $sqmin $sqmed $sqrss ${#files[@]} $mwmin $mwmed" >>"$totals"
	awk -v n="$name" -v f="${#files[@]}" -v a="$mgmin" -v b="$mgmed" -v c="$sqmin" -v d="$sqmed" -v r="$mgrss" -v s="$sqrss" -v w="$mwmin" -v x="$mwmed" \
		'BEGIN { printf "%-18s %6d %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %6.2f %6.2f %6.2f %6.2f %7.1f %7.1f\n", n, f, a, b, w, x, c, d, a / c, b / d, w / c, x / d, r / 1024, s / 1024 }'
done <<<"$ENTRIES"
awk '{ a += $1; b += $2; if ($3 > r) r = $3; c += $4; d += $5; if ($6 > s) s = $6; f += $7; w += $8; x += $9 } END {
	printf "%-18s %6d %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %6.2f %6.2f %6.2f %6.2f %7.1f %7.1f\n", "total", f, a, b, w, x, c, d, a / c, b / d, w / c, x / d, r / 1024, s / 1024 }' "$totals"
folders=$(wc -l <"$totals")
awk -v n="$folders" -v a="$mgvmin" -v b="$mgvmed" -v c="$sqvmin" -v d="$sqvmed" \
	'BEGIN { printf "start-up (version, no work): migration-guard %.4f / %.4f s, squawk %.4f / %.4f s (min / median); %d starts: %.4f s and %.4f s (min) of the totals\n", a, b, c, d, n, n * a, n * c }'
echo "times in seconds (min and median of $ROUNDS rounds; total: sums); cold: --no-cache, warm: the second run on the same files; rc_*, rw_*: migration-guard cold, warm / squawk; MiB: peak RSS (max over rounds; total: max over folders)"
