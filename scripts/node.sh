# shellcheck shell=bash
# Puts a supported Node.js (package.json "engines": 24 LTS) first on PATH. Sourced by the scripts
# behind `npm test` and `npm run demo`, so a machine with an older Node still runs them:
#   - the node on PATH is used when it is new enough;
#   - else, on Linux x64/arm64, the official build published in the npm registry as
#     node-linux-<arch>@$TRIBUTARY_NODE_VERSION is unpacked once into ${TRIBUTARY_CACHE:-~/.cache/tributary}
#     (the npm already on the machine fetches it; npm checks the tarball's integrity);
#   - else it stops, saying what to install.
# TRIBUTARY_NODE_VERSION overrides the exact release fetched.

TRIBUTARY_NODE_VERSION="${TRIBUTARY_NODE_VERSION:-24.22.3}"
TRIBUTARY_NODE_MIN_MAJOR=24

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

use_supported_node() {
  local cache="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
  # Node's compile cache: the services, scripts and tests started from here read their stripped and
  # compiled modules back instead of redoing it at every start (docs/design.md, "Runtime").
  export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$cache/node-compile-cache}"
  local have
  have=$(node_major)
  ((have >= TRIBUTARY_NODE_MIN_MAJOR)) && return 0

  local os arch
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
  esac
  local dir="$cache/node-v$TRIBUTARY_NODE_VERSION-linux-$arch"
  if [[ ! -x $dir/bin/node ]]; then
    if [[ $os != Linux || ($arch != x64 && $arch != arm64) ]] || ! command -v npm >/dev/null; then
      printf 'error: Tributary needs Node.js %s or newer (found %s). Install Node.js 24 LTS from https://nodejs.org/en/download (or `nvm install 24`), then run the command again.\n' \
        "$TRIBUTARY_NODE_MIN_MAJOR" "$(node --version 2>/dev/null || echo none)" >&2
      exit 1
    fi
    printf 'Node.js %s is older than the supported 24 LTS: fetching node-linux-%s@%s from the npm registry into %s, once\n' \
      "$(node --version 2>/dev/null || echo none)" "$arch" "$TRIBUTARY_NODE_VERSION" "$dir" >&2
    local tmp
    tmp=$(mktemp -d "$cache/node-download.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache/node-download.XXXXXX"; })
    if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$TRIBUTARY_NODE_VERSION" >/dev/null &&
      tar -xzf ./*.tgz && [[ -x package/bin/node ]]); then
      rm -rf "$tmp"
      printf 'error: could not fetch node-linux-%s@%s from the npm registry. Install Node.js 24 LTS from https://nodejs.org/en/download, then run the command again.\n' \
        "$arch" "$TRIBUTARY_NODE_VERSION" >&2
      exit 1
    fi
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  # The build carries node alone; npm and npx (already installed) run on the node first on PATH.
  export PATH="$dir/bin:$PATH"
  printf 'using Node.js %s from %s\n' "$(node --version)" "$dir" >&2
}

use_supported_node
