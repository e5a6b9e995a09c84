#!/usr/bin/env bash
# Gateway benchmark: Tollgate (every request metered through ledger holds) beside the mock upstream
# called directly and a minimal pass-through proxy, in the same run. Everything it needs is in this
# folder: mock-upstream.mjs, proxy.mjs (ideal-pass), framework-floor.mjs (fastify-floor: Fastify + undici
# forwarding, nothing metered), start-tollgate.ts, load.mjs (the driver).
#   BACKENDS="pglite postgres"  CONNS="50 1"  DURATION=15  REPS=2  WORK=/tmp/gw-bench  OUT=/tmp/gw-bench/results/tollgate
#   EXTRA_ARGS="--modes nonstream" passes flags to load.mjs
#   SIZES="default 120k 400k": the short request of targets.json, an agent's 120 KB turn with 20 tools,
#   a 400 KB prompt, claude-120k: the agent turn as Claude Code sends it (/v1/messages) (large-targets.mjs);
#   each beside the mock and the minimal proxy in the same run
#   CUSTOMERS=50: that many customers, each load client on one in turn (default 1: one hot account)
#   WORKERS="1 2": PostgreSQL only, the real `tollgate serve --workers N` (dist/: npm run build) instead of
#   the in-process server, each count in turn (its CPU figure adds up the supervisor and its workers)
#   BENCH_NODE_ARGS="--max-semi-space-size=32": node flags for the Tollgate served (in process, or its workers)
#   FIRST_BYTE_MS=20: the mock thinks that long before it answers, as a real model does (default 0)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export WORK=${WORK:-/tmp/gw-bench}
export RUN_DIR=${RUN_DIR:-$WORK/run}
OUT=${OUT:-$WORK/results/tollgate}
BACKENDS=${BACKENDS:-pglite postgres}
CONNS=${CONNS:-50 1}
DURATION=${DURATION:-15}
REPS=${REPS:-2}
SIZES=${SIZES:-default}
mkdir -p "$RUN_DIR" "$OUT"
node "$HERE/large-targets.mjs" "$RUN_DIR" >/dev/null

stop_pid_file() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; rm -f "$1"; }
cleanup() { for name in tollgate ideal-pass fastify-floor mock; do stop_pid_file "$RUN_DIR/$name.pid"; done; }
trap cleanup EXIT

node "$HERE/mock-upstream.mjs" --port 18080 --first-byte-ms "${FIRST_BYTE_MS:-0}" --pid-file "$RUN_DIR/mock.pid" >"$RUN_DIR/mock.log" 2>&1 &
node "$HERE/proxy.mjs" --port 18081 --target http://127.0.0.1:18080 --pid-file "$RUN_DIR/ideal-pass.pid" >"$RUN_DIR/ideal-pass.log" 2>&1 &
node "$HERE/framework-floor.mjs" --port 18082 --target http://127.0.0.1:18080 --pid-file "$RUN_DIR/fastify-floor.pid" >"$RUN_DIR/fastify-floor.log" 2>&1 &
for _ in $(seq 1 100); do
  [ -f "$RUN_DIR/mock.pid" ] && [ -f "$RUN_DIR/ideal-pass.pid" ] && [ -f "$RUN_DIR/fastify-floor.pid" ] && break
  sleep 0.1
done

for run in $(for b in $BACKENDS; do for w in ${WORKERS:-in-process}; do echo "$b:$w"; done; done); do
  backend=${run%%:*}; workers=${run##*:}
  label=$backend; [ "$workers" != in-process ] && label="$backend-w$workers"
  rm -f "$RUN_DIR/tollgate.pid" "$RUN_DIR/tollgate.key"
  (cd "$ROOT" && BENCH_BACKEND=$backend KEY_FILE="$RUN_DIR/tollgate.key" PID_FILE="$RUN_DIR/tollgate.pid" \
     BENCH_WORKERS=$([ "$workers" != in-process ] && echo "$workers") BENCH_CUSTOMERS=${CUSTOMERS:-1} \
     node $([ "$workers" = in-process ] && echo "${BENCH_NODE_ARGS:-}") --import tsx bench/gateway/start-tollgate.ts \
       >"$RUN_DIR/tollgate-$label.log" 2>&1 &)
  for _ in $(seq 1 600); do grep -q READY "$RUN_DIR/tollgate-$label.log" 2>/dev/null && break; sleep 0.2; done
  grep READY "$RUN_DIR/tollgate-$label.log" || { cat "$RUN_DIR/tollgate-$label.log"; exit 1; }
  export TOLLGATE_KEY="$(cat "$RUN_DIR/tollgate.key")"
  for size in $SIZES; do
    targets="$RUN_DIR/targets-$size.json"; [ "$size" = default ] && targets="$HERE/targets.json"
    for conns in $CONNS; do
      duration=$DURATION; [ "$conns" = 1 ] && duration=10
      name="$label-$size-c$conns"; [ "$size" = default ] && name="$label-c$conns"
      node "$HERE/load.mjs" --targets "$targets" --connections "$conns" --duration "$duration" \
        --reps "$REPS" ${EXTRA_ARGS:-} --out "$OUT/$name" | tee "$OUT/$name.log"
    done
  done
  kill -TERM "$(cat "$RUN_DIR/tollgate.pid")"
  for _ in $(seq 1 300); do grep -q "^ledger:" "$RUN_DIR/tollgate-$label.log" && break; sleep 0.2; done
  grep "^ledger:" "$RUN_DIR/tollgate-$label.log" | tee -a "$OUT/$label-ledger.txt"
  rm -f "$RUN_DIR/tollgate.pid"
done
