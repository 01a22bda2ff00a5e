#!/usr/bin/env bash
# bench/symbolication/run.sh [REPETITIONS] [BUILD_DIR]: symbolication benchmarks, side by side with their
# references, in one run with randomly interleaved repetitions; prints medians and ratios (the numbers
# docs/benchmarks.md records under "## Symbolication").
#
# Builds symbolication_bench in BUILD_DIR (default build/symb-release, -O2). The >= 200 MB tiled inputs
# are generated into BUILD_DIR/bench-data on first use (fixed seed; not committed).
set -euo pipefail
reps="${1:-5}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(realpath -m "${2:-$root/build/symb-release}")"  # absolute: the bench runs from inside it
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
fi
cmake --build "$build" --target symbolication_bench -j"${BENCH_BUILD_JOBS:-2}" >/dev/null
data="$build/bench-data"
mkdir -p "$data"
out="$data/results.json"
cd "$build"
SIGIL_BENCH_DATA="$data" ./bench/symbolication/symbolication_bench \
  --benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null

# The external reference: `wc -l` on the same tiled file, as many times, median.
wc_times=()
for _ in $(seq "$reps"); do
  s=$(date +%s.%N); wc -l "$data/tiled_biggest.sym" >/dev/null; e=$(date +%s.%N)
  wc_times+=("$(echo "$e - $s" | bc -l)")
done
wc_median=$(printf '%s\n' "${wc_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
tiled_bytes=$(stat -c %s "$data/tiled_biggest.sym")

python3 - "$out" "$wc_median" "$tiled_bytes" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
wc_s, tiled = float(sys.argv[2]), int(sys.argv[3])
med = {b["run_name"]: b for b in res["benchmarks"] if b.get("aggregate_name") == "median"}
def get(name, key):
    b = med.get(name)
    return b.get(key) if b else None
print(f"machine: {res['context'].get('num_cpus')} cpus, load avg {res['context'].get('load_avg')}")
print("## index build (median; CPU-time rates)")
for n in sorted(k for k in med if k.startswith("BM_Build/")):
    label = n.split("/", 1)[1]
    mbs = get(n, "bytes_per_second") / 1e6
    wc = get("BM_WcL/" + label, "bytes_per_second")
    ratio = get(n, "index_ratio")
    line = f"  {label:32s} build {mbs:8.1f} MB/s   index/sym {ratio:.3f}"
    if wc:
        line += f"   memchr-wc {wc/1e6:8.1f} MB/s   build/wc {mbs/(wc/1e6):.3f}"
    print(line)
print(f"  external `wc -l` on tiled_biggest.sym: {tiled/wc_s/1e6:.1f} MB/s (wall, median of runs)")
print("## lookups (median)")
for n in sorted(k for k in med if k.startswith("BM_Lookup")):
    label = n.split("/", 1)[1]
    ips = get(n, "items_per_second")
    ref = get("BM_SortedArraySearch/" + label, "items_per_second")
    line = f"  {n:45s} {ips/1e6:7.2f} M/s"
    if ref:
        line += f"   (one plain binary search: {ref/1e6:7.2f} M/s)"
    print(line)
w = med.get("BM_WarmRequest/iterations:2000")
if w:
    print(f"## warm 1,000-frame request over 10 modules: p50 {w['p50_us']:.0f} us, p99 {w['p99_us']:.0f} us "
          f"(medians over repetitions; cpu {w['cpu_time']:.0f} us, wall {w['real_time']:.0f} us)")
PY
