#!/usr/bin/env bash
# HTTP baseline: requests/s of sigil's http::Server vs nginx for a tiny GET, measured with wrk.
#
# What it measures: sigil = bench/http_baseline/http_baseline_server (http::Server, 2 io threads,
# one inline route GET /__lbheartbeat__ -> 200 "OK", access log OFF, metrics on); nginx = nginx-light,
# 2 worker processes, access_log off, serving a 2-byte static file at the same path (the reference the
# task names), and the same nginx answering from config (`return 200 "OK"`, no file open: nginx's
# cheapest response). Same wrk command for all (-t2 -c50 -d5s, keep-alive), runs interleaved REPS times
# (default 5); prints the medians and
# the ratio and writes a markdown table to $OUT (default: stdout only). ACCESS_LOG=1 runs sigil with its
# JSON access log on (written to a file in the temp dir) instead.
#
#   bench/http_baseline/run.sh [path/to/http_baseline_server]
# Build the server in Release first, e.g.:
#   cmake -S . -B build/http-release -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/http-release --target http_baseline_server
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SERVER_BIN="${1:-$ROOT/build/http-release/bench/http_baseline/http_baseline_server}"
REPS="${REPS:-5}"
DURATION="${DURATION:-5s}"
WRK_ARGS=(-t2 -c50 -d"$DURATION")
OUT="${OUT:-}"
ACCESS_LOG="${ACCESS_LOG:-0}"  # 1: run sigil with its access log on (lines go to a temp file)

command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || { echo "nginx is not installed" >&2; exit 1; }
[[ -x "$SERVER_BIN" ]] || { echo "server binary not found: $SERVER_BIN" >&2; exit 1; }

TMP="$(mktemp -d /tmp/sigil-http-bench-XXXXXX)"
SIGIL_PID=""
NGINX_PID=""
cleanup() {
  [[ -n "$SIGIL_PID" ]] && kill "$SIGIL_PID" 2>/dev/null && wait "$SIGIL_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- sigil ---
SIGIL_FLAGS=(--listen 127.0.0.1:0 --io-threads 2)
SIGIL_LABEL="access log off"
if [[ "$ACCESS_LOG" == 1 ]]; then
  SIGIL_FLAGS+=(--access-log)
  SIGIL_LABEL="access log ON, to a file"
fi
"$SERVER_BIN" "${SIGIL_FLAGS[@]}" >"$TMP/sigil.out" 2>"$TMP/sigil.err" &
SIGIL_PID=$!
for _ in $(seq 100); do
  grep -q "listening on" "$TMP/sigil.out" 2>/dev/null && break
  sleep 0.05
done
SIGIL_ADDR="$(sed -n 's/^listening on //p' "$TMP/sigil.out")"
[[ -n "$SIGIL_ADDR" ]] || { echo "sigil server did not start:"; cat "$TMP/sigil.err"; exit 1; } >&2

# --- nginx ---
NGINX_PORT="$(free_port)"
mkdir -p "$TMP/www" "$TMP/nginx-tmp"
printf 'OK' >"$TMP/www/__lbheartbeat__"
chmod 755 "$TMP" "$TMP/www"
# As root, nginx would drop its workers to "nobody"; keep them as the current user instead.
USER_LINE=""
[[ "$(id -u)" == 0 ]] && USER_LINE="user $(id -un) $(id -gn);"
cat >"$TMP/nginx.conf" <<CONF
$USER_LINE
worker_processes 2;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx-tmp/body;
  proxy_temp_path $TMP/nginx-tmp/proxy;
  fastcgi_temp_path $TMP/nginx-tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx-tmp/uwsgi;
  scgi_temp_path $TMP/nginx-tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/www;
    location = /__lbheartbeat__ { default_type text/plain; }
    location = /return { default_type text/plain; return 200 "OK"; }
  }
}
CONF
"$NGINX" -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$NGINX_PORT/__lbheartbeat__" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -sf "http://127.0.0.1:$NGINX_PORT/__lbheartbeat__" >/dev/null ||
  { echo "nginx did not start:"; cat "$TMP/nginx-error.log"; exit 1; } >&2
