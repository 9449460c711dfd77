#!/usr/bin/env bash
# make prod-local: Topoflow's production shape on one host, no container
# engine: Debian's PostgreSQL, the Temporal server as four separate services
# (frontend, history, matching, worker) from one config file
# (deploy/temporal/config.yaml, the one docker-compose.yml mounts), the schema
# set up by temporal-sql-tool, the Temporal Web UI server, cloudsim (the
# clouds' twin), two or more Topoflow workers and the probe workers. Every
# process runs under a supervisor loop that restarts it when it dies (as
# systemd's Restart=always or compose's restart: unless-stopped would), so
# `make chaos` can SIGKILL any of them. Ctrl-C (or SIGTERM) stops everything.
#
# The binaries: scripts/prod-tools.sh (temporal-server, temporal-sql-tool,
# temporal-ui-server in .tools/bin), the CLI (scripts/tools.sh) and bin/
# (make build). PostgreSQL: deps/prod-apt.txt (make prod-local installs it).
#
# Settings (environment): TOPOFLOW_RUN_DIR (.run/prod: PostgreSQL's data,
# logs, pid files), PROD_PG_PORT (5433), TEMPORAL_FRONTEND_PORT (7233),
# TEMPORAL_FRONTEND_HTTP_PORT (7243), TEMPORAL_HISTORY_PORT (7234),
# TEMPORAL_MATCHING_PORT (7235), TEMPORAL_WORKER_PORT (7239), their
# *_MEMBERSHIP_PORT (6933, 6934, 6935, 6939; below 32768: Temporal's SQL schema
# keeps them in a smallint column, cluster_membership.rpc_port), PROD_METRICS_PORT_BASE (8000:
# frontend, history, matching, worker get 8000..8003), TEMPORAL_UI_PORT (8080),
# CLOUDSIM_ADDR (127.0.0.1:8700), CLOUDSIM_WORLDS, CLOUDSIM_SHIFT (0),
# TOPOFLOW_WORKERS (2), WORKER_METRICS_PORT_BASE (9090: worker i gets 9090+i),
# TOPOFLOW_TASK_QUEUE (topoflow), TOPOFLOW_TRUST (specs/trust/dev.yaml).
# PROD_PROBES (space-separated client networks) starts only their probes.
# PROD_TEMPORAL=dev is the flavour of `make test`'s short chaos variant
# (e2e TestChaosShort), where the server binaries are not built: one
# supervised Temporal dev server (the CLI's, SQLite in $RUN_DIR/temporal.db,
# so it survives its kills) instead of PostgreSQL, the four services and the
# Web UI server; the rest as above.
# With --background the script returns once everything is up, leaving the
# processes running; `scripts/prod-local.sh --stop` stops them.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

