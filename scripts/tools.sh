#!/usr/bin/env bash
# Builds the pinned Temporal CLI (dev server with the Web UI embedded) from the
# Go module proxy into .tools/bin. `go install module@version` resolves the
# CLI's own go.mod, so none of its dependencies enter Topoflow's module graph.
# A no-op when the binary already reports the pinned version.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${TEMPORAL_CLI_VERSION:-1.5.1}
bin_dir=${TOOLS_BIN:-$root/.tools/bin}
bin=$bin_dir/temporal

if [[ -x $bin ]] && "$bin" --version 2>/dev/null | grep -q "version $version "; then
  exit 0
fi

mkdir -p "$bin_dir"
echo "tools: building temporal CLI v$version into $bin_dir (several minutes the first time)"
start=$SECONDS
# Build into a temporary GOBIN so an interrupted build never leaves a half-written binary.
tmp=$(mktemp -d "$bin_dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The version is stamped the way the CLI's release build does it, so the check above works.
GOBIN=$tmp GOFLAGS=-buildvcs=false nice go install \
  -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$version" \
  "github.com/temporalio/cli/cmd/temporal@v$version"
mv -f "$tmp/temporal" "$bin"
echo "tools: $("$bin" --version) built in $((SECONDS - start))s"
