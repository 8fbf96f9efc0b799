#!/usr/bin/env bash
# Installs the Node that Keyless runs on (the exact version in .node-version: the major Electron
# embeds) from the npm registry's node-<os>-<arch> package, into a cache folder outside the
# repository, and prints the folder that holds its `node`. npm checks `engines` against the Node
# that runs npm itself, so put this folder first on PATH before `npm ci`:
#   export PATH="$(bash scripts/pinned-node.sh):$PATH"
# The package also carries Node's headers (include/node), which node-gyp needs to rebuild native
# parts without downloading them: scripts/pinned-node.sh --nodedir prints that folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(tr -d ' \r\n' < "$root/.node-version")"

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "scripts/pinned-node.sh: no node-<os> package for $(uname -s); install Node $version yourself" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "scripts/pinned-node.sh: no node-$os-<arch> package for $(uname -m); install Node $version yourself" >&2; exit 1 ;;
esac
package="node-$os-$arch"

cache="${KEYLESS_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyless}/$package-$version"
dir="$cache/node_modules/$package"
if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
  # The package is the release's binary and headers with no install script: nothing is fetched
  # from anywhere but the npm registry. Installed to a temporary folder first so that an
  # interrupted install never leaves a half-written Node behind.
  tmp="$(mktemp -d "${cache%/*}/.install-XXXXXX" 2>/dev/null || { mkdir -p "${cache%/*}" && mktemp -d "${cache%/*}/.install-XXXXXX"; })"
  trap 'rm -rf "$tmp"' EXIT
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "$package@$version" >&2
  rm -rf "$cache"
  mv "$tmp" "$cache"
  trap - EXIT
fi
if [ "${1:-}" = "--nodedir" ]; then echo "$dir"; else echo "$dir/bin"; fi
