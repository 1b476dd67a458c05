#!/usr/bin/env bash
# bench/security.sh — peak memory of rescoord on hostile snapshots (the
# figures of docs/security.md).
#
#   bench/security.sh
#
# Builds rescoord, makes the cases in a temporary directory (removed at the
# end; nothing is committed) and runs validate, list and leaks -o json on
# each under GNU time, printing one table: exit code, peak RSS, wall time,
# and RSS over the bytes decoded (the file, or the bytes gzip gave before
# the limit stopped it).
#
#   bomb      5 MB of gzip expanding to 5 GiB (a snapshot's start, then
#             spaces): refused past --max-input (default 1 GiB)
#   zero      /dev/zero: refused at its first byte
#   deep      50,000 components, each the parent of the next, one
#             resource on the deepest
#   string    one resource whose name is a 40 MB string
#   escapes   one resource whose name is 20 million \n escapes (40 MB)
#   pipe      the string case through a pipe (standard input of unknown
#             size: a growing buffer)
#
# Environment: OUT (work directory, default a new temporary one),
# COMMANDS (default "validate|list|leaks -o json", separated by |).
set -euo pipefail

cd "$(dirname "$0")/.."
[[ -x /usr/bin/time ]] || { echo "bench/security.sh needs GNU time (/usr/bin/time)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d)}
trap 'rm -rf "$OUT"' EXIT
IFS='|' read -r -a commands <<<"${COMMANDS:-validate|list|leaks -o json}"

go build -o "$OUT/rescoord" .
bin=$OUT/rescoord

head='{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z"'

# bomb: one gzip member holding the start, then a member of 1 MiB of
# spaces repeated 5120 times (doubled 12 times, then 1024 more): gzip
# readers take concatenated members as one stream.
printf '%s,"x":"' "$head" | gzip -9 >"$OUT/bomb.json.gz"
head -c $((1 << 20)) /dev/zero | tr '\0' ' ' | gzip -9 >"$OUT/member"
for k in $(seq 1 12); do
	cat "$OUT/member" "$OUT/member" >"$OUT/double" && mv "$OUT/double" "$OUT/member"
	[[ $k == 10 ]] && cp "$OUT/member" "$OUT/gib"
done
cat "$OUT/member" "$OUT/gib" >>"$OUT/bomb.json.gz"
rm -f "$OUT/member" "$OUT/gib"

# deep: a 50,000-deep parent chain.
awk -v head="$head" 'BEGIN {
	n = 50000
	printf "%s,\"components\":[\n", head
	for (i = 0; i < n; i++) {
		if (i == 0) printf "{\"id\":\"c0\",\"state\":\"alive\"}"
		else printf ",\n{\"id\":\"c%d\",\"parent\":\"c%d\",\"state\":\"alive\"}", i, i - 1
	}
	printf "],\"resources\":[{\"id\":\"r\",\"type\":\"worker\",\"owner\":\"c%d\",\"state\":\"active\",\"running\":true}]}\n", n - 1
}' >"$OUT/deep.json"

# string and escapes: a 40 MB name.
{
	printf '%s,"components":[{"id":"a","state":"alive"}],"resources":[{"id":"r","type":"memory","owner":"a","state":"active","name":"' "$head"
	head -c 40000000 /dev/zero | tr '\0' 'x'
	printf '"}]}\n'
} >"$OUT/string.json"
{
	printf '%s,"components":[{"id":"a","state":"alive"}],"resources":[{"id":"r","type":"memory","owner":"a","state":"active","name":"' "$head"
	head -c 20000000 /dev/zero | tr '\0' 'n' | sed 's/n/\\n/g'
	printf '"}]}\n'
} >"$OUT/escapes.json"

size() { stat -c %s "$1"; }

printf '%-8s %-14s %-14s %4s %10s %8s %8s\n' case input command exit "peak RSS" seconds "RSS/in"
for c in bomb zero deep string escapes pipe; do
	case $c in
	bomb) in=$OUT/bomb.json.gz decoded=$((1 << 30)) ;;
	zero) in=/dev/zero decoded=1 ;;
	pipe) in=$OUT/string.json decoded=$(size "$in") ;;
	*) in=$OUT/$c.json decoded=$(size "$in") ;;
	esac
	label=$(basename "$in")
	[[ $c == bomb ]] && label="bomb (5 MB)"
	[[ $c == pipe ]] && label="| string.json"
	for cmd in "${commands[@]}"; do
		if [[ $c == pipe ]]; then
			# shellcheck disable=SC2086 # cmd is words
			cat "$in" | /usr/bin/time -f '%x %M %e' -o "$OUT/time" "$bin" $cmd - >/dev/null 2>"$OUT/stderr" || true
		else
			# shellcheck disable=SC2086 # cmd is words
			/usr/bin/time -f '%x %M %e' -o "$OUT/time" "$bin" $cmd "$in" >/dev/null 2>"$OUT/stderr" || true
		fi
		read -r code rss secs <"$OUT/time" || true
		# GNU time writes "Command exited with non-zero status N" first.
		if [[ $code == Command ]]; then
			read -r code rss secs < <(tail -1 "$OUT/time")
		fi
		ratio=$(awk -v r="$rss" -v d="$decoded" 'BEGIN { if (d > 1024) printf "%.1f", r * 1024 / d; else print "-" }')
		printf '%-8s %-14s %-14s %4s %7d MB %8s %8s\n' "$c" "$label" "$cmd" "$code" $((rss / 1024)) "$secs" "$ratio"
	done
done
