#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine; exits non-zero when it is invalid.
#
#   scripts/check-compose.sh [FILE...]        default: the repository's docker-compose.yml
#
# With the Compose plugin installed this is `docker compose config -q`. Without it, the file is
# loaded by compose-go, the library Docker Compose itself parses files with (same schema, same
# checks: unknown keys, wrong types, depends_on naming a missing service, bad conditions...),
# built once from the Go module proxy into ${TRIBUTARY_CACHE:-~/.cache/tributary}.
# Debian's docker-compose 1.x is not used: its schema predates keys such as the top-level `name`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=stack.d/common.sh
source "$ROOT/scripts/stack.d/common.sh" # die, need_cmd, TRIBUTARY_CACHE
COMPOSE_GO_VERSION=v2.16.2
CHECKER_DIR="$TRIBUTARY_CACHE/compose-check-$COMPOSE_GO_VERSION"


build_checker() {
  [[ -x $CHECKER_DIR/compose-check ]] && return 0
  # Go from PATH, else Debian's golang-go (GOTOOLCHAIN=auto fetches the release go.mod asks for).
  need_cmd go golang-go
  printf 'building the compose checker (compose-go %s), once\n' "$COMPOSE_GO_VERSION" >&2
  mkdir -p "$CHECKER_DIR"
  cat >"$CHECKER_DIR/go.mod" <<EOF
module tributary/compose-check

go 1.24

require github.com/compose-spec/compose-go/v2 $COMPOSE_GO_VERSION
EOF
  cat >"$CHECKER_DIR/main.go" <<'EOF'
// Loads compose files the way `docker compose config` does and reports the first problem.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	files := os.Args[1:]
	project, err := load(files)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: invalid: %v\n", strings.Join(files, " "), err)
		os.Exit(1)
	}
	fmt.Printf("%s: valid (%d services, compose-go)\n", strings.Join(files, " "), len(project.Services))
}

func load(files []string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions(files, cli.WithOsEnv, cli.WithDotEnv)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}
EOF
  if ! (cd "$CHECKER_DIR" && GOTOOLCHAIN=auto go mod tidy && GOTOOLCHAIN=auto go build -o compose-check .) \
    >"$CHECKER_DIR/build.log" 2>&1; then
    tail -n 20 "$CHECKER_DIR/build.log" >&2
    die "could not build the compose checker (log: $CHECKER_DIR/build.log)"
  fi
}

main() {
  local -a files=("$@")
  [[ ${#files[@]} -gt 0 ]] || files=("$ROOT/docker-compose.yml")
  local f
  for f in "${files[@]}"; do [[ -f $f ]] || die "no such file: $f"; done

  if docker compose version >/dev/null 2>&1; then
    local -a args=()
    for f in "${files[@]}"; do args+=(-f "$f"); done
    docker compose "${args[@]}" config -q
    printf '%s: valid (docker compose config)\n' "${files[*]}"
    return
  fi
  build_checker
  "$CHECKER_DIR/compose-check" "${files[@]}"
}

main "$@"
