# shellcheck shell=bash
# PostgreSQL from Debian: the distribution's "main" cluster, driven by pg_ctlcluster (works
# without systemd), with the role and database of $DATABASE_URL.

PG_VERSION="${TRIBUTARY_PG_VERSION:-15}"
PG_CLUSTER=main
PG_STATE="$TRIBUTARY_STATE/postgres"
# The cluster is a system service, not a child of ours: this file records that we started it.
PG_MARKER="$PG_STATE/started-by-stack"
read -r PG_HOST PG_PORT < <(url_hostport "$DATABASE_URL" 5432)

# User, password and database name out of postgres://user:password@host:port/db?options.
pg_parse_url() {
  local rest=${DATABASE_URL#*://} creds=''
  if [[ $rest == *@* ]]; then
    creds=${rest%%@*}
    rest=${rest#*@}
  fi
  PG_USER=${creds%%:*}
  PG_PASSWORD=''
  [[ $creds == *:* ]] && PG_PASSWORD=${creds#*:}
  PG_DB=$PG_USER
  [[ $rest == */* ]] && PG_DB=${rest#*/}
  PG_DB=${PG_DB%%\?*}
}
pg_parse_url

postgres_address() { printf '%s:%s (database %s, user %s)\n' "$PG_HOST" "$PG_PORT" "$PG_DB" "$PG_USER"; }
postgres_env() { printf 'DATABASE_URL\n'; }
postgres_timeout() { printf '30\n'; }
postgres_logs() { printf '%s\n' "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"; }

postgres_answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
  else
    port_open "$PG_HOST" "$PG_PORT"
  fi
}
postgres_ready() { postgres_answers; }

# online, down, or nothing when the cluster does not exist.
pg_cluster_status() {
  command -v pg_lsclusters >/dev/null || return 0
  pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {print $4}'
}

pg_cluster_port() {
  pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {print $3}'
}

postgres_pid() {
  [[ -f $PG_MARKER ]] || return 1
  if [[ $(pg_cluster_status) != online* ]]; then
    rm -f "$PG_MARKER"
    return 1
  fi
  head -n 1 "/var/run/postgresql/$PG_VERSION-$PG_CLUSTER.pid" 2>/dev/null || printf '?\n'
}

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && sudo -u postgres "$@")
  fi
}

postgres_install() {
  if [[ ! -x /usr/lib/postgresql/$PG_VERSION/bin/postgres ]] || ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
    [[ -x /usr/lib/postgresql/$PG_VERSION/bin/postgres ]] || apt_install "postgresql-$PG_VERSION"
  fi
  [[ -n $(pg_cluster_status) ]] || as_root pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" >&2
}

# Port and listen address go in a drop-in of the cluster's conf.d (read after postgresql.conf,
# so it wins), which keeps the distribution's file untouched: pg_conftool would write an IP
# address unquoted, which the server then refuses to parse. pg_hba.conf gets a password rule for
# TCP from the configured host when it has none (Debian's default already has one).
pg_configure() {
  local etc="/etc/postgresql/$PG_VERSION/$PG_CLUSTER" net wanted
  wanted=$(printf "# Written by the Tributary project's scripts/stack.sh.\nlisten_addresses = '%s'\nport = %s\n" \
    "$PG_HOST" "$PG_PORT")
  if [[ $(cat "$etc/conf.d/tributary.conf" 2>/dev/null) != "$wanted" ]]; then
    printf '%s\n' "$wanted" | as_root tee "$etc/conf.d/tributary.conf" >/dev/null
  fi
  net="$PG_HOST/32"
  [[ $PG_HOST == localhost ]] && net=127.0.0.1/32
  if ! as_root grep -Eq "^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+${net//./\\.}[[:space:]]+(scram-sha-256|md5)" "$etc/pg_hba.conf"; then
    printf 'host all all %s scram-sha-256\n' "$net" | as_root tee -a "$etc/pg_hba.conf" >/dev/null
  fi
}

postgres_start() {
  mkdir -p "$PG_STATE"
  pg_configure
  as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2 || {
    log_tail "$(postgres_logs)"
    die "postgres: pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed (log: $(postgres_logs))"
  }
  touch "$PG_MARKER"
}

# Role and database, created when missing (\gexec runs the generated statement only then).
pg_ensure_role_and_db() {
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres \
    -v user="$PG_USER" -v pass="$PG_PASSWORD" -v db="$PG_DB" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'pass';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
}

# Logs in over TCP with the URL itself: proves address, password rule, role and database.
pg_check_login() {
  command -v psql >/dev/null || return 0
  PGCONNECT_TIMEOUT=5 psql "$DATABASE_URL" -X -tAc 'SELECT 1' >/dev/null 2>&1
}

postgres_after_start() {
  pg_ensure_role_and_db
  pg_check_login || die "postgres: cannot log in with DATABASE_URL=$DATABASE_URL (log: $(postgres_logs))"
}

# Someone else runs the server (systemd, Docker). When it is this machine's own cluster we can
# still add the role and database; either way, say so when the URL does not let us in.
postgres_after_reuse() {
  if [[ $(pg_cluster_status) == online* && $(pg_cluster_port) == "$PG_PORT" ]]; then
    pg_ensure_role_and_db || warn "postgres: could not create role/database $PG_USER/$PG_DB"
  fi
  pg_check_login || warn "postgres: the server answers but DATABASE_URL=$DATABASE_URL does not log in"
}

postgres_stop() {
  as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop >&2
  rm -f "$PG_MARKER"
}
