#!/usr/bin/env bash
# A second, secured set of servers beside the local stack, for trying and testing the services'
# secured connections: Kafka with a SASL_SSL listener (SCRAM-SHA-512), Postgres accepting only TLS
# (hostssl, scram-sha-256) and Redis with a password (requirepass), plain and over TLS. They run on
# their own loopback ports with their own data; the shared instances of scripts/stack.sh are never
# touched (the schema registry, MLflow and S3 of that stack are used as they are).
#
#   scripts/secure-stack.sh up|down|status [component...]   default: kafka postgres redis
#   scripts/secure-stack.sh env                             eval "$(scripts/secure-stack.sh env)"
#
# A CA, a server certificate for 127.0.0.1/localhost and the passwords are made once with openssl
# and cached in ${TRIBUTARY_CACHE:-~/.cache/tributary}/secure/ (delete the folder for new ones).
# Ports: TRIBUTARY_SECURE_KAFKA_PORT (19094; controller 19095), TRIBUTARY_SECURE_PG_PORT (15432),
# TRIBUTARY_SECURE_REDIS_PORT (16379; TLS on TRIBUTARY_SECURE_REDIS_TLS_PORT, 16380).
# Kafka comes from the same Maven jars as the stack's, Postgres and Redis from Debian.
set -euo pipefail

STACK_D="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stack.d"
COMPONENTS=(kafka postgres redis)

# shellcheck source=stack.d/common.sh
source "$STACK_D/common.sh"
# java.sh and kafka.sh only for installing Kafka's jars and its log4j file: nothing here reads the
# shared stack's addresses or state.
for file in venv java kafka; do
  # shellcheck source=/dev/null
  source "$STACK_D/$file.sh"
done

HOST=127.0.0.1
S_KAFKA_PORT=${TRIBUTARY_SECURE_KAFKA_PORT:-19094}
S_KAFKA_CONTROLLER_PORT=${TRIBUTARY_SECURE_KAFKA_CONTROLLER_PORT:-19095}
S_PG_PORT=${TRIBUTARY_SECURE_PG_PORT:-15432}
S_REDIS_PORT=${TRIBUTARY_SECURE_REDIS_PORT:-16379}
S_REDIS_TLS_PORT=${TRIBUTARY_SECURE_REDIS_TLS_PORT:-16380}
S_USER=tributary
S_KAFKA_CLUSTER_ID=dHJpYnV0YXJ5LXNlY3VyZQ # base64url of 16 bytes, fixed like the stack's

SECURE_CACHE="$TRIBUTARY_CACHE/secure"
TLS_DIR="$SECURE_CACHE/tls"
S_KAFKA_STATE="$TRIBUTARY_STATE/secure-kafka"
S_REDIS_STATE="$TRIBUTARY_STATE/secure-redis"
# The postgres user must reach its data directory: as root, $HOME (mode 700) is out of reach.
if [[ $(id -u) -eq 0 ]]; then
  S_PG_DIR=${TRIBUTARY_SECURE_PG_DIR:-/var/tmp/tributary-secure-postgres}
else
  S_PG_DIR=${TRIBUTARY_SECURE_PG_DIR:-$TRIBUTARY_STATE/secure-postgres}
fi

usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------------------------------------
# Certificates and passwords, made once.

secrets() {
  need_cmd openssl openssl
  mkdir -p "$TLS_DIR"
  chmod 700 "$SECURE_CACHE"
  local name
  for name in kafka postgres redis keystore; do
    [[ -s $SECURE_CACHE/$name.password ]] ||
      (umask 077 && openssl rand -hex 16 >"$SECURE_CACHE/$name.password")
  done
  [[ -s $TLS_DIR/server.p12 ]] && return 0
  info "making a CA and a server certificate in $TLS_DIR"
  (
    cd "$TLS_DIR"
    umask 077
    openssl req -x509 -new -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.pem \
      -subj '/CN=Tributary local secure-stack CA' -addext 'basicConstraints=critical,CA:TRUE' \
      -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj '/CN=localhost' 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.pem 2>/dev/null
    # Kafka reads a PKCS#12 keystore (server key, its certificate and the CA's).
    openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name server \
      -passout "file:$SECURE_CACHE/keystore.password" -out server.p12.part
    mv server.p12.part server.p12
    chmod 644 ca.pem server.pem
    rm -f server.csr server.ext
  )
}

pw() { cat "$SECURE_CACHE/$1.password"; }

# ---------------------------------------------------------------------------------------------
# Kafka: one KRaft node, broker listener SASL_SSL only (SCRAM-SHA-512, also between brokers), the
# controller listener plain on loopback. The SCRAM user is written into the metadata at format time.

