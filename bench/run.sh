#!/usr/bin/env bash
# bench/run.sh — rescoord against jq, Python and encoding/json on large
# generated snapshots of every shape (see docs/performance.md).
#
#   bench/run.sh            100k and 1M resources, every shape, 5 runs each
#   bench/run.sh --smoke    10k resources, standard shape, 1 run: for CI
#
# Environment: RUNS (runs per approach, default 5), SIZES (resource
# counts, default "100000 1000000"), SHAPES (generator shapes, default
# "standard heavy deep"), OUT (work directory, default bench/out,
# gitignored), BEFORE (optional: another rescoord binary, such
# as a build of the previous commit; its leaks, cleanup and validate runs
# join every round as "before: ..." rows, so a change is measured against
# what it replaces in the same run).
#
# Runs every approach once per round, RUNS rounds, and prints one table:
# wall-clock median, CPU time (user + system) median and peak RSS (the
# largest of the runs) per approach, shape and size, and the wall and RSS
# ratios to `rescoord leaks -o json` on the same snapshot (CPU time is the
# steadier figure on a machine shared with other work). Then checks the
# targets in docs/performance.md for the 1M snapshots and the growth from
# 100k to 1M, and the live registry's, from its Go benchmarks
# (LIVE_BENCHTIME, default 20x, is their -benchtime), their figures added
# to the table, printing `ok` or `MISS` for each, and exits
# 1 if one is missed (never in --smoke mode).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"100000 1000000"}
SHAPES=${SHAPES:-"standard heavy deep"}
smoke=0
if [[ ${1:-} == --smoke ]]; then
	smoke=1
	RUNS=1
	SIZES=10000
	SHAPES=standard
elif [[ $# -gt 0 ]]; then
	echo "usage: bench/run.sh [--smoke]" >&2
	exit 2
fi
mkdir -p "$OUT"

# Tools: jq (the Debian package), installed when missing.
need=()
command -v jq >/dev/null || need+=(jq)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

go build -o "$OUT/rescoord" .
go build -o "$OUT/stdjson" ./bench/stdjson
go build -o "$OUT/gensnap" ./internal/tools/gensnap
go build -o "$OUT/timeit" ./bench/timeit

label() { # 1000000 -> 1M
	local n=$1
	if ((n % 1000000 == 0)); then echo "$((n / 1000000))M"; elif ((n % 1000 == 0)); then echo "$((n / 1000))k"; else echo "$n"; fi
}

# The snapshots, generated once per shape, size and generator (the
# generator's binary hash is part of the name, so a changed generator
# regenerates). Keys of file[] are "shape|size".
gen_id=$(sha256sum "$OUT/gensnap" | cut -c1-8)
declare -A file
for shape in $SHAPES; do
	for n in $SIZES; do
		f="$OUT/snap-$shape-$(label "$n")-$gen_id.json"
		if [[ ! -s $f ]]; then
			echo "generating $(label "$n") resources, shape $shape, into $f" >&2
			"$OUT/gensnap" -resources "$n" -shape "$shape" -o "$f.tmp"
			mv "$f.tmp" "$f"
		fi
		file["$shape|$n"]=$f
	done
done

# run_once CMD...: runs CMD once (stdout discarded; exit codes 0 and 1
# are both results, `leaks` exits 1 when it finds leaks) and prints
# "wall_s max_rss_kb cpu_s" (CPU: user + system), timed by bench/timeit
# to the microsecond.
run_once() {
	local rc=0
	"$OUT/timeit" -o "$OUT/time.txt" "$@" 2>"$OUT/stderr.txt" || rc=$?
	if ((rc > 1)); then
		echo "failed (exit $rc): $*" >&2
		cat "$OUT/stderr.txt" >&2
		exit 2
	fi
	cat "$OUT/time.txt"
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
	"rescoord leaks (text)"
	"rescoord leaks -o sarif"
	"rescoord leaks -o junit"
	"rescoord leaks -o github"
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
	"rescoord leaks (text)") echo "$OUT/rescoord leaks --color never $2" ;;
	"rescoord leaks -o sarif") echo "$OUT/rescoord leaks -o sarif $2" ;;
	"rescoord leaks -o junit") echo "$OUT/rescoord leaks -o junit $2" ;;
	"rescoord leaks -o github") echo "$OUT/rescoord leaks -o github $2" ;;
	"before: rescoord leaks -o json") echo "$BEFORE leaks -o json $2" ;;
	"before: rescoord cleanup --dry-run -o json") echo "$BEFORE cleanup --dry-run -o json $2" ;;
	"before: rescoord validate") echo "$BEFORE validate $2" ;;
	esac
}

