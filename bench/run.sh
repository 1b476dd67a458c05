#!/usr/bin/env bash
# bench/run.sh — rescoord against jq, Python and encoding/json on large
# generated snapshots (see docs/performance.md).
#
#   bench/run.sh            100k and 1M resources, 5 runs each
#   bench/run.sh --smoke    10k resources, 1 run: a quick check for CI
#
# Environment: RUNS (runs per approach, default 5), SIZES (resource
# counts, default "100000 1000000"), OUT (work directory, default
# bench/out, gitignored), BEFORE (optional: another rescoord binary, such
# as a build of the previous commit; its leaks, cleanup and validate runs
# join every round as "before: ..." rows, so a change is measured against
# what it replaces in the same run).
#
# Runs every approach once per round, RUNS rounds, and prints one table:
# wall-clock median, CPU time (user + system) median and peak RSS (the
# largest of the runs) per approach and size, and the wall
# and RSS ratios to `rescoord leaks -o json` on the same snapshot (CPU
# time is the steadier figure on a machine shared with other work). Then
# checks the targets of the performance issue for the 1M snapshot and the
# growth from 100k to 1M, and exits 1 if one is missed (never in --smoke
# mode).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"100000 1000000"}
smoke=0
if [[ ${1:-} == --smoke ]]; then
	smoke=1
	RUNS=1
	SIZES=10000
elif [[ $# -gt 0 ]]; then
	echo "usage: bench/run.sh [--smoke]" >&2
	exit 2
fi
mkdir -p "$OUT"

# Tools: jq (the Debian package) and GNU time, installed when missing.
need=()
command -v jq >/dev/null || need+=(jq)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

go build -o "$OUT/rescoord" .
go build -o "$OUT/stdjson" ./bench/stdjson
go build -o "$OUT/gensnap" ./internal/tools/gensnap

label() { # 1000000 -> 1M
	local n=$1
	if ((n % 1000000 == 0)); then echo "$((n / 1000000))M"; elif ((n % 1000 == 0)); then echo "$((n / 1000))k"; else echo "$n"; fi
}

# The snapshots, generated once per size and generator (the generator's
# binary hash is part of the name, so a changed generator regenerates).
gen_id=$(sha256sum "$OUT/gensnap" | cut -c1-8)
declare -A file
for n in $SIZES; do
	f="$OUT/snap-$(label "$n")-$gen_id.json"
	if [[ ! -s $f ]]; then
		echo "generating $(label "$n") resources into $f" >&2
		"$OUT/gensnap" -resources "$n" -o "$f.tmp"
		mv "$f.tmp" "$f"
	fi
	file[$n]=$f
done

# run_once CMD...: runs CMD once (stdout discarded; exit codes 0 and 1
# are both results, `leaks` exits 1 when it finds leaks) and prints
# "wall_s max_rss_kb cpu_s" (CPU: user + system).
run_once() {
	local rc=0 wall rss user sys
	/usr/bin/time -f '%e %M %U %S' -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || rc=$?
	if ((rc > 1)); then
		echo "failed (exit $rc): $*" >&2
		cat "$OUT/stderr.txt" >&2
		exit 2
	fi
	# GNU time writes "Command exited with non-zero status 1" first.
	read -r wall rss user sys < <(tail -n 1 "$OUT/time.txt")
	echo "$wall $rss $(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

approaches=(
	"rescoord leaks -o json"
	"rescoord cleanup --dry-run -o json"
	"rescoord list --type worker -o json"
	"rescoord validate"
	"jq -f bench/orphans.jq"
	"python3 bench/orphans.py"
	"go encoding/json (bench/stdjson)"
)
if [[ -n ${BEFORE:-} ]]; then
	[[ -x $BEFORE ]] || { echo "BEFORE=$BEFORE is not an executable" >&2; exit 2; }
	approaches+=(
		"before: rescoord leaks -o json"
		"before: rescoord cleanup --dry-run -o json"
		"before: rescoord validate"
	)
fi
command_for() { # approach file -> command words
	case $1 in
	"rescoord leaks -o json") echo "$OUT/rescoord leaks -o json $2" ;;
	"rescoord cleanup --dry-run -o json") echo "$OUT/rescoord cleanup --dry-run -o json $2" ;;
	"rescoord list --type worker -o json") echo "$OUT/rescoord list --type worker -o json $2" ;;
	"rescoord validate") echo "$OUT/rescoord validate $2" ;;
	"jq -f bench/orphans.jq") echo "jq -f bench/orphans.jq $2" ;;
	"python3 bench/orphans.py") echo "python3 bench/orphans.py $2" ;;
	"go encoding/json (bench/stdjson)") echo "$OUT/stdjson $2" ;;
	"before: rescoord leaks -o json") echo "$BEFORE leaks -o json $2" ;;
	"before: rescoord cleanup --dry-run -o json") echo "$BEFORE cleanup --dry-run -o json $2" ;;
	"before: rescoord validate") echo "$BEFORE validate $2" ;;
	esac
}

# The approaches must agree before they are timed: the orphans counted by
# jq, Python and encoding/json are rescoord's running-orphan and
# orphaned-resource findings.
first=${file[${SIZES%% *}]}
want=$("$OUT/rescoord" leaks -o json "$first" | jq '[.findings[] | select(.rule == "orphaned-resource" or .rule == "running-orphan")] | length' || true)
for a in "jq -f bench/orphans.jq" "python3 bench/orphans.py" "go encoding/json (bench/stdjson)"; do
	# shellcheck disable=SC2046
	got=$($(command_for "$a" "$first"))
	if [[ $got != "$want" ]]; then
		echo "disagreement on $first: rescoord finds $want orphans, $a counts $got" >&2
		exit 2
	fi
