#!/usr/bin/env bash
# seed.sh BUILD_DIR CORPUS_ROOT TESTDATA_DIR: fills CORPUS_ROOT/<fuzzer>/ with seeds made from the
# test data.
set -euo pipefail
build="$1"; root="$2"; data="$3"
mkdir -p "$root/sym_parser_fuzzer" "$root/index_loader_fuzzer" "$root/request_json_fuzzer"
# Parser seeds: every .sym/.out, whole when small, else its first 8 KiB (libFuzzer's default max_len
# is small anyway; big inputs only slow it down).
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  head -c 8192 "$f" > "$root/sym_parser_fuzzer/seed-$n"
done < <(find "$data/symbols" "$data/loose-symbols" "$data/breakpad-format" -type f \( -name '*.sym' -o -name '*.out' \) -print0)
# Loader seeds: indexes built from the small files.
mapfile -d '' small < <(find "$data/symbols" "$data/loose-symbols" "$data/breakpad-format" -type f \( -name '*.sym' -o -name '*.out' \) -size -40k -print0)
"$build/fuzz/symbolication/symidx_seed_gen" "$root/index_loader_fuzzer" "${small[@]}"
# Request seeds: the requests and responses of the v4/v5 test pairs, the error cases' bodies and
# the real crash stacks (compact JSON).
python3 - "$data/symbolication" "$root/request_json_fuzzer" <<'PY'
import json, pathlib, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
def put(value):
    global n
    n += 1
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    (out / f"seed-{n}").write_text(text)
for f in sorted(src.glob("v[45]_*.json")):
    pair = json.loads(f.read_text())
    put(pair["request"])
    put(pair["expected_response"])
for case in json.loads((src / "errors.json").read_text()):
    if case["request"] is not None:
        put(case["request"])
for f in sorted((src / "real-crash-stacks").glob("*.json")):
    put(f.read_text())
PY
