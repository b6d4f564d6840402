# Shared by the by-hand harnesses in this folder (sourced, not run): this checkout's bundles, the
# targets started on CPU 0, their pids, and stopping them. See loadtest/BENCH.md, "By-hand harnesses".
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SCRIPTS # wrk's Lua scripts find wrk-report.lua through it
ROOT=$(cd "$SCRIPTS/../.." && pwd)
FIRST_PORT=18101
ORIGIN_PORT=18080

fail() { echo "$(basename "$0"): $*" >&2; exit 2; }

# Builds this checkout's bundles (edge, origin, bare-node) and sets BUNDLES to their folder and
# EDGE_PROCESS_ENV to the process settings every launcher gives an edge (edge-node config.ts).
load_checkout() {
  local out
  out=$(cd "$ROOT" && node --import tsx --input-type=module -e "
    const path = await import('node:path');
    const b = await import('./infra/src/local/bundle.ts');
    const { EDGE_PROCESS_ENV } = await import('./edge-node/src/config.ts');
    await b.serviceBundle('origin');
    const { BARE_NODE_PROGRAM } = await import('./loadtest/src/bench/proxies.ts');
    await b.programBundle(BARE_NODE_PROGRAM.name, BARE_NODE_PROGRAM.entry);
    console.log(path.dirname(await b.serviceBundle('edge')));
    console.log(Object.entries(EDGE_PROCESS_ENV).map(([k, v]) => k + '=' + v).join(' '));") || fail "could not bundle this checkout"
  BUNDLES=$(echo "$out" | sed -n 1p)
  EDGE_PROCESS_ENV=$(echo "$out" | sed -n 2p)
}

# Fails unless every port given is free.
ports_free() {
  local port
  for port in "$@"; do ! ss -ltn | grep -q ":$port " || fail "port $port is busy (a leftover from an earlier run?)"; done
}

pid_of_port() { ss -ltnp | grep ":$1 " | grep -oE 'pid=[0-9]+' | head -1 | cut -d= -f2; }

# start_origin CPU SIZE CATALOGUE_OBJECTS: the origin with SIZE-byte objects, no latency.
start_origin() {
  (HOST=127.0.0.1 PORT=$ORIGIN_PORT LOG_LEVEL=warn SIZE_MIN_BYTES=$2 SIZE_MAX_BYTES=$2 LATENCY_MS=0 \
    CATALOGUE_OBJECTS=$3 exec taskset -c "$1" node "$BUNDLES/origin.mjs" > /dev/null 2>&1 &)
}

# start_targets TARGET...: each on CPU 0, port FIRST_PORT + its index. A target is "edge",
# "bare-node" or a path to a bundle of either, optionally followed by ":VAR=val,VAR=val".
start_targets() {
  local i=0 spec bundle extra
  for spec in "$@"; do
    bundle=${spec%%:*}; extra=""
    [ "$spec" != "$bundle" ] && extra=$(echo "${spec#*:}" | tr ',' ' ')
    case $bundle in edge|bare-node) bundle="$BUNDLES/$bundle.mjs" ;; esac
    [ -f "$bundle" ] || fail "no bundle at $bundle"
    # shellcheck disable=SC2086 # word splitting of the env assignments is intended
    (env HOST=127.0.0.1 PORT=$((FIRST_PORT + i)) EDGE_ID=edge-bench UPSTREAM_URLS=http://127.0.0.1:$ORIGIN_PORT \
      ORIGIN_URL=http://127.0.0.1:$ORIGIN_PORT CACHE_POLICY=lru CACHE_BYTES=268435456 LOG_LEVEL=info \
      $EDGE_PROCESS_ENV $extra taskset -c 0 node "$bundle" > /dev/null 2>&1 &)
    i=$((i + 1))
  done
}

# wait_ready N: waits for the origin and N targets to answer, then checks each port has exactly one
# listener (a target that failed to bind would otherwise measure whatever holds its port).
wait_ready() {
  local port t
  for port in $ORIGIN_PORT $(seq $FIRST_PORT $((FIRST_PORT + $1 - 1))); do
    for t in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    [ "$(ss -ltnp | grep -c ":$port ")" = 1 ] || fail "port $port: not exactly one listener after start-up"
  done
}

# start_paired NAME ORIGIN_CPU CATALOGUE_OBJECTS TARGET...: a paired harness's start: checks the
# ports, bundles this checkout, starts the origin (SIZE-byte objects) and the targets, stops them all
# on exit, and waits until they answer. Sets ROUNDS, DUR (default 2 s) and DATA (an empty rounds file).
start_paired() {
  local name=$1 origin_cpu=$2 catalogue=$3
  shift 3
  ROUNDS=${ROUNDS:-8}; DUR=${DUR:-2}; DATA=${DATA:-$(mktemp "/tmp/$name.XXXXXX")}; TARGETS=$#
  ports_free $ORIGIN_PORT $(seq $FIRST_PORT $((FIRST_PORT + TARGETS - 1)))
  load_checkout
  start_origin "$origin_cpu" "${SIZE:-1024}" "$catalogue"
  start_targets "$@"
  trap 'stop_all $TARGETS' EXIT
  wait_ready $TARGETS
  : > "$DATA"
}

# stop_all N: stops the origin and N targets.
stop_all() {
  local port pid
  for port in $ORIGIN_PORT $(seq $FIRST_PORT $((FIRST_PORT + $1 - 1))); do
    pid=$(pid_of_port "$port"); [ -n "$pid" ] && kill "$pid"
  done
  sleep 0.5
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks (TICKS_PER_SECOND).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS_PER_SECOND=$(getconf CLK_TCK)

# measure K PID WRK_ARGS...: one wrk run (on CPU 1) against target K, appended to $DATA as
# "K key value ..." with wrk-report.lua's figures and the target's CPU per request (cpu_us).
measure() {
  local k=$1 pid=$2 t0 t1 line
  shift 2
  t0=$(cpu_ticks "$pid")
  line=$(taskset -c 1 wrk "$@" | grep '^requests ') || fail "wrk printed no report for target $k"
  t1=$(cpu_ticks "$pid")
  echo "$k $line cpu_us $(echo "$line" | awk -v t="$((t1 - t0))" -v hz="$TICKS_PER_SECOND" '{ printf "%.1f", t * 1e6 / hz / $2 }')" >> "$DATA"
}

# summarize NAME...: per target, the median (min-max) of each figure in $DATA and, paired by round,
# its ratio to the first target's.
summarize() { node --import tsx "$ROOT/loadtest/src/bench/rounds-file-main.ts" "$DATA" "$@"; }
