#!/bin/bash
# Paired miss rounds: the origin and every target on CPU 0 (as in the bench's misses), wrk -c50 on
# CPU 1 asking for a new object with every request; targets measured in turn, ROUNDS times, DUR
# seconds each; reports requests/s, latency and each target's CPU per miss (the steadiest figure on
# a noisy machine). Targets: see start_targets in lib.sh; default "edge bare-node".
# Env: ROUNDS (8), DUR (2), SIZE (1024 bytes per object), DATA (raw rounds file).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || set -- edge bare-node
start_paired paired-misses 0 100000000 "$@"
block=1 # each wrk run asks for a block of a million objects no run has asked for before
miss() {
  measure "$1" "$(pid_of_port $((FIRST_PORT + $1)))" -t1 -c50 -d"$2"s -s "$SCRIPTS/wrk-counter.lua" "http://127.0.0.1:$((FIRST_PORT + $1))/" -- $((block * 1000000))
  block=$((block + 1))
}
for k in $(seq 0 $(($# - 1))); do miss "$k" 1; done
: > "$DATA" # the warm-up is not kept
for r in $(seq "$ROUNDS"); do
  for k in $(seq 0 $(($# - 1))); do miss "$k" "$DUR"; done
  echo "round $r/$ROUNDS done" >&2
done
summarize "$@"
echo "raw rounds: $DATA"