# The approaches must agree before they are timed, on every shape: the
# orphans counted by jq, Python and encoding/json are rescoord's
# running-orphan and orphaned-resource findings.
for shape in $SHAPES; do
	first=${file["$shape|${SIZES%% *}"]}
	want=$("$OUT/rescoord" leaks -o json "$first" | jq '[.findings[] | select(.rule == "orphaned-resource" or .rule == "running-orphan")] | length' || true)
	for a in "jq -f bench/orphans.jq" "python3 bench/orphans.py" "go encoding/json (bench/stdjson)"; do
		# shellcheck disable=SC2046
		got=$($(command_for "$a" "$first"))
		if [[ $got != "$want" ]]; then
			echo "disagreement on $first: rescoord finds $want orphans, $a counts $got" >&2
			exit 2
		fi
	done
	echo "all approaches count $want orphans in $(label "${SIZES%% *}"), shape $shape" >&2
done
echo "timing $RUNS run(s) each" >&2

# Each round runs every approach once, so that a machine that gets busier
# or quieter during the benchmark weighs on all of them alike, and each
# round starts one approach further on, so that no approach always runs
# right after the same one (on a virtual machine, memory that jq or
# Python has just freed can be slower to use again).
# Keys of the result arrays are "shape|size|approach".
declare -A walls cpus wall rss cpu
for shape in $SHAPES; do
	for n in $SIZES; do
		f=${file["$shape|$n"]}
		k="$shape|$n"
		cat "$f" >/dev/null # in the page cache for everyone
		for ((i = 1; i <= RUNS; i++)); do
			echo "  $(label "$n") $shape round $i of $RUNS" >&2
			for ((j = 0; j < ${#approaches[@]}; j++)); do
				a=${approaches[(i - 1 + j) % ${#approaches[@]}]}
				# shellcheck disable=SC2046
				read -r w r c < <(run_once $(command_for "$a" "$f"))
				walls["$k|$a"]+="$w "
				cpus["$k|$a"]+="$c "
				((r > ${rss["$k|$a"]:-0})) && rss["$k|$a"]=$r
			done
			for a in "${approaches[@]}"; do
				echo "    $a: ${walls["$k|$a"]}" >&2
			done
		done
		for a in "${approaches[@]}"; do
			wall["$k|$a"]=$(tr ' ' '\n' <<<"${walls["$k|$a"]}" | grep . | median)
			cpu["$k|$a"]=$(tr ' ' '\n' <<<"${cpus["$k|$a"]}" | grep . | median)
		done
	done
done

table="$OUT/results.md"
declare -A fsize # shape|size -> bytes
{
	printf '| approach | shape | resources | file | wall (median of %s) | CPU user+sys (median) | peak RSS | wall ÷ rescoord leaks | RSS ÷ rescoord leaks |\n' "$RUNS"
	printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
	for shape in $SHAPES; do
		for n in $SIZES; do
			k="$shape|$n"
			base_w=${wall["$k|rescoord leaks -o json"]}
			base_r=${rss["$k|rescoord leaks -o json"]}
			fsize[$k]=$(stat -c %s "${file[$k]}")
			for a in "${approaches[@]}"; do
				w=${wall["$k|$a"]} r=${rss["$k|$a"]} c=${cpu["$k|$a"]}
				awk -v a="$a" -v sh="$shape" -v n="$(label "$n")" -v mb="$((fsize[$k] / 1000000))" -v w="$w" -v c="$c" -v r="$r" -v bw="$base_w" -v br="$base_r" 'BEGIN {
					printf "| %s | %s | %s | %d MB | %.3f s | %.3f s | %d MB | %.1f× | %.1f× |\n", a, sh, n, mb, w, c, r / 1024, (bw > 0 ? w / bw : 0), (br > 0 ? r / br : 0)
				}'
			done
		done
	done
} >"$table"
column -t -s '|' -o '|' "$table"
echo "(also written to $table)" >&2

# The live registry (docs/performance.md, "Attaching to a live registry"):
# a registry of 100,000 resources serving /snapshot while it is tracked
# (lock held per request, the longest new collector pause in the target),
# and leaks --attach on it end to end, as the Go benchmarks measure them,
# RUNS counts each (with --smoke, 2 runs of 2 requests each: it checks
# only that they run, and run again in the same process as -count does);
# medians, and the largest pause.
live_out="$OUT/live.txt"
live_n=${LIVE_BENCHTIME:-20x} live_count=$RUNS
((smoke)) && live_n=${LIVE_BENCHTIME:-2x} live_count=2
: >"$live_out"
for b in 'ServeSnapshot/resources=100000/streamed$:./pkg/registry' '^BenchmarkLeaksAttach$:./internal/cmd'; do
	if ! go test -run '^$' -bench "${b%%:*}" -benchtime "$live_n" -count "$live_count" "${b##*:}" >>"$live_out" 2>&1; then
		cat "$live_out" >&2
		echo "the live benchmark ${b%%:*} failed" >&2
		exit 2
	fi
done
metric() { # benchmark-name-pattern unit -> one value per run
	awk -v pat="$1" -v unit="$2" '$1 ~ pat { for (i = 3; i < NF; i++) if ($(i + 1) == unit) print $i }' "$live_out"
}
lock_ms=$(metric '^BenchmarkServeSnapshot/resources=100000/streamed' lock-ms | median)
pause_ms=$(metric '^BenchmarkServeSnapshot/resources=100000/streamed' max-gc-pause-ms | sort -g | tail -n 1)
attach_s=$(metric '^BenchmarkLeaksAttach' ns/op | median | awk '{printf "%.3f", $1 / 1e9}')
if [[ -z $lock_ms || -z $pause_ms || -z $attach_s ]]; then
	echo "the live benchmarks gave no figures (see $live_out)" >&2
	exit 2
fi
{
	printf '\n| live, 100k resources | median of %s |\n| --- | ---: |\n' "$live_count"
	printf '| /snapshot: registry lock held per request | %s ms |\n' "$lock_ms"
	printf '| /snapshot: longest collector pause in the target (largest of the runs) | %s ms |\n' "$pause_ms"
	printf '| leaks --attach -o json, end to end | %s s |\n' "$attach_s"
} | tee -a "$table"

((smoke)) && exit 0

# Targets (docs/performance.md, "Targets"), per shape, for 1M resources:
# leaks and cleanup within 1.0 s and 1.2× the file's size in peak RSS, at
# least 15× faster than jq and 12× than Python; SARIF, JUnit and GitHub
# output within 2× `leaks -o json`, the text report within 1.5×; from
# 100k to 1M at most 10.5× for every rescoord command.
fail=0
check() { # description ok(0/1)
	if (($2)); then echo "ok    $1"; else
		echo "MISS  $1"
		fail=1
	fi
}
le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}'; }
big=${BIG:-1000000} small=${SMALL:-100000} # the sizes the targets speak of
B=$(label "$big") S=$(label "$small")
for shape in $SHAPES; do
	k="$shape|$big"
	[[ -n ${wall["$k|rescoord leaks -o json"]:-} ]] || continue
	limit_kb=$((fsize[$k] * 12 / 10 / 1024))
	for a in "rescoord leaks -o json" "rescoord cleanup --dry-run -o json"; do
		w=${wall["$k|$a"]} r=${rss["$k|$a"]}
		check "$a, $B $shape: $(awk -v w="$w" 'BEGIN {printf "%.3f", w}') s ≤ 1.0 s" "$(le "$w" 1.0)"
		check "$a, $B $shape: $((r / 1024)) MB ≤ 1.2 × file = $((limit_kb / 1024)) MB" "$(le "$r" "$limit_kb")"
		for other in "jq -f bench/orphans.jq:15" "python3 bench/orphans.py:12"; do
			o=${other%:*} want=${other##*:}
			x=$(ratio "${wall["$k|$o"]}" "$w")
			check "$a, $B $shape: ${x}× faster than ${o%% *} (≥ ${want}×)" "$(le "$want" "$x")"
		done
	done
	base=${wall["$k|rescoord leaks -o json"]}
	for f in "rescoord leaks -o sarif:2" "rescoord leaks -o junit:2" "rescoord leaks -o github:2" "rescoord leaks (text):1.5"; do
		a=${f%:*} want=${f##*:}
		x=$(ratio "${wall["$k|$a"]}" "$base")
		check "$a, $B $shape: ${x}× leaks -o json (≤ ${want}×)" "$(le "$x" "$want")"
	done
	ks="$shape|$small"
	if [[ -n ${wall["$ks|rescoord leaks -o json"]:-} ]]; then
		for a in "${approaches[@]}"; do
			[[ $a == rescoord* ]] || continue
			x=$(ratio "${wall["$k|$a"]}" "${wall["$ks|$a"]}")
			check "$a, $shape $S → $B: ${x}× ≤ 10.5×" "$(le "$x" 10.5)"
		done
	fi
	if [[ -n ${BEFORE:-} ]]; then
		for a in "rescoord leaks -o json" "rescoord cleanup --dry-run -o json" "rescoord validate"; do
			echo "info  $a, $B $shape: $(ratio "${wall["$k|$a"]}" "${wall["$k|before: $a"]}")× the wall of BEFORE, $(ratio "${cpu["$k|$a"]}" "${cpu["$k|before: $a"]}")× its CPU"
		done
	fi
done
check "live, 100k: /snapshot holds the registry lock ${lock_ms} ms per request (≤ 5 ms)" "$(le "$lock_ms" 5)"
check "live, 100k: longest collector pause in the target ${pause_ms} ms (≤ 10 ms)" "$(le "$pause_ms" 10)"
check "live, 100k: leaks --attach ${attach_s} s end to end (≤ 0.5 s)" "$(le "$attach_s" 0.5)"
exit $fail