skafka_pid() { live_pid secure-kafka "$S_KAFKA_STATE/server.properties"; }
skafka_ready() {
  port_open "$HOST" "$S_KAFKA_PORT" && grep -qF 'Kafka Server started' "$S_KAFKA_STATE/server.log" 2>/dev/null
}
skafka_logs() { printf '%s\n' "$S_KAFKA_STATE/server.log" "$S_KAFKA_STATE/kafka.out"; }

skafka_start() {
  kafka_install # the stack's jars (Maven Central), Java 17+
  mkdir -p "$S_KAFKA_STATE"
  local p
  for p in "$S_KAFKA_PORT" "$S_KAFKA_CONTROLLER_PORT"; do
    port_open "$HOST" "$p" && die "secure kafka: port $HOST:$p is taken by another process"
  done
  local kpw jaas
  kpw=$(pw keystore)
  jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$S_USER\" password=\"$(pw kafka)\";"
  (
    umask 077
    cat >"$S_KAFKA_STATE/server.properties" <<EOF
# Written by scripts/secure-stack.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$S_KAFKA_CONTROLLER_PORT
listeners=SASL_SSL://$HOST:$S_KAFKA_PORT,CONTROLLER://$HOST:$S_KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://$HOST:$S_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$jaas
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/server.p12
ssl.keystore.password=$kpw
ssl.key.password=$kpw
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
log.dirs=$S_KAFKA_STATE/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  )
  kafka_write_log4j "$S_KAFKA_STATE/log4j2.properties" "$S_KAFKA_STATE/server.log"
  kafka_write_log4j "$S_KAFKA_STATE/log4j2-tools.properties"
  # Formatted once per controller address and password (the SCRAM credential lives in the data).
  local marker=$S_KAFKA_STATE/data/.tributary-format wanted
  wanted="$HOST:$S_KAFKA_CONTROLLER_PORT $(pw kafka | sha256sum | cut -c1-16)"
  if [[ ! -f $S_KAFKA_STATE/data/meta.properties || ! -f $marker || $(<"$marker") != "$wanted" ]]; then
    rm -rf "$S_KAFKA_STATE/data"
    if ! "$KAFKA_JAVA" -Dlog4j2.configurationFile="$S_KAFKA_STATE/log4j2-tools.properties" \
      -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool format -t "$S_KAFKA_CLUSTER_ID" \
      -c "$S_KAFKA_STATE/server.properties" --standalone \
      --add-scram "SCRAM-SHA-512=[name=$S_USER,password=$(pw kafka)]" >"$S_KAFKA_STATE/format.log" 2>&1; then
      log_tail "$S_KAFKA_STATE/format.log"
      die "secure kafka: formatting the storage failed (log: $S_KAFKA_STATE/format.log)"
    fi
    printf '%s\n' "$wanted" >"$marker"
  fi
  if [[ -f $S_KAFKA_STATE/server.log ]]; then mv -f "$S_KAFKA_STATE/server.log" "$S_KAFKA_STATE/server.log.1"; fi
  spawn secure-kafka "$S_KAFKA_STATE/kafka.out" "$S_KAFKA_STATE" "$KAFKA_JAVA" -Xmx384m -Xms128m \
    -XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$S_KAFKA_STATE/log4j2.properties" \
    -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$S_KAFKA_STATE/server.properties"
}

skafka_stop() { stop_pid "$1"; }

# ---------------------------------------------------------------------------------------------
# Postgres: a private data directory (initdb) run with pg_ctl, as the postgres user when we are
# root. TCP connections must use TLS (hostssl only) and a password.

