#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] [BUILD_DIR]: builds the libFuzzer targets (preset `fuzz`: clang, SIGIL_FUZZ=ON),
# seeds a corpus per fuzzer from the test data (each fuzz/<area>/seed.sh BUILD_DIR CORPUS_ROOT
# TESTDATA_DIR), then runs every
# *_fuzzer for SECONDS (default 60). Exits non-zero if any fuzzer finds a crash (the reproducer is
# left in BUILD_DIR/fuzz-artifacts/<fuzzer>/).
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${2:-$root/build/fuzz}"
jobs="${FUZZ_BUILD_JOBS:-2}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSIGIL_FUZZ=ON -DSIGIL_BENCH=OFF -DSIGIL_WERROR=OFF
else
  # Configure again so that fuzzers added since (new fuzz/<area>/ folders or targets) are listed.
  cmake "$build" >/dev/null
fi
# Every fuzzer target plus the seed helpers declared under fuzz/.
targets=$(ninja -C "$build" -t targets all 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*\(_fuzzer\|_seed_gen\)\): .*/\1/p' | sort -u)
if [ -z "$targets" ]; then
  echo "fuzz/run.sh: no fuzz targets found in $build" >&2
  exit 1
fi
cmake --build "$build" -j"$jobs" --target $targets

corpus="$build/fuzz-corpus"
mkdir -p "$corpus"
data="${SIGIL_SHARED_DIR:-$root/../shared}/testdata"
for seed in "$root"/fuzz/*/seed.sh; do
  [ -x "$seed" ] && "$seed" "$build" "$corpus" "$data"
done

status=0
for fuzzer in $(find "$build/fuzz" -type f -name '*_fuzzer' -perm -u+x | sort); do
  name="$(basename "$fuzzer")"
  mkdir -p "$corpus/$name" "$build/fuzz-artifacts/$name"
  echo "=== $name for ${seconds}s"
  if ! "$fuzzer" "$corpus/$name" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name/" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=25 2>&1 | tail -n 25; then
    echo "=== $name FAILED (see $build/fuzz-artifacts/$name/)"
    status=1
  fi
done
exit $status