done
echo "all approaches count $want orphans in $(label "${SIZES%% *}"); timing $RUNS run(s) each" >&2

# Each round runs every approach once, so that a machine that gets busier
# or quieter during the benchmark weighs on all of them alike, and each
# round starts one approach further on, so that no approach always runs
# right after the same one (on a virtual machine, memory that jq or
# Python has just freed can be slower to use again).
declare -A walls cpus wall rss cpu
for n in $SIZES; do
	cat "${file[$n]}" >/dev/null # in the page cache for everyone
	for ((i = 1; i <= RUNS; i++)); do
		echo "  $(label "$n") round $i of $RUNS" >&2
		for ((j = 0; j < ${#approaches[@]}; j++)); do
			a=${approaches[(i - 1 + j) % ${#approaches[@]}]}
			# shellcheck disable=SC2046
			read -r w r c < <(run_once $(command_for "$a" "${file[$n]}"))
			walls["$n|$a"]+="$w "
			cpus["$n|$a"]+="$c "
			((r > ${rss["$n|$a"]:-0})) && rss["$n|$a"]=$r
		done
		for a in "${approaches[@]}"; do
			echo "    $a: ${walls["$n|$a"]}" >&2
		done
	done
	for a in "${approaches[@]}"; do
		wall["$n|$a"]=$(tr ' ' '\n' <<<"${walls["$n|$a"]}" | grep . | median)
		cpu["$n|$a"]=$(tr ' ' '\n' <<<"${cpus["$n|$a"]}" | grep . | median)
	done
done

table="$OUT/results.md"
{
	printf '| approach | resources | file | wall (median of %s) | CPU user+sys (median) | peak RSS | wall ÷ rescoord leaks | RSS ÷ rescoord leaks |\n' "$RUNS"
	printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
	for n in $SIZES; do
		base_w=${wall["$n|rescoord leaks -o json"]}
		base_r=${rss["$n|rescoord leaks -o json"]}
		size_mb=$(($(stat -c %s "${file[$n]}") / 1000000))
		for a in "${approaches[@]}"; do
			w=${wall["$n|$a"]} r=${rss["$n|$a"]} c=${cpu["$n|$a"]}
			awk -v a="$a" -v n="$(label "$n")" -v mb="$size_mb" -v w="$w" -v c="$c" -v r="$r" -v bw="$base_w" -v br="$base_r" 'BEGIN {
				printf "| %s | %s | %d MB | %.2f s | %.2f s | %d MB | %.1f× | %.1f× |\n", a, n, mb, w, c, r / 1024, (bw > 0 ? w / bw : 0), (br > 0 ? r / br : 0)
			}'
		done
	done
} >"$table"
column -t -s '|' -o '|' "$table"
echo "(also written to $table)" >&2

((smoke)) && exit 0

# Targets (performance issue): for 1M resources, leaks and cleanup within
# 1.5 s and 700 MB and at least 12× faster than jq and Python (their
# memory ratios are printed); list and validate within 1.5 s; 100k -> 1M
# at most 11×.
fail=0
check() { # description ok(0/1)
	if (($2)); then echo "ok    $1"; else
		echo "MISS  $1"
		fail=1
	fi
}
big=1000000 small=100000
if [[ -n ${wall["$big|rescoord leaks -o json"]:-} ]]; then
	for a in "rescoord leaks -o json" "rescoord cleanup --dry-run -o json"; do
		w=${wall["$big|$a"]} r=${rss["$big|$a"]}
		check "$a, 1M: ${w} s ≤ 1.5 s" "$(awk -v w="$w" 'BEGIN {print (w <= 1.5)}')"
		check "$a, 1M: $((r / 1024)) MB ≤ 700 MB" "$(awk -v r="$r" 'BEGIN {print (r <= 700 * 1024)}')"
		for other in "jq -f bench/orphans.jq" "python3 bench/orphans.py"; do
			ow=${wall["$big|$other"]} orss=${rss["$big|$other"]}
			speedup=$(awk -v a="$ow" -v b="$w" 'BEGIN {printf "%.1f", a / b}')
			check "$a, 1M: ${speedup}× faster than ${other%% *} (≥ 12×)" "$(awk -v x="$speedup" 'BEGIN {print (x >= 12)}')"
			# The memory target is the 700 MB above (the issue's quarter of
			# jq's and Python's 2.3–2.7 GB); the ratio here is for the record.
			echo "info  $a, 1M: $(awk -v r="$r" -v o="$orss" 'BEGIN {printf "%.1f", o / r}')× less memory than ${other%% *} ($((r / 1024)) MB against $((orss / 1024)) MB)"
		done
	done
	for a in "rescoord list --type worker -o json" "rescoord validate"; do
		w=${wall["$big|$a"]}
		check "$a, 1M: ${w} s ≤ 1.5 s" "$(awk -v w="$w" 'BEGIN {print (w <= 1.5)}')"
	done
	if [[ -n ${wall["$small|rescoord leaks -o json"]:-} ]]; then
		for a in "rescoord leaks -o json" "rescoord cleanup --dry-run -o json"; do
			ratio=$(awk -v a="${wall["$big|$a"]}" -v b="${wall["$small|$a"]}" 'BEGIN {printf "%.1f", a / b}')
			check "$a, 100k → 1M: ${ratio}× ≤ 11×" "$(awk -v r="$ratio" 'BEGIN {print (r <= 11)}')"
		done
	fi
fi
exit $fail