# The newest installed server version (Debian's postgresql package), as the stack's private tests use.
newest_pg() { find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -rn | head -n 1; }
PG_BIN_VERSION=$(newest_pg)
pg_bin() { printf '/usr/lib/postgresql/%s/bin/%s\n' "$PG_BIN_VERSION" "$1"; }
pg_run() {
  if [[ $(id -u) -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

spg_find_bin() {
  if [[ -z $PG_BIN_VERSION || ! -x $(pg_bin postgres) ]]; then
    apt_install postgresql
    PG_BIN_VERSION=$(newest_pg)
  fi
}

spg_pid() {
  local pid
  pid=$(head -n 1 "$S_PG_DIR/data/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}
spg_ready() {
  spg_pid >/dev/null && pg_run "$(pg_bin pg_isready)" -q -h "$S_PG_DIR" -p "$S_PG_PORT" -t 2
}
spg_logs() { printf '%s\n' "$S_PG_DIR/postgres.log"; }

spg_start() {
  spg_find_bin
  port_open "$HOST" "$S_PG_PORT" && die "secure postgres: port $HOST:$S_PG_PORT is taken by another process"
  mkdir -p "$S_PG_DIR"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$S_PG_DIR"; fi
  chmod 700 "$S_PG_DIR"
  local fresh=0
  if [[ ! -f $S_PG_DIR/data/PG_VERSION ]]; then
    rm -rf "$S_PG_DIR/data"
    pg_run "$(pg_bin initdb)" -D "$S_PG_DIR/data" -U postgres --auth-local=trust --auth-host=reject \
      -E UTF8 >"$S_PG_DIR/initdb.log" 2>&1 || {
      log_tail "$S_PG_DIR/initdb.log"
      die "secure postgres: initdb failed (log: $S_PG_DIR/initdb.log)"
    }
    fresh=1
  fi
  # The server's key must belong to the server's user and be readable by it alone.
  install -m 600 "$TLS_DIR/server.key" "$S_PG_DIR/data/server.key"
  install -m 644 "$TLS_DIR/server.pem" "$S_PG_DIR/data/server.crt"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$S_PG_DIR/data/server.key" "$S_PG_DIR/data/server.crt"; fi
  pg_run tee "$S_PG_DIR/data/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/secure-stack.sh: TLS and a password over TCP, nothing else.
local   all all                 trust
hostssl all all 127.0.0.1/32    scram-sha-256
EOF
  rm -f "$S_PG_DIR/postgres.log"
  pg_run "$(pg_bin pg_ctl)" -D "$S_PG_DIR/data" -l "$S_PG_DIR/postgres.log" -w -t 30 \
    -o "-p $S_PG_PORT -k $S_PG_DIR -c listen_addresses=$HOST -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off -c max_connections=60 -c shared_buffers=32MB" \
    start >/dev/null || {
    log_tail "$S_PG_DIR/postgres.log"
    die "secure postgres: pg_ctl start failed (log: $S_PG_DIR/postgres.log)"
  }
  # Role and database of the services, with the cached password (set again on every start).
  pg_run "$(pg_bin psql)" -X -q -v ON_ERROR_STOP=1 -h "$S_PG_DIR" -p "$S_PG_PORT" -U postgres -d postgres \
    -v user="$S_USER" -v pass="$(pw postgres)" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'pass';
SELECT format('CREATE DATABASE %I OWNER %I', :'user', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'user') \gexec
SQL
  ((fresh == 0)) || info "secure postgres: new data directory $S_PG_DIR/data"
}

spg_stop() {
  pg_run "$(pg_bin pg_ctl)" -D "$S_PG_DIR/data" -m fast -w -t 20 stop >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Redis: requirepass on a plain port, and the same server over TLS on a second port.

sredis_pid() { live_pid secure-redis "$S_REDIS_PORT"; }
sredis_ready() {
  # shellcheck disable=SC2016
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r -t 2 reply <&3
    [[ $reply == -NOAUTH* ]]' "$HOST" "$S_REDIS_PORT" 2>/dev/null
}
sredis_logs() { printf '%s\n' "$S_REDIS_STATE/redis.log"; }

sredis_start() {
  need_cmd redis-server redis-server
  local p
  for p in "$S_REDIS_PORT" "$S_REDIS_TLS_PORT"; do
    port_open "$HOST" "$p" && die "secure redis: port $HOST:$p is taken by another process"
  done
  mkdir -p "$S_REDIS_STATE"
  rm -f "$(pidfile_of secure-redis)"
  # The password goes in a config file, not on the command line (ps shows command lines).
  (
    umask 077
    cat >"$S_REDIS_STATE/redis.conf" <<EOF
# Written by scripts/secure-stack.sh on every start.
bind $HOST
port $S_REDIS_PORT
tls-port $S_REDIS_TLS_PORT
tls-cert-file $TLS_DIR/server.pem
tls-key-file $TLS_DIR/server.key
tls-ca-cert-file $TLS_DIR/ca.pem
tls-auth-clients no
requirepass $(pw redis)
save ""
appendonly no
dir $S_REDIS_STATE
daemonize yes
pidfile $(pidfile_of secure-redis)
logfile $S_REDIS_STATE/redis.log
EOF
  )
  # The pid file's check (live_pid) looks for the port on the command line.
  redis-server "$S_REDIS_STATE/redis.conf" --port "$S_REDIS_PORT"
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $(pidfile_of secure-redis) ]] && return 0
    sleep 0.1
  done
  log_tail "$S_REDIS_STATE/redis.log"
  die "secure redis: no pid file after 5s (log: $S_REDIS_STATE/redis.log)"
}

sredis_stop() { stop_pid "$1"; }

# ---------------------------------------------------------------------------------------------

fn_of() {
  case $1 in
    kafka) printf 'skafka\n' ;;
    postgres) printf 'spg\n' ;;
    redis) printf 'sredis\n' ;;
  esac
}
address_of() {
  case $1 in
    kafka) printf 'SASL_SSL %s:%s\n' "$HOST" "$S_KAFKA_PORT" ;;
    postgres) printf 'TLS %s:%s\n' "$HOST" "$S_PG_PORT" ;;
    redis) printf 'password %s:%s, TLS %s:%s\n' "$HOST" "$S_REDIS_PORT" "$HOST" "$S_REDIS_TLS_PORT" ;;
  esac
}

