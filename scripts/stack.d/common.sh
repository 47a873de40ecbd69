# shellcheck shell=bash
# Shared helpers for scripts/stack.sh: paths, addresses, output, probes, process handling.
# Sourced, never run on its own.

TRIBUTARY_CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
TRIBUTARY_STATE="${TRIBUTARY_STATE:-$TRIBUTARY_CACHE/state}"

# Addresses. Each one is the variable the services read, so overriding it moves both sides.
DATABASE_URL="${DATABASE_URL:-postgres://tributary:tributary@127.0.0.1:5432/tributary}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}"
MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000}"
S3_ENDPOINT="${S3_ENDPOINT:-http://127.0.0.1:9000}"
S3_BUCKET="${S3_BUCKET:-tributary}"
AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
AWS_REGION="${AWS_REGION:-us-east-1}"
TRIBUTARY_VENV="${TRIBUTARY_VENV:-$TRIBUTARY_CACHE/venv}"

# ---------------------------------------------------------------------------------------------
# Output

if [[ -t 1 ]]; then
  C_OK=$'\e[32m' C_WARN=$'\e[33m' C_ERR=$'\e[31m' C_DIM=$'\e[2m' C_OFF=$'\e[0m'
else
  C_OK='' C_WARN='' C_ERR='' C_DIM='' C_OFF=''
fi

info() { printf '%s%s%s\n' "$C_DIM" "$*" "$C_OFF" >&2; }
warn() { printf '%swarning:%s %s\n' "$C_WARN" "$C_OFF" "$*" >&2; }
die() {
  printf '%serror:%s %s\n' "$C_ERR" "$C_OFF" "$*" >&2
  exit 1
}

# One line per component: "  kafka     started   127.0.0.1:9092 (pid 4242, ready in 6.1s)".
summary() {
  local component=$1 verdict=$2 detail=$3 colour=$C_OK
  [[ $verdict == failed ]] && colour=$C_ERR
  [[ $verdict == down || $verdict == stopped ]] && colour=$C_DIM
  printf '  %-9s %s%-9s%s %s\n' "$component" "$colour" "$verdict" "$C_OFF" "$detail"
}

now_ms() { date +%s%3N; }

# Milliseconds as seconds with one decimal: 6123 -> 6.1s.
fmt_ms() { printf '%d.%ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# Time since a now_ms timestamp.
elapsed_since() { fmt_ms $(($(now_ms) - $1)); }

# ---------------------------------------------------------------------------------------------
# Address parsing: split URLs and host:port pairs into the bash variables the components use.

# url_hostport URL -> "host port" (default port when the URL has none).
url_hostport() {
  local url=$1 default_port=$2 rest hostport
  rest=${url#*://}
  rest=${rest#*@} # drop user:password@
  hostport=${rest%%/*}
  if [[ $hostport == *:* ]]; then
    printf '%s %s\n' "${hostport%:*}" "${hostport##*:}"
  else
    printf '%s %s\n' "$hostport" "$default_port"
  fi
}

# First broker of a comma-separated host:port list.
first_hostport() {
  local first=${1%%,*}
  printf '%s %s\n' "${first%:*}" "${first##*:}"
}

# ---------------------------------------------------------------------------------------------
# Probes

# True when something accepts TCP connections on host:port (bash's /dev/tcp, no extra tools).
port_open() {
  local host=$1 port=$2
  # shellcheck disable=SC2016 # $0 and $1 belong to the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# HTTP status code of a GET, "000" when nothing answers.
http_code() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Processes started by this script: one pid file each under $TRIBUTARY_STATE/<component>/.

pidfile_of() { printf '%s/%s/%s.pid\n' "$TRIBUTARY_STATE" "$1" "$1"; }
# The address an instance was started with, beside its pid file.
addrfile_of() { printf '%s/%s/%s.address\n' "$TRIBUTARY_STATE" "$1" "$1"; }
owned_address() { cat "$(addrfile_of "$1")" 2>/dev/null || "${1}_address"; }

# Pid recorded for a component if that process is still alive, else nothing (and exit 1).
# The command line must contain the given word: after a reboot the number may belong to an
# unrelated process.
live_pid() {
  local file pid word=$2
  file=$(pidfile_of "$1")
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$word"; then
    printf '%s\n' "$pid"
  else
    rm -f "$file" # stale: the process died or the machine restarted
    return 1
  fi
}

# Starts a command detached from this shell, logging to a file, and records its pid.
# setsid makes the process a group leader so that stop_pid can also end the workers it forks
# (MLflow's uvicorn workers, for instance) without touching anything else.
# Usage: spawn COMPONENT LOGFILE WORKDIR COMMAND...
spawn() {
  local component=$1 log=$2 dir=$3
  shift 3
  mkdir -p "$(dirname "$log")" "$dir"
  (cd "$dir" && exec nohup setsid "$@" >"$log" 2>&1 </dev/null) &
  printf '%s\n' "$!" >"$(pidfile_of "$component")"
}

# True while a process exists and has not exited. Our daemons are reparented to init once this
# script ends, so an exited one can linger as a zombie until init reaps it.
pid_running() {
  local state
  state=$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null) || return 1 # field after "(comm) "
  [[ -n $state && $state != Z ]]
}

# Stops a process group started by spawn: TERM, up to 20s to exit, then KILL.
stop_pid() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    pid_running "$pid" || return 0
    sleep 0.2
  done
  warn "pid $pid did not stop after 20s, killing it"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

# Resident memory (MB) of a process and all of its descendants (MLflow's workers, Postgres'
# backends...).
tree_rss_mb() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
    { parent[$1] = $2; rss[$1] = $3 }
    END {
      for (p in rss) {
        q = p
        while (q != root && q > 1) q = parent[q]
        if (q == root) total += rss[p]
      }
      printf "%d\n", total / 1024
    }'
}

# Last lines of a log, indented, for error messages.
log_tail() {
  local log=$1
  [[ -f $log ]] || return 0
  printf '  last lines of %s:\n' "$log" >&2
  tail -n "${2:-15}" "$log" | sed 's/^/    | /' >&2
}

# ---------------------------------------------------------------------------------------------
# Installing

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "'$*' needs root and sudo is not available"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "missing packages ($*) and no apt-get: install them by hand"
  info "installing Debian packages: $*"
  # The package lists are often empty or stale (containers, fresh machines): refresh them once.
  if [[ $APT_UPDATED -eq 0 ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# need_cmd COMMAND PACKAGE: installs PACKAGE when COMMAND is missing.
need_cmd() {
  command -v "$1" >/dev/null || apt_install "$2"
}

# Downloads a URL to a file atomically (a half download never looks complete).
download() {
  local url=$1 dest=$2
  mkdir -p "$(dirname "$dest")"
  info "downloading $url"
  curl -fL --retry 3 --retry-delay 2 -sS -o "$dest.part" "$url"
  mv "$dest.part" "$dest"
}
