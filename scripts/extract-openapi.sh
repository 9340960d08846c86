#!/usr/bin/env bash
# Regenerates webhook/githubfake/testdata/openapi/github-subset.json.gz, the
# part of GitHub's official REST API description the fake validates against.
# Run it after changing webhook/githubfake/internal/ghops/ops.go.
#
# Usage: scripts/extract-openapi.sh [LOCAL_DESCRIPTION]
#   LOCAL_DESCRIPTION  api.github.com.json (plain or .gz) to use when the npm
#                      registry cannot be reached.
set -euo pipefail

PKG='@octokit/openapi'
VERSION='23.0.2'
FILE='generated/api.github.com.json'
SHA256='829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a'
OUT='webhook/githubfake/testdata/openapi/github-subset.json.gz'

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

input=''
if (cd "$tmp" && npm pack --loglevel=error "$PKG@$VERSION" >pack.log 2>&1); then
	tarball="$(ls "$tmp"/*.tgz)"
	tar -xzf "$tarball" -C "$tmp" "package/$FILE"
	input="$tmp/package/$FILE"
	echo "using $PKG@$VERSION from the npm registry"
elif [[ $# -ge 1 ]]; then
	input="$1"
	echo "npm pack failed ($(tail -n 1 "$tmp/pack.log")); using $input"
else
	cat "$tmp/pack.log" >&2
	echo "npm pack $PKG@$VERSION failed and no local description was given" >&2
	exit 1
fi

# The Go program checks the checksum too; checking here first gives a
# clearer message when a wrong file is passed.
if [[ "$input" == *.gz ]]; then
	got="$(gzip -dc "$input" | sha256sum | cut -d' ' -f1)"
else
	got="$(sha256sum "$input" | cut -d' ' -f1)"
fi
if [[ "$got" != "$SHA256" ]]; then
	echo "checksum mismatch for $input: got $got, want $SHA256" >&2
	exit 1
fi

go run ./webhook/githubfake/cmd/extract-openapi \
	-in "$input" -sha256 "$SHA256" -source "$PKG@$VERSION" -file "$FILE" -out "$OUT"
