#!/usr/bin/env bash
# The local Tributary stack as plain processes (no Docker): Postgres, Redis, Kafka, the schema
# registry, MLflow and an S3 stand-in, installed on first use and bound to 127.0.0.1.
#
#   scripts/stack.sh up|down|status [component...]   default: all components
#   scripts/stack.sh env [component...]              eval "$(scripts/stack.sh env)"
#   scripts/stack.sh kafka-topics ARGS...            Kafka's topic tool against the stack
#
# Downloads are cached in ${TRIBUTARY_CACHE:-~/.cache/tributary}; data, logs and pid files live
# in ${TRIBUTARY_STATE:-$TRIBUTARY_CACHE/state}. A component that already answers on its
# address (say, from docker compose) is reused, and `down` stops only what `up` started.
# Every address is overridable by its variable (see `env`), e.g. REDIS_URL=redis://127.0.0.1:6380;
# TRIBUTARY_TIMEOUT=SECONDS replaces each component's startup timeout.
set -euo pipefail

# Each component is a file in stack.d/ defining <name>_address, _env, _timeout, _logs, _pid,
# _answers, _ready, _install, _start and _stop, and optionally _after_start and _after_reuse.

STACK_D="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stack.d"
COMPONENTS=(postgres redis kafka registry mlflow s3 jaeger)
# Started only when named (scripts/stack.sh up ray): the one-node Ray cluster of the refresh's
# cluster engine, for its tests and the demo.
OPTIONAL_COMPONENTS=(ray)

# shellcheck source=stack.d/common.sh
source "$STACK_D/common.sh"
for file in java venv chromium "${COMPONENTS[@]}" "${OPTIONAL_COMPONENTS[@]}"; do
  # shellcheck source=/dev/null
  source "$STACK_D/$file.sh"
done

usage() {
  # The comment block at the top of this file, without its "# ".
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
  printf '\ncomponents: %s (on request: %s)\n' "${COMPONENTS[*]}" "${OPTIONAL_COMPONENTS[*]}"
}

has_fn() { declare -F "$1" >/dev/null; }

# ---------------------------------------------------------------------------------------------
# up: install what is missing, launch everything, then wait for all at once, so the slow JVMs
# start side by side and each one's time is its own.

declare -A MODE STARTED_AT INSTALL_TIME DEADLINE

# Decides what to do with a component: leave it (ours, running), reuse it (someone else's) or
# install it and start it later.
classify() {
  local c=$1 t0 pid recorded
  if pid=$("${c}_pid"); then
    # Ours and alive, but perhaps started with other settings: refuse to guess which one counts.
    recorded=$(cat "$(addrfile_of "$c")" 2>/dev/null || true)
    if [[ -n $recorded && $recorded != "$("${c}_address")" ]]; then
      die "$c: this script's instance (pid $pid) serves $recorded, not $("${c}_address"); run 'scripts/stack.sh down $c' first"
    fi
    MODE[$c]=running
  elif "${c}_answers"; then
    MODE[$c]=reusing
  else
    MODE[$c]=start
    t0=$(now_ms)
    "${c}_install"
    INSTALL_TIME[$c]=$(($(now_ms) - t0))
  fi
}

launch() {
  local c=$1
  info "starting $c"
  STARTED_AT[$c]=$(now_ms)
  mkdir -p "$TRIBUTARY_STATE/$c"
  "${c}_address" >"$(addrfile_of "$c")"
  "${c}_start"
  MODE[$c]=started
}

fail() {
  local c=$1 why=$2 log
  summary "$c" failed "$("${c}_address"): $why; see $("${c}_logs" | paste -sd' ')"
  while read -r log; do log_tail "$log"; done < <("${c}_logs")
}

# One check of a component still coming up: ready (0), still waiting (1) or failed (2).
poll() {
  local c=$1 pid detail install=''
  if "${c}_ready"; then
    if has_fn "${c}_after_start" && [[ ${MODE[$c]} == started ]] && ! "${c}_after_start"; then
      fail "$c" "set-up after start failed"
      return 2
    fi
    pid=$("${c}_pid" || true)
    if [[ ${MODE[$c]} == running ]]; then
      summary "$c" running "$("${c}_address") (pid ${pid:-?}, already up)"
    else
      ((INSTALL_TIME[$c] < 1000)) || install=", install $(fmt_ms "${INSTALL_TIME[$c]}")"
      detail="$("${c}_address") (pid ${pid:-?}, ready in $(elapsed_since "${STARTED_AT[$c]}")$install)"
      summary "$c" started "$detail"
    fi
    return 0
  fi
  if ! "${c}_pid" >/dev/null; then
    fail "$c" "exited during startup"
    return 2
  fi
  if (($(date +%s) >= DEADLINE[$c])); then
    fail "$c" "did not answer within ${TRIBUTARY_TIMEOUT:-$("${c}_timeout")}s"
    return 2
  fi
  return 1
}

