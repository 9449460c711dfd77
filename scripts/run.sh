#!/usr/bin/env bash
# make run: the demo. Brings the local stack up from a clean slate (Temporal +
# Web UI, cloudsim, a worker), applies the cross-account Huawei VPC endpoint
# spec, approves it as the Kafka owner when it waits for approval, follows it
# to the end and shows the verified connection and the Web UI link.
# Ctrl-C stops everything it started. In a terminal the stack stays up after
# the demo so you can browse the Web UI; without one (CI) it stops at once.
#
# Settings (environment): TOPOFLOW_DEMO_SPEC, TOPOFLOW_RUN_DIR (.run/demo),
# and the settings of scripts/dev.sh (TEMPORAL_PORT, TEMPORAL_UI_PORT,
# CLOUDSIM_ADDR, WORKER_METRICS_ADDR, CLOUDSIM_WORLDS, CLOUDSIM_SHIFT).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

SPEC=${TOPOFLOW_DEMO_SPEC:-specs/huawei-vpcep-cross-account.yaml}
export TOPOFLOW_RUN_DIR=${TOPOFLOW_RUN_DIR:-$root/.run/demo}
export TEMPORAL_PORT=${TEMPORAL_PORT:-7233} TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TOPOFLOW_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
export TOPOFLOW_ACCOUNTS=specs/accounts.yaml
T=${TOPOFLOW_BIN_DIR:-$root/bin}/topoflow

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The demo starts from a clean slate: a fresh Temporal database.
bash scripts/dev.sh --stop
rm -rf "$TOPOFLOW_RUN_DIR"
trap 'echo; echo "run: stopping the stack"; bash scripts/dev.sh --stop' EXIT
trap 'exit 130' INT TERM

say "Starting the local stack"
bash scripts/dev.sh --background

say "1. Validate the spec: $SPEC"
"$T" validate "$SPEC"

say "2. The plan it compiles to"
"$T" plan "$SPEC"

say "3. Apply: start the request"
"$T" apply "$SPEC"
id=$("$T" apply "$SPEC" -o json | jq -r .workflowId)

say "4. Wait until the request needs an approval"
phase=""
for _ in $(seq 1 300); do
  st=$("$T" status "$id" -o json)
  phase=$(jq -r .phase <<<"$st")
  status=$(jq -r .status <<<"$st")
  [[ $phase == WaitingApproval || $status != Running ]] && break
  sleep 1
done
"$T" status "$id"
if [[ $phase != WaitingApproval ]]; then
  echo "run: the request did not reach WaitingApproval (phase $phase, status $status)" >&2
  exit 1
fi
approver=$(jq -r '.awaiting[0]' <<<"$st")

say "5. Approve as the Kafka owner ($approver)"
"$T" approve "$id" --as "$approver" --comment "approved by make run"

say "6. Follow the request to the end"
"$T" apply "$SPEC" --wait

say "7. The verified connection"
st=$("$T" status "$id" -o json)
"$T" status "$id"
bootstrap=$(jq -r '.outputs.bootstrap | join(",")' <<<"$st")
echo
echo "kafka.verify produced and consumed through the VPC endpoints: bootstrap $bootstrap"
if command -v kcat >/dev/null; then
  echo "Cross-check with kcat (metadata through the endpoints):"
  kcat -L -b "$bootstrap" -m 10 | sed 's/^/  /'
fi
echo
echo "Web UI: $(jq -r .uiUrl <<<"$st")"

if [[ -t 0 && -z ${CI:-} ]]; then
  echo
  echo "The stack keeps running so you can explore the Web UI and the CLI (bin/topoflow --help)."
  echo "Press Ctrl-C to stop everything."
  while true; do sleep 3600; done
fi