cmd_up() {
  local c f t0 pid
  local -A started=()
  t0=$(now_ms)
  need_cmd ps procps
  secrets
  for c in "$@"; do
    f=$(fn_of "$c")
    if pid=$("${f}_pid"); then
      summary "$c" running "$(address_of "$c") (pid $pid, already up)"
      continue
    fi
    info "starting secure $c"
    mkdir -p "$TRIBUTARY_STATE/secure-$c"
    "${f}_start"
    started[$c]=$(now_ms)
  done
  local deadline=$(($(date +%s) + ${TRIBUTARY_TIMEOUT:-120})) failed=0
  for c in "${!started[@]}"; do
    f=$(fn_of "$c")
    until "${f}_ready"; do
      if ! "${f}_pid" >/dev/null || (($(date +%s) >= deadline)); then
        summary "$c" failed "$(address_of "$c"): did not come up; see $("${f}_logs" | paste -sd' ')"
        while read -r log; do log_tail "$log"; done < <("${f}_logs")
        failed=1
        continue 2
      fi
      sleep 0.25
    done
    summary "$c" started "$(address_of "$c") (pid $("${f}_pid"), ready in $(elapsed_since "${started[$c]}"))"
  done
  ((failed == 0)) || die "some secured servers did not come up"
  info "secured servers up in $(elapsed_since "$t0"); load their settings with: eval \"\$(scripts/secure-stack.sh env)\""
}

cmd_down() {
  local c f pid i
  for ((i = $#; i >= 1; i--)); do
    c=${!i}
    f=$(fn_of "$c")
    if pid=$("${f}_pid"); then
      "${f}_stop" "$pid"
      rm -f "$(pidfile_of "secure-$c")"
      summary "$c" stopped "$(address_of "$c") (was pid $pid)"
    else
      summary "$c" down "$(address_of "$c")"
    fi
  done
}

cmd_status() {
  local c f pid down=0
  for c in "$@"; do
    f=$(fn_of "$c")
    if pid=$("${f}_pid") && "${f}_ready"; then
      summary "$c" running "$(address_of "$c") (pid $pid)"
    else
      summary "$c" down "$(address_of "$c")"
      down=1
    fi
  done
  return "$down"
}

# The services' settings for the secured servers (the registry stays the stack's plain one).
cmd_env() {
  secrets
  local ca=$TLS_DIR/ca.pem
  printf 'export %s=%q\n' \
    KAFKA_BROKERS "$HOST:$S_KAFKA_PORT" \
    KAFKA_SSL true \
    KAFKA_SSL_CA_FILE "$ca" \
    KAFKA_SASL_MECHANISM scram-sha-512 \
    KAFKA_SASL_USERNAME "$S_USER" \
    KAFKA_SASL_PASSWORD "$(pw kafka)" \
    DATABASE_URL "postgres://$S_USER:$(pw postgres)@$HOST:$S_PG_PORT/$S_USER?sslmode=verify-full" \
    DATABASE_SSL_CA_FILE "$ca" \
    REDIS_URL "rediss://:$(pw redis)@$HOST:$S_REDIS_TLS_PORT" \
    REDIS_TLS_CA_FILE "$ca" \
    TRIBUTARY_SECURE_REDIS_PLAIN_URL "redis://:$(pw redis)@$HOST:$S_REDIS_PORT"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up | down | status) ;;
    env)
      cmd_env
      return
      ;;
    -h | --help | help)
      usage
      return 0
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
    [[ " ${COMPONENTS[*]} " == *" $c "* ]] || die "unknown component '$c' (known: ${COMPONENTS[*]})"
  done
  "cmd_$cmd" "${selected[@]}"
}

main "$@"