RUN_DIR=${TOPOFLOW_RUN_DIR:-$root/.run/prod}
TOOLS=${TOOLS_BIN:-$root/.tools/bin}
TEMPORAL_CLI=${TOPOFLOW_TEMPORAL_BIN:-$TOOLS/temporal}
BIN=${TOPOFLOW_BIN_DIR:-$root/bin}
PG_PORT=${PROD_PG_PORT:-5433}
PROD_TEMPORAL=${PROD_TEMPORAL:-cluster}
[[ $PROD_TEMPORAL == cluster || $PROD_TEMPORAL == dev ]] || { echo "prod-local: PROD_TEMPORAL must be cluster or dev, not $PROD_TEMPORAL" >&2; exit 2; }
export TEMPORAL_LOG_LEVEL=${TEMPORAL_LOG_LEVEL:-warn}
export TEMPORAL_FRONTEND_PORT=${TEMPORAL_FRONTEND_PORT:-7233}
export TEMPORAL_FRONTEND_HTTP_PORT=${TEMPORAL_FRONTEND_HTTP_PORT:-7243}
export TEMPORAL_HISTORY_PORT=${TEMPORAL_HISTORY_PORT:-7234}
export TEMPORAL_MATCHING_PORT=${TEMPORAL_MATCHING_PORT:-7235}
export TEMPORAL_WORKER_PORT=${TEMPORAL_WORKER_PORT:-7239}
export TEMPORAL_FRONTEND_MEMBERSHIP_PORT=${TEMPORAL_FRONTEND_MEMBERSHIP_PORT:-6933}
export TEMPORAL_HISTORY_MEMBERSHIP_PORT=${TEMPORAL_HISTORY_MEMBERSHIP_PORT:-6934}
export TEMPORAL_MATCHING_MEMBERSHIP_PORT=${TEMPORAL_MATCHING_MEMBERSHIP_PORT:-6935}
export TEMPORAL_WORKER_MEMBERSHIP_PORT=${TEMPORAL_WORKER_MEMBERSHIP_PORT:-6939}
METRICS_BASE=${PROD_METRICS_PORT_BASE:-8000}
UI_PORT=${TEMPORAL_UI_PORT:-8080}
CLOUDSIM_ADDR=${CLOUDSIM_ADDR:-127.0.0.1:8700}
CLOUDSIM_WORLDS=${CLOUDSIM_WORLDS:-cloudsim/worlds/examples.yaml}
CLOUDSIM_SHIFT=${CLOUDSIM_SHIFT:-0}
# The twin's durable state (cloudsim -state): kept between runs like PostgreSQL's data,
# so a twin killed or restarted resumes where it was; remove the directory for a fresh world.
CLOUDSIM_STATE=${CLOUDSIM_STATE:-$RUN_DIR/cloudsim-state}
WORKERS=${TOPOFLOW_WORKERS:-2}
WORKER_METRICS_BASE=${WORKER_METRICS_PORT_BASE:-9090}
TASK_QUEUE=${TOPOFLOW_TASK_QUEUE:-topoflow}
TRUST=${TOPOFLOW_TRUST:-specs/trust/dev.yaml}
ADDRESS=127.0.0.1:$TEMPORAL_FRONTEND_PORT

# Keep in sync with workflows/api.go (checked by worker/compose_test.go).
SEARCH_ATTRIBUTES=(TopoflowSpec=Keyword TopoflowKind=Keyword TopoflowProvider=Keyword TopoflowPhase=Keyword TopoflowAwaiting=KeywordList)
SERVICES=(history matching frontend worker)

mode=foreground
case "${1:-}" in
  --background) mode=background ;;
  --stop) mode=stop ;;
  "") ;;
  *) echo "usage: $0 [--background|--stop]" >&2; exit 2 ;;
esac

mkdir -p "$RUN_DIR"

