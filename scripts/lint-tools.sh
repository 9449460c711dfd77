#!/usr/bin/env bash
# Installs the pinned linters from the Go module proxy into .tools/bin:
# staticcheck (honnef.co/go/tools) and Temporal's workflowcheck (workflow
# code must be deterministic). `go install module@version` resolves each
# tool's own go.mod, so none of their dependencies enter Topoflow's module
# graph. A no-op for a tool already installed at its pinned version.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${TOOLS_BIN:-$root/.tools/bin}
staticcheck_version=${STATICCHECK_VERSION:-v0.8.2}
workflowcheck_version=${WORKFLOWCHECK_VERSION:-v0.6.0}

# install <name> <package> <version>: go install into bin_dir, stamping the
# version in a marker file so a changed pin reinstalls.
install() {
  local name=$1 pkg=$2 version=$3
  local marker=$bin_dir/.$name.version
  if [[ -x $bin_dir/$name && -f $marker && $(cat "$marker") == "$version" ]]; then
    return 0
  fi
  mkdir -p "$bin_dir"
  echo "lint-tools: installing $name $version into $bin_dir"
  local tmp
  tmp=$(mktemp -d "$bin_dir/.build.XXXXXX")
  GOBIN=$tmp GOFLAGS=-buildvcs=false nice go install "$pkg@$version"
  mv -f "$tmp/$name" "$bin_dir/$name"
  rm -rf "$tmp"
  echo "$version" >"$marker"
}

install staticcheck honnef.co/go/tools/cmd/staticcheck "$staticcheck_version"
install workflowcheck go.temporal.io/sdk/contrib/tools/workflowcheck "$workflowcheck_version"
