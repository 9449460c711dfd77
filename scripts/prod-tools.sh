#!/usr/bin/env bash
# Builds the pinned Temporal server (temporal-server), its SQL schema tool
# (temporal-sql-tool) and the Web UI server (temporal-ui-server) from the Go
# module proxy into .tools/bin, the way scripts/tools.sh builds the CLI:
# `go install module@version` resolves each module's own go.mod, so none of
# their dependencies enter Topoflow's module graph. A no-op for each binary
# whose version stamp (a file beside it) matches the pin. Used by make prod-local
# and make chaos.
#
# Pins (environment): TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION; the
# newest releases whose go.mod asks for no newer Go than the machine's (the go
# command refuses a module that needs a newer toolchain, and this machine
# downloads none).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
server_version=${TEMPORAL_SERVER_VERSION:-1.32.1}
ui_version=${TEMPORAL_UI_SERVER_VERSION:-2.55.0}
bin_dir=${TOOLS_BIN:-$root/.tools/bin}
mkdir -p "$bin_dir"

build() { # name version package
  local name=$1 version=$2 pkg=$3 bin=$bin_dir/$1
  if [[ -x $bin && -f $bin.version && $(<"$bin.version") == "$pkg@v$version" ]]; then
    return 0
  fi
  echo "prod-tools: building $name from $pkg@v$version into $bin_dir (minutes the first time)"
  local start=$SECONDS tmp
  # A temporary GOBIN, so an interrupted build never leaves a half-written binary.
  tmp=$(mktemp -d "$bin_dir/.build.XXXXXX")
  # GOTOOLCHAIN=local: fail clearly instead of fetching a newer Go for a pin that needs one.
  if ! GOBIN=$tmp GOFLAGS=-buildvcs=false GOTOOLCHAIN=local nice go install -ldflags "-s -w" "$pkg@v$version"; then
    rm -rf "$tmp"
    echo "prod-tools: building $pkg@v$version failed" >&2
    return 1
  fi
  mv -f "$tmp/$(basename "$pkg")" "$bin"
  rm -rf "$tmp"
  echo "$pkg@v$version" >"$bin.version"
  echo "prod-tools: $name built in $((SECONDS - start))s"
}

build temporal-server "$server_version" go.temporal.io/server/cmd/server
build temporal-sql-tool "$server_version" go.temporal.io/server/cmd/tools/sql
build temporal-ui-server "$ui_version" github.com/temporalio/ui-server/v2/cmd/server