# stop_all stops the supervisors (and so the processes) a run of this script
# started, recorded in $RUN_DIR/*.sup, and nothing else: all at once, then
# SIGKILL for what is still running after 20 s.
stop_all() {
  local f pid child sups=() children=()
  touch "$RUN_DIR/stopping"
  for f in "$RUN_DIR"/*.sup; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    child=$(cat "${f%.sup}.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      sups+=("$pid")
    fi
    [[ -n $child ]] && children+=("$child")
  done
  for _ in $(seq 1 200); do
    local alive=0
    for pid in "${sups[@]}" "${children[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${sups[@]}" "${children[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$RUN_DIR"/*.sup "$RUN_DIR"/*.pid "$RUN_DIR/stopping"
}

if [[ $mode == stop ]]; then
  stop_all
  exit 0
fi

server_bins=()
if [[ $PROD_TEMPORAL == cluster ]]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $pgbin && -x $pgbin/postgres ]] || { echo "prod-local: PostgreSQL is not installed: run \`make prod-local\` (it runs deps/install.sh deps/prod-apt.txt)" >&2; exit 1; }
  server_bins=("$TOOLS/temporal-server" "$TOOLS/temporal-sql-tool" "$TOOLS/temporal-ui-server")
fi
for b in "${server_bins[@]}" "$TEMPORAL_CLI" \
  "$BIN/topoflow-worker" "$BIN/cloudsim" "$BIN/topoflow-devenv"; do
  [[ -x $b ]] || { echo "prod-local: $b is missing: run \`make prod-local\` (it builds the tools and bin/)" >&2; exit 1; }
done

# A previous run killed with SIGKILL may have left its processes running.
stop_all

if [[ $mode == foreground ]]; then
  trap 'trap - EXIT INT TERM; echo; echo "prod-local: stopping..."; stop_all; echo "prod-local: stopped (PostgreSQL data stays in $RUN_DIR/pg)"' EXIT INT TERM
else
  # A start that fails half-way leaves nothing running.
  trap 'rc=$?; trap - EXIT; if ((rc != 0)); then stop_all; fi; exit $rc' EXIT
fi

# supervise NAME COMMAND...: runs COMMAND (output appended to $RUN_DIR/NAME.log)
# and restarts it a second after it dies, until stopped. $RUN_DIR/NAME.pid is
# the running process (what make chaos kills), $RUN_DIR/NAME.sup the supervisor.
# STOP_SIGNAL (TERM) is what the process gets when the stack stops.
supervise() {
  local name=$1 sig=${STOP_SIGNAL:-TERM}
  shift
  (
    child=
    trap 'kill -"$sig" "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
    n=0
    while :; do
      "$@" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
      child=$!
      echo "$child" >"$RUN_DIR/$name.pid"
      set +e
      wait "$child"
      rc=$?
      set -e
      [[ -f $RUN_DIR/stopping ]] && exit 0
      n=$((n + 1))
      echo "prod-local: $name exited (status $rc); restart $n" >>"$RUN_DIR/$name.log"
      echo "$(date -u +%FT%TZ) $name $rc" >>"$RUN_DIR/restarts.log"
      sleep 1
    done
  ) >/dev/null 2>&1 &
  echo $! >"$RUN_DIR/$name.sup"
}

wait_for() { # what seconds command...
  local what=$1 secs=$2 end
  shift 2
  end=$((SECONDS + secs))
  while ((SECONDS < end)); do
    if timeout 10 "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "prod-local: $what did not come up within ${secs}s; its log:" >&2
  return 1
}

if [[ $PROD_TEMPORAL == dev ]]; then
  # --- The Temporal dev server (PROD_TEMPORAL=dev), supervised like the rest.
  sa_flags=()
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$sa"); done
  supervise temporal "$TEMPORAL_CLI" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_FRONTEND_PORT" --ui-port "$UI_PORT" \
    --db-filename "$RUN_DIR/temporal.db" --log-level warn "${sa_flags[@]}"
  wait_for "Temporal" 120 "$TEMPORAL_CLI" operator cluster health --address "$ADDRESS" \
    || { tail -20 "$RUN_DIR/temporal.log" >&2; exit 1; }
else
# --- PostgreSQL: a cluster of its own in $RUN_DIR/pg, on loopback, owned by
# the postgres user when run as root (the server refuses to run as root).
as_pg=()
if [[ $(id -u) -eq 0 ]]; then as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
PGDATA=$RUN_DIR/pg
PGSOCK=$RUN_DIR/pgsock
mkdir -p "$PGSOCK"
if [[ ! -f $RUN_DIR/pg-password ]]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$RUN_DIR/pg-password")
fi
PG_PASSWORD=$(<"$RUN_DIR/pg-password")
if [[ ${#as_pg[@]} -gt 0 ]]; then chown postgres: "$PGSOCK"; fi
if [[ ! -f $PGDATA/PG_VERSION ]]; then
  echo "prod-local: initializing PostgreSQL in $PGDATA"
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  pwfile=$RUN_DIR/.pwfile
  (umask 077; printf '%s\n' "$PG_PASSWORD" >"$pwfile")
  if [[ ${#as_pg[@]} -gt 0 ]]; then chown postgres: "$PGDATA" "$pwfile"; fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$PGDATA" -U temporal --pwfile="$pwfile" -A scram-sha-256 -E UTF8 >"$RUN_DIR/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; cat "$RUN_DIR/initdb.log" >&2; exit 1; }
  rm -f "$pwfile"
fi
# SIGINT: PostgreSQL's fast shutdown (SIGTERM waits for every client to leave).
STOP_SIGNAL=INT supervise postgresql "${as_pg[@]}" "$pgbin/postgres" -D "$PGDATA" -p "$PG_PORT" -k "$PGSOCK" \
  -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on
export PGPASSWORD=$PG_PASSWORD
wait_for PostgreSQL 60 "$pgbin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -U temporal \
  || { tail -20 "$RUN_DIR/postgresql.log" >&2; exit 1; }
unset PGPASSWORD

# --- The schema, by Temporal's own tool (idempotent: create-database and
# setup-schema refuse what exists; update-schema moves to the embedded newest).
export SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$PG_PORT SQL_USER=temporal SQL_PASSWORD=$PG_PASSWORD
for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*} schema=${db#*:}
  {
    "$TOOLS/temporal-sql-tool" --db "$name" create-database || true
    "$TOOLS/temporal-sql-tool" --db "$name" setup-schema -v 0.0 || true
    "$TOOLS/temporal-sql-tool" --db "$name" update-schema --schema-name "postgresql/v12/$schema"
  } >>"$RUN_DIR/schema.log" 2>&1 || { echo "prod-local: schema setup of $name failed:" >&2; tail -20 "$RUN_DIR/schema.log" >&2; exit 1; }
done
unset SQL_PLUGIN SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD

# --- Temporal: one process per service, the same config file.
i=0
for svc in "${SERVICES[@]}"; do
  POSTGRES_SEEDS=127.0.0.1 DB_PORT=$PG_PORT POSTGRES_USER=temporal POSTGRES_PWD=$PG_PASSWORD \
    TEMPORAL_BROADCAST_ADDRESS=127.0.0.1 BIND_ON_IP=127.0.0.1 \
    TEMPORAL_METRICS_ADDRESS=127.0.0.1:$((METRICS_BASE + i)) TEMPORAL_DYNAMIC_CONFIG=deploy/temporal/dynamicconfig.yaml \
    supervise "temporal-$svc" "$TOOLS/temporal-server" --config-file deploy/temporal/config.yaml --allow-no-auth start --service "$svc"
  i=$((i + 1))
done
wait_for "Temporal" 120 "$TEMPORAL_CLI" operator cluster health --address "$ADDRESS" \
  || { tail -20 "$RUN_DIR"/temporal-*.log >&2; exit 1; }
# The default namespace and Topoflow's search attributes (idempotent).
wait_for "the default namespace" 60 bash -c "'$TEMPORAL_CLI' operator namespace describe --address '$ADDRESS' -n default \
  || '$TEMPORAL_CLI' operator namespace create --address '$ADDRESS' -n default --retention 72h" \
  || { tail -20 "$RUN_DIR/temporal-frontend.log" >&2; exit 1; }
for sa in "${SEARCH_ATTRIBUTES[@]}"; do
  name=${sa%%=*} type=${sa#*=}
  wait_for "search attribute $name" 60 bash -c "'$TEMPORAL_CLI' operator search-attribute list --address '$ADDRESS' -n default | grep -qw '$name' \
    || '$TEMPORAL_CLI' operator search-attribute create --address '$ADDRESS' -n default --name '$name' --type '$type'" \
    || exit 1
done

# --- The Web UI server.
TEMPORAL_ADDRESS=$ADDRESS TEMPORAL_UI_PORT=$UI_PORT \
  supervise temporal-ui "$TOOLS/temporal-ui-server" --root deploy/temporal/ui --config . --env production start
wait_for "the Web UI" 60 curl -fsS "http://127.0.0.1:$UI_PORT/" || { tail -20 "$RUN_DIR/temporal-ui.log" >&2; exit 1; }
fi

# --- cloudsim: every provider, the worlds of $CLOUDSIM_WORLDS moved by $CLOUDSIM_SHIFT,
# saved to $CLOUDSIM_STATE after every change and restored from it when restarted.
supervise cloudsim "$BIN/cloudsim" -listen "$CLOUDSIM_ADDR" -world "$CLOUDSIM_WORLDS" -shift "$CLOUDSIM_SHIFT" -state "$CLOUDSIM_STATE"
wait_for "cloudsim" 30 curl -fsS "http://$CLOUDSIM_ADDR/_cloudsim/healthz" || { tail -20 "$RUN_DIR/cloudsim.log" >&2; exit 1; }

# --- Topoflow workers, acting as the accounts of the same worlds (simulator-only keys).
devenv=$("$BIN/topoflow-devenv" -world "$CLOUDSIM_WORLDS") || exit 1
eval "$devenv"
for ((w = 1; w <= WORKERS; w++)); do
  TEMPORAL_ADDRESS=$ADDRESS TEMPORAL_NAMESPACE=default TOPOFLOW_TASK_QUEUE=$TASK_QUEUE \
    TOPOFLOW_ACCOUNTS=specs/accounts.yaml CLOUDSIM_URL=http://$CLOUDSIM_ADDR TOPOFLOW_TRUST=$TRUST \
    TOPOFLOW_METRICS_ADDR=127.0.0.1:$((WORKER_METRICS_BASE + w)) \
    supervise "worker-$w" "${TOPOFLOW_WORKER_BIN:-$BIN/topoflow-worker}"
done
for ((w = 1; w <= WORKERS; w++)); do
  wait_for "worker $w" 60 curl -fsS "http://127.0.0.1:$((WORKER_METRICS_BASE + w))/healthz" \
    || { tail -20 "$RUN_DIR/worker-$w.log" >&2; exit 1; }
done

# Probe workers: one per client network of the account registry (as make dev).
probes=()
probe_list=$(CLOUDSIM_URL=http://$CLOUDSIM_ADDR "$BIN/topoflow-worker" probes --accounts specs/accounts.yaml) \
  || { echo "prod-local: cannot list the probes of specs/accounts.yaml" >&2; exit 1; }
while IFS=$'\t' read -r probe_queue probe_network _; do
  [[ -n $probe_queue ]] || continue
  # PROD_PROBES (space-separated networks; default all): only those probes (the short chaos variant).
  if [[ -n ${PROD_PROBES:-} && " $PROD_PROBES " != *" $probe_network "* ]]; then continue; fi
  TEMPORAL_ADDRESS=$ADDRESS TEMPORAL_NAMESPACE=default TOPOFLOW_ACCOUNTS=specs/accounts.yaml CLOUDSIM_URL=http://$CLOUDSIM_ADDR \
    supervise "probe-$probe_queue" "$BIN/topoflow-worker" probe --task-queue "$probe_queue" --network "$probe_network" \
    --socks5 cloudsim --metrics-addr 127.0.0.1:0
  probes+=("$probe_queue")
done <<<"$probe_list"
for probe_queue in "${probes[@]}"; do
  wait_for "probe $probe_queue" 60 grep -q "topoflow probe polling" "$RUN_DIR/probe-$probe_queue.log" \
    || { tail -20 "$RUN_DIR/probe-$probe_queue.log" >&2; exit 1; }
done

if [[ $PROD_TEMPORAL == dev ]]; then
  temporal_lines="  Temporal   $ADDRESS   (the dev server, SQLite $RUN_DIR/temporal.db; PROD_TEMPORAL=dev)"
else
  temporal_lines="  PostgreSQL 127.0.0.1:$PG_PORT   (user temporal, password in $RUN_DIR/pg-password; data $PGDATA)
  Temporal   $ADDRESS   (frontend; history :$TEMPORAL_HISTORY_PORT, matching :$TEMPORAL_MATCHING_PORT, worker :$TEMPORAL_WORKER_PORT; config deploy/temporal/config.yaml)"
fi
cat <<EOF
Topoflow production stack is up:
$temporal_lines
  Web UI     http://127.0.0.1:$UI_PORT
  cloudsim   http://$CLOUDSIM_ADDR   (world $CLOUDSIM_WORLDS, address shift $CLOUDSIM_SHIFT; state in $CLOUDSIM_STATE)
  workers    $WORKERS on task queue $TASK_QUEUE (metrics 127.0.0.1:$((WORKER_METRICS_BASE + 1))..$((WORKER_METRICS_BASE + WORKERS)))
  probes     ${#probes[@]}
  logs       $RUN_DIR/*.log (restarts in $RUN_DIR/restarts.log)
Every process restarts when it dies. Try:
  TEMPORAL_ADDRESS=$ADDRESS TOPOFLOW_UI_URL=http://127.0.0.1:$UI_PORT bin/topoflow apply specs/huawei-vpcep-cross-account.yaml
EOF

if [[ $mode == background ]]; then
  trap - EXIT INT TERM
  exit 0
fi
echo "Press Ctrl-C to stop."
while :; do sleep 3600; done
