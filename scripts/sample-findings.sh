#!/usr/bin/env bash
# Draws a deterministic sample of a corpus run's danger and warning findings
# to judge by hand, and prints the findings per rule of an earlier run beside
# this one's (docs/corpus.md, "Judging a sample").
#
# DIR is a corpus output folder as scripts/corpus.sh writes it (-o): its
# <name>.json files are read. The sample is stratified by rule (one finding of
# every rule, the rest by each rule's share) and seeded: the same seed draws
# the same findings, and a finding at the same place in two runs is drawn in
# both. Each is printed with its file:line, statement, message and safe way in
# a Markdown table with empty verdict columns (true positive, correct but
# noisy, wrong).
#
# Usage: scripts/sample-findings.sh [-n 50] [-s SEED] [-p BEFORE_DIR] DIR
set -euo pipefail

N=50
SEED=migration-guard
BEFORE=
while getopts "n:s:p:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	s) SEED=$OPTARG ;;
	p) BEFORE=$OPTARG ;;
	h)
		sed -n '2,14p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { sed -n '14p' "$0" >&2; exit 2; }

# The folders are read after the cd to the repository: make them absolute.
DIR=$(cd "$1" && pwd) || exit 2
[ -z "$BEFORE" ] || BEFORE=$(cd "$BEFORE" && pwd) || exit 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
exec go run ./internal/findingsample/cmd/sample-findings -n "$N" -seed "$SEED" ${BEFORE:+-before "$BEFORE"} "$DIR"
