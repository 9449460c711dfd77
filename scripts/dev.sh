#!/usr/bin/env bash
# make dev: the local stack in the foreground — the Temporal dev server with
# its Web UI (SQLite in $RUN_DIR, so a restart keeps workflows in flight),
# cloudsim (the clouds' digital twin, in memory) and a Topoflow worker.
# Ctrl-C (or SIGTERM) stops everything this script started.
#
# Settings (environment): TOPOFLOW_RUN_DIR (default .run/dev), TEMPORAL_PORT
# (7233), TEMPORAL_UI_PORT (8233), CLOUDSIM_ADDR (127.0.0.1:8700),
# WORKER_METRICS_ADDR (127.0.0.1:9090), TOPOFLOW_TASK_QUEUE (topoflow),
# CLOUDSIM_WORLDS (cloudsim/worlds/examples.yaml: every world the examples in
# specs/ need; comma-separated files are merged) and CLOUDSIM_SHIFT (0: the
# world's 127.x addresses as written; N moves them by N in the second octet, so
# a second stack, e.g. a test's, runs beside this one without colliding),
# TOPOFLOW_TRUST (specs/trust/dev.yaml: the examples' groups, dev mode).
# With --background the script returns once everything is up, leaving the
# processes running; `scripts/dev.sh --stop` stops them (used by make run).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

RUN_DIR=${TOPOFLOW_RUN_DIR:-$root/.run/dev}
TEMPORAL=${TOPOFLOW_TEMPORAL_BIN:-$root/.tools/bin/temporal}
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
CLOUDSIM_ADDR=${CLOUDSIM_ADDR:-127.0.0.1:8700}
WORKER_METRICS_ADDR=${WORKER_METRICS_ADDR:-127.0.0.1:9090}
TASK_QUEUE=${TOPOFLOW_TASK_QUEUE:-topoflow}
CLOUDSIM_WORLDS=${CLOUDSIM_WORLDS:-cloudsim/worlds/examples.yaml}
CLOUDSIM_SHIFT=${CLOUDSIM_SHIFT:-0}
BIN=${TOPOFLOW_BIN_DIR:-$root/bin}

# Keep in sync with workflows/api.go (checked by internal/stack's tests).
SEARCH_ATTRIBUTES=(TopoflowSpec=Keyword TopoflowKind=Keyword TopoflowProvider=Keyword TopoflowPhase=Keyword TopoflowAwaiting=KeywordList)

mode=foreground
case "${1:-}" in
  --background) mode=background ;;
  --stop) mode=stop ;;
  "") ;;
  *) echo "usage: $0 [--background|--stop]" >&2; exit 2 ;;
esac

mkdir -p "$RUN_DIR"

