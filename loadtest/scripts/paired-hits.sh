#!/bin/bash
# Paired hit rounds: the origin on CPU 1, every target on CPU 0, wrk -c50 on CPU 1 asking for one
# object (warmed into each target's cache first); targets measured in turn, ROUNDS times, DUR seconds
# each; reports requests/s, latency percentiles and CPU per hit. Targets: see start_targets in
# lib.sh; default "edge bare-node". Env: ROUNDS (8), DUR (3), SIZE (1024 bytes), DATA.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || set -- edge bare-node
DUR=${DUR:-3}
start_paired paired-hits 1 10000 "$@"
for k in $(seq 0 $(($# - 1))); do
  url="http://127.0.0.1:$((FIRST_PORT + k))/obj/7"
  curl -sf -o /dev/null "$url" || fail "target $k ($url) did not answer"
  taskset -c 1 wrk -t1 -c50 -d2s "$url" > /dev/null
done
for r in $(seq "$ROUNDS"); do
  for k in $(seq 0 $(($# - 1))); do
    measure "$k" "$(pid_of_port $((FIRST_PORT + k)))" -t1 -c50 -d"${DUR}"s -s "$SCRIPTS/wrk-report.lua" "http://127.0.0.1:$((FIRST_PORT + k))/obj/7"
  done
  echo "round $r/$ROUNDS done" >&2
done
summarize "$@"
echo "raw rounds: $DATA"
