#!/usr/bin/env bash
# Checks every Dockerfile without a Docker engine; exits non-zero naming each problem.
#
#   scripts/check-dockerfiles.sh [FILE...]     default: services/*/Dockerfile and cli/Dockerfile
#
# 1. Lint: dockerfile-utils (npm; the Dockerfile linter of the Docker language server behind the
#    editors' Docker support: instruction syntax, flags, ports, duplicate stages, deprecated and
#    lower-case instructions). Installed once into ${TRIBUTARY_CACHE:-~/.cache/tributary}; any
#    warning fails too.
# 2. The template of docs/development.md ("Dockerfiles"): every FROM is the pinned Node image, the
#    same release scripts/node.sh runs; nothing runs through tsx or npx; a service's final stage
#    installs its production dependencies only, runs as `node` with Node's compile cache warmed at
#    build time, exposes one port, checks /healthz on it and starts with `node services/<name>/src/main.ts`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRIBUTARY_CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
LINTER_VERSION=0.16.3
LINTER_DIR="$TRIBUTARY_CACHE/dockerfile-utils-$LINTER_VERSION"
NODE_VERSION=$(sed -n 's/^TRIBUTARY_NODE_VERSION="${TRIBUTARY_NODE_VERSION:-\([0-9.]*\)}"$/\1/p' "$ROOT/scripts/node.sh")
NODE_IMAGE="node:$NODE_VERSION-bookworm-slim"

failures=0
problem() {
  printf '%s: %s\n' "${1#"$ROOT"/}" "$2" >&2
  failures=$((failures + 1))
}

[[ -n $NODE_VERSION ]] || {
  echo "error: no TRIBUTARY_NODE_VERSION in scripts/node.sh" >&2
  exit 1
}
if [[ ! -x $LINTER_DIR/node_modules/.bin/dockerfile-utils ]]; then
  printf 'installing dockerfile-utils %s, once\n' "$LINTER_VERSION" >&2
  npm install --prefix "$LINTER_DIR" --no-audit --no-fund --no-save "dockerfile-utils@$LINTER_VERSION" >/dev/null
fi

files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=("$ROOT"/services/*/Dockerfile "$ROOT/cli/Dockerfile")

for f in "${files[@]}"; do
  [[ -f $f ]] || {
    problem "$f" "no such file"
    continue
  }
  lint=$("$LINTER_DIR/node_modules/.bin/dockerfile-utils" lint "$f" 2>&1) || true
  [[ -z $lint ]] || problem "$f" $'dockerfile-utils:\n'"$lint"

  while read -r image; do
    [[ $image == "$NODE_IMAGE" ]] || problem "$f" "FROM $image: use $NODE_IMAGE (the Node release of scripts/node.sh)"
  done < <(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$f")
  grep -qE '(^|[^a-z])(tsx|npx)([^a-z]|$)' "$f" && problem "$f" "runs something through tsx or npx: run node directly"

  if [[ $f == */services/*/Dockerfile ]]; then
    name=$(basename "$(dirname "$f")")
    final=$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' "$f")
    grep -qF "npm ci --omit=dev --workspace @tributary/$name --include-workspace-root=false" <<<"$final" ||
      problem "$f" "the final stage must install with npm ci --omit=dev --workspace @tributary/$name --include-workspace-root=false"
    grep -qx 'USER node' <<<"$final" || problem "$f" "the final stage must run as USER node"
    grep -qx 'ENV NODE_ENV=production' <<<"$final" || problem "$f" "the final stage must set ENV NODE_ENV=production"
    grep -A3 -x 'USER node' <<<"$final" | grep -qx 'ENV NODE_COMPILE_CACHE=/home/node/.cache/node-compile' ||
      problem "$f" "after USER node: ENV NODE_COMPILE_CACHE=/home/node/.cache/node-compile (the cache is per user)"
    grep -qx "RUN node -e \"await import('/app/services/$name/src/app.ts')\"" <<<"$final" ||
      problem "$f" "the final stage must warm the compile cache: RUN node -e \"await import('/app/services/$name/src/app.ts')\""
    port=$(sed -n 's/^EXPOSE \([0-9]*\)$/\1/p' <<<"$final")
    [[ $port =~ ^[0-9]+$ ]] || problem "$f" "the final stage must EXPOSE exactly one port"
    grep -qF "HEALTHCHECK --interval=10s --timeout=3s CMD [\"node\", \"-e\", \"fetch('http://127.0.0.1:$port/healthz')" <<<"$final" ||
      problem "$f" "HEALTHCHECK must fetch http://127.0.0.1:$port/healthz with node (the template's line)"
    [[ $(tail -n 1 "$f") == "CMD [\"node\", \"services/$name/src/main.ts\"]" ]] ||
      problem "$f" "the last line must be CMD [\"node\", \"services/$name/src/main.ts\"]"
  fi
done

if ((failures > 0)); then
  printf '%d Dockerfile problem(s)\n' "$failures" >&2
  exit 1
fi
printf '%d Dockerfiles: lint clean (dockerfile-utils %s), template followed (%s)\n' "${#files[@]}" "$LINTER_VERSION" "$NODE_IMAGE"