# Checks every component still coming up once; keeps the ones still waiting in WAITING.
WAITING=()
UP_FAILED=0
poll_pass() {
  local c rc
  local -a still=()
  for c in "${WAITING[@]}"; do
    rc=0
    poll "$c" || rc=$?
    if ((rc == 1)); then still+=("$c"); fi
    if ((rc == 2)); then UP_FAILED=1; fi
  done
  WAITING=("${still[@]}")
}

cmd_up() {
  local c t0
  t0=$(now_ms)
  mkdir -p "$TRIBUTARY_STATE"
  need_cmd curl curl # probes and downloads
  need_cmd ps procps
  need_chromium # the browser of the console's tests
  for c in "$@"; do classify "$c"; done
  for c in "$@"; do
    case ${MODE[$c]} in
      reusing)
        if has_fn "${c}_after_reuse"; then "${c}_after_reuse"; fi
        summary "$c" reusing "$("${c}_address") (already answering, not started by this script)"
        continue
        ;;
      start) launch "$c" ;;
    esac
    DEADLINE[$c]=$(($(date +%s) + ${TRIBUTARY_TIMEOUT:-$("${c}_timeout")}))
    WAITING+=("$c")
    poll_pass # the quick ones (postgres, redis) are often ready before the next launch
  done
  while ((${#WAITING[@]} > 0)); do
    sleep 0.25
    poll_pass
  done
  if ((UP_FAILED)); then
    die "some components did not come up (total $(elapsed_since "$t0"))"
  fi
  info "stack up in $(elapsed_since "$t0"); load the addresses with: eval \"\$(scripts/stack.sh env)\""
}

# ---------------------------------------------------------------------------------------------

cmd_down() {
  local c pid i t0
  # Reverse order: the consumers of a component stop before it does.
  for ((i = $# ; i >= 1; i--)); do
    c=${!i}
    if pid=$("${c}_pid"); then
      t0=$(now_ms)
      "${c}_stop" "$pid"
      summary "$c" stopped "$(owned_address "$c") (was pid $pid, $(elapsed_since "$t0"))"
      rm -f "$(pidfile_of "$c")" "$(addrfile_of "$c")"
    elif "${c}_answers"; then
      summary "$c" left "$("${c}_address") (running, but not started by this script)"
    else
      summary "$c" down "$("${c}_address")"
    fi
  done
}

cmd_status() {
  local c pid mb down=0 total=0
  for c in "$@"; do
    if pid=$("${c}_pid"); then
      if [[ $(owned_address "$c") != "$("${c}_address")" ]]; then
        summary "$c" elsewhere "$(owned_address "$c") (pid $pid; configured: $("${c}_address"))"
        down=1
      elif "${c}_ready"; then
        mb=$(tree_rss_mb "$pid")
        total=$((total + mb))
        summary "$c" running "$("${c}_address") (pid $pid, ${mb} MB resident)"
      else
        summary "$c" starting "$("${c}_address") (pid $pid, not answering yet; log: $("${c}_logs" | head -n 1))"
        down=1
      fi
    elif "${c}_answers"; then
      summary "$c" external "$("${c}_address") (answering, not started by this script)"
    else
      summary "$c" down "$("${c}_address")"
      down=1
    fi
  done
  ((total == 0)) || info "memory of the processes started by this script: ${total} MB resident"
  return "$down"
}

cmd_env() {
  local c var
  local -A seen=()
  for c in "$@"; do
    while read -r var; do
      [[ -n ${seen[$var]:-} ]] && continue
      seen[$var]=1
      printf 'export %s=%q\n' "$var" "${!var}"
    done < <("${c}_env")
  done
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up | down | status | env) ;;
    kafka-topics)
      kafka_topics "$@"
      ;;
    -h | --help | help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  local -a selected=("$@")
  [[ ${#selected[@]} -gt 0 ]] || selected=("${COMPONENTS[@]}")
  local c
  for c in "${selected[@]}"; do
    [[ " ${COMPONENTS[*]} ${OPTIONAL_COMPONENTS[*]} " == *" $c "* ]] ||
      die "unknown component '$c' (known: ${COMPONENTS[*]} ${OPTIONAL_COMPONENTS[*]})"
  done
  "cmd_$cmd" "${selected[@]}"
}

main "$@"
