# shellcheck shell=bash
# Redis from Debian's redis-server, without persistence.

REDIS_STATE="$TRIBUTARY_STATE/redis"
read -r REDIS_HOST REDIS_PORT < <(url_hostport "$REDIS_URL" 6379)

redis_address() { printf '%s\n' "$REDIS_URL"; }
redis_env() { printf 'REDIS_URL\n'; }
redis_timeout() { printf '15\n'; }
redis_logs() { printf '%s\n' "$REDIS_STATE/redis.log"; }
redis_pid() { live_pid redis redis-server; }
redis_install() { need_cmd redis-server redis-server; }

# PING over bash's /dev/tcp: works for a Redis in Docker even where redis-cli is not installed.
redis_answers() {
  # shellcheck disable=SC2016 # $0, $1 and $reply belong to the inner shell
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r -t 2 reply <&3
    [[ $reply == +PONG* || $reply == -NOAUTH* ]]' "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
}
redis_ready() { redis_answers; }

redis_start() {
  mkdir -p "$REDIS_STATE"
  rm -f "$(pidfile_of redis)"
  # redis forks into the background itself and writes its own pid file.
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --save '' --appendonly no --dir "$REDIS_STATE" \
    --pidfile "$(pidfile_of redis)" --logfile "$REDIS_STATE/redis.log"
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $(pidfile_of redis) ]] && return 0
    sleep 0.1
  done
  log_tail "$REDIS_STATE/redis.log"
  die "redis: no pid file after 5s (log: $REDIS_STATE/redis.log)"
}

redis_stop() { stop_pid "$1"; }