curl -sf "http://$SIGIL_ADDR/__lbheartbeat__" >/dev/null || { echo "sigil does not answer" >&2; exit 1; }

run_wrk() {  # url -> requests/s
  wrk "${WRK_ARGS[@]}" "$1" | awk '/^Requests\/sec:/ {print $2}'
}

# Warm-up (not counted).
wrk -t2 -c50 -d1s "http://$SIGIL_ADDR/__lbheartbeat__" >/dev/null
wrk -t2 -c50 -d1s "http://127.0.0.1:$NGINX_PORT/__lbheartbeat__" >/dev/null
curl -sf "http://127.0.0.1:$NGINX_PORT/return" | grep -q OK || { echo "nginx /return does not answer" >&2; exit 1; }

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
SIGIL_RPS=()
NGINX_RPS=()
NGINX_RET_RPS=()
for i in $(seq "$REPS"); do
  s="$(run_wrk "http://$SIGIL_ADDR/__lbheartbeat__")"
  n="$(run_wrk "http://127.0.0.1:$NGINX_PORT/__lbheartbeat__")"
  r="$(run_wrk "http://127.0.0.1:$NGINX_PORT/return")"
  SIGIL_RPS+=("$s")
  NGINX_RPS+=("$n")
  NGINX_RET_RPS+=("$r")
  echo "rep $i: sigil $s req/s, nginx static $n req/s, nginx return $r req/s" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
SIGIL_MED="$(median "${SIGIL_RPS[@]}")"
NGINX_MED="$(median "${NGINX_RPS[@]}")"
NGINX_RET_MED="$(median "${NGINX_RET_RPS[@]}")"
RATIO="$(awk -v s="$SIGIL_MED" -v n="$NGINX_MED" 'BEGIN {printf "%.2f", s / n}')"
RATIO_RET="$(awk -v s="$SIGIL_MED" -v n="$NGINX_RET_MED" 'BEGIN {printf "%.2f", s / n}')"
# Each repetition runs the three back to back, so per-repetition ratios cancel part of the machine's
# load swings; their median is printed too.
PAIR_RATIOS=()
PAIR_RATIOS_RET=()
for i in $(seq 0 $((REPS - 1))); do
  PAIR_RATIOS+=("$(awk -v s="${SIGIL_RPS[$i]}" -v n="${NGINX_RPS[$i]}" 'BEGIN {printf "%.2f", s / n}')")
  PAIR_RATIOS_RET+=("$(awk -v s="${SIGIL_RPS[$i]}" -v n="${NGINX_RET_RPS[$i]}" 'BEGIN {printf "%.2f", s / n}')")
done
PAIR_MED="$(median "${PAIR_RATIOS[@]}")"
PAIR_MED_RET="$(median "${PAIR_RATIOS_RET[@]}")"

TABLE="$(
  echo "| server | req/s per run (wrk ${WRK_ARGS[*]}) | median req/s |"
  echo "|---|---|---|"
  echo "| sigil http::Server (2 io threads, inline route, $SIGIL_LABEL) | ${SIGIL_RPS[*]} | $SIGIL_MED |"
  echo "| nginx (2 workers, static 2-byte file, access_log off) | ${NGINX_RPS[*]} | $NGINX_MED |"
  echo "| nginx (2 workers, \`return 200 \"OK\"\`, access_log off) | ${NGINX_RET_RPS[*]} | $NGINX_RET_MED |"
  echo
  echo "Ratio of medians: sigil / nginx static file = **$RATIO**, sigil / nginx return = **$RATIO_RET**."
  echo "Median of per-repetition ratios: vs static file $PAIR_MED (${PAIR_RATIOS[*]}), vs return $PAIR_MED_RET (${PAIR_RATIOS_RET[*]})."
  echo "($REPS interleaved repetitions; $(nproc) cores; load average before the run: $LOAD_BEFORE; $(date -u +%Y-%m-%d))"
)"
echo "$TABLE"
[[ -n "$OUT" ]] && echo "$TABLE" >"$OUT"
exit 0
