#!/usr/bin/env bash
# Gateway benchmark: Tollgate (every request metered through ledger holds) beside the mock upstream
# called directly and a minimal pass-through proxy, in the same run, with the shared harness.
#   BACKENDS="pglite postgres"  CONNS="50 1"  DURATION=15  REPS=2  WORK=/tmp/gw-bench  OUT=/tmp/gw-bench/results/tollgate
#   EXTRA_ARGS="--quiet-max 100" passes flags to the harness (here: do not wait for a quiet machine)
#   SIZES="default 120k 400k": the short request of targets.json, an agent's 120 KB turn with 20 tools,
#   a 400 KB prompt (large-targets.mjs); each beside the mock and the minimal proxy in the same run
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/gateway}
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

[ -x "$(command -v wrk)" ] && [ -d "$WORK/node_modules/undici" ] || bash "$HARNESS/setup.sh"
STACK="mock ideal-pass" bash "$HARNESS/start-stack.sh"
trap 'bash "$HARNESS/stop-stack.sh" >/dev/null 2>&1 || true; [ -f "$RUN_DIR/tollgate.pid" ] && kill "$(cat "$RUN_DIR/tollgate.pid")" 2>/dev/null || true' EXIT

for backend in $BACKENDS; do
  rm -f "$RUN_DIR/tollgate.pid" "$RUN_DIR/tollgate.key"
  (cd "$ROOT" && BENCH_BACKEND=$backend KEY_FILE="$RUN_DIR/tollgate.key" PID_FILE="$RUN_DIR/tollgate.pid" \
     node --import tsx bench/gateway/start-tollgate.ts >"$RUN_DIR/tollgate-$backend.log" 2>&1 &)
  for _ in $(seq 1 150); do grep -q READY "$RUN_DIR/tollgate-$backend.log" 2>/dev/null && break; sleep 0.2; done
  grep READY "$RUN_DIR/tollgate-$backend.log" || { cat "$RUN_DIR/tollgate-$backend.log"; exit 1; }
  export TOLLGATE_KEY=$(cat "$RUN_DIR/tollgate.key")
  for size in $SIZES; do
    targets="$RUN_DIR/targets-$size.json"; [ "$size" = default ] && targets="$HERE/targets.json"
    for conns in $CONNS; do
      duration=$DURATION; [ "$conns" = 1 ] && duration=10
      name="$backend-$size-c$conns"; [ "$size" = default ] && name="$backend-c$conns"
      node "$HARNESS/bench.mjs" --targets "$targets" --connections "$conns" --duration "$duration" \
        --reps "$REPS" ${EXTRA_ARGS:-} --out "$OUT/$name" | tee "$OUT/$name.log"
    done
  done
  kill -TERM "$(cat "$RUN_DIR/tollgate.pid")"
  for _ in $(seq 1 100); do grep -q "^ledger:" "$RUN_DIR/tollgate-$backend.log" && break; sleep 0.2; done
  grep "^ledger:" "$RUN_DIR/tollgate-$backend.log" | tee -a "$OUT/$backend-ledger.txt"
done