# stop_pidfiles stops the processes a previous run of this script left behind
# (recorded in $RUN_DIR/*.pid), and nothing else.
stop_pidfiles() {
  local f pid
  for f in "$RUN_DIR"/probe-*.pid "$RUN_DIR"/worker.pid "$RUN_DIR"/cloudsim.pid "$RUN_DIR"/temporal.pid; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

if [[ $mode == stop ]]; then
  stop_pidfiles
  exit 0
fi

for b in "$TEMPORAL" "$BIN/topoflow-worker" "$BIN/cloudsim" "$BIN/topoflow-devenv"; do
  [[ -x $b ]] || { echo "dev: $b is missing: run \`make tools build\` (make dev does)" >&2; exit 1; }
done

# A previous run killed with SIGKILL may have left its children running.
stop_pidfiles

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "dev: stopping worker, cloudsim and Temporal..."
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -f "$RUN_DIR"/*.pid
  echo "dev: stopped (Temporal's database stays in $RUN_DIR/temporal.db)"
}

started() { # name pid
  pids+=("$2")
  echo "$2" >"$RUN_DIR/$1.pid"
}

wait_for() { # what seconds command... (gives up early when the last started process died)
  local what=$1 secs=$2
  shift 2
  for _ in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "${pids[${#pids[@]}-1]}" 2>/dev/null; then
      echo "dev: $what exited; its log:" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "dev: $what did not come up within ${secs}s; its log:" >&2
  return 1
}

if [[ $mode == foreground ]]; then
  trap cleanup EXIT INT TERM
fi

# --- Temporal dev server (SQLite in $RUN_DIR).
sa_flags=()
for sa in "${SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$sa"); done
"$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
  --db-filename "$RUN_DIR/temporal.db" --log-level warn "${sa_flags[@]}" \
  >"$RUN_DIR/temporal.log" 2>&1 &
started temporal $!
wait_for "Temporal" 60 "$TEMPORAL" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" \
  || { tail -20 "$RUN_DIR/temporal.log" >&2; exit 1; }

# --- cloudsim: every provider, the worlds of $CLOUDSIM_WORLDS moved by $CLOUDSIM_SHIFT.
"$BIN/cloudsim" -listen "$CLOUDSIM_ADDR" -world "$CLOUDSIM_WORLDS" -shift "$CLOUDSIM_SHIFT" >"$RUN_DIR/cloudsim.log" 2>&1 &
started cloudsim $!
wait_for "cloudsim" 30 curl -fsS "http://$CLOUDSIM_ADDR/_cloudsim/healthz" \
  || { tail -20 "$RUN_DIR/cloudsim.log" >&2; exit 1; }

# --- worker: acts as the accounts of the same worlds (simulator-only keys).
devenv=$("$BIN/topoflow-devenv" -world "$CLOUDSIM_WORLDS") || exit 1
eval "$devenv"
TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT TEMPORAL_NAMESPACE=default TOPOFLOW_TASK_QUEUE=$TASK_QUEUE \
  TOPOFLOW_ACCOUNTS=specs/accounts.yaml CLOUDSIM_URL=http://$CLOUDSIM_ADDR \
  TOPOFLOW_TRUST=${TOPOFLOW_TRUST:-specs/trust/dev.yaml} \
  TOPOFLOW_METRICS_ADDR=$WORKER_METRICS_ADDR \
  "$BIN/topoflow-worker" >"$RUN_DIR/worker.log" 2>&1 &
started worker $!
wait_for "the worker" 60 curl -fsS "http://$WORKER_METRICS_ADDR/healthz" \
  || { tail -20 "$RUN_DIR/worker.log" >&2; exit 1; }

# Probe workers: one per client network the account registry names (its
# probes), each running kafka.verify only and dialing through cloudsim's
# SOCKS5 endpoint of its network, as a host of that VPC/VNet would.
probes=()
probe_list=$(CLOUDSIM_URL=http://$CLOUDSIM_ADDR "$BIN/topoflow-worker" probes --accounts specs/accounts.yaml) \
  || { echo "dev: cannot list the probes of specs/accounts.yaml" >&2; exit 1; }
while IFS=$'\t' read -r probe_queue probe_network _; do
  [[ -n $probe_queue ]] || continue
  TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT TEMPORAL_NAMESPACE=default \
    TOPOFLOW_ACCOUNTS=specs/accounts.yaml CLOUDSIM_URL=http://$CLOUDSIM_ADDR \
    "$BIN/topoflow-worker" probe --task-queue "$probe_queue" --network "$probe_network" --socks5 cloudsim --metrics-addr 127.0.0.1:0 \
    >"$RUN_DIR/probe-$probe_queue.log" 2>&1 &
  started "probe-$probe_queue" $!
  probes+=("$probe_queue")
done <<<"$probe_list"
for probe_queue in "${probes[@]}"; do
  wait_for "probe $probe_queue" 60 grep -q "topoflow probe polling" "$RUN_DIR/probe-$probe_queue.log" \
    || { tail -20 "$RUN_DIR/probe-$probe_queue.log" >&2; exit 1; }
done

cat <<EOF
Topoflow local stack is up:
  Temporal   127.0.0.1:$TEMPORAL_PORT   (namespace default, database $RUN_DIR/temporal.db)
  Web UI     http://127.0.0.1:$TEMPORAL_UI_PORT
  cloudsim   http://$CLOUDSIM_ADDR   (admin API http://$CLOUDSIM_ADDR/_cloudsim/inventory)
             every provider (Huawei/OTC, AWS, Azure, Ambari, Alibaba, Tencent; EMQX Platform's console at /emqx-platform/v1/peerings)
             world $CLOUDSIM_WORLDS, address shift $CLOUDSIM_SHIFT
  worker     task queue $TASK_QUEUE; metrics http://$WORKER_METRICS_ADDR/metrics, health /healthz
  probes     ${#probes[@]} (kafka.verify from the client networks via cloudsim's SOCKS5 endpoints; \`bin/topoflow-worker probes --accounts specs/accounts.yaml\`)
  logs       $RUN_DIR/{temporal,cloudsim,worker}.log
Try: bin/topoflow apply specs/huawei-vpcep-cross-account.yaml
EOF

if [[ $mode == background ]]; then
  exit 0
fi
echo "Press Ctrl-C to stop."
# Stop everything as soon as one process dies.
set +e
wait -n "${pids[@]}"
rc=$?
echo "dev: a process exited (status $rc); see the logs in $RUN_DIR" >&2
exit "$rc"
