# shellcheck shell=bash
# Apicurio Registry 3.3.3 (Quarkus fast-jar from Maven Central), in-memory storage, serving the
# Confluent-compatible API the services use at $SCHEMA_REGISTRY_URL.

APICURIO_VERSION=3.3.3
APICURIO_HOME="$TRIBUTARY_CACHE/apicurio-registry-$APICURIO_VERSION"
MAVEN_CENTRAL="${TRIBUTARY_MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"
APICURIO_URL="$MAVEN_CENTRAL/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
REGISTRY_STATE="$TRIBUTARY_STATE/registry"
read -r REGISTRY_HOST REGISTRY_PORT < <(url_hostport "$SCHEMA_REGISTRY_URL" 80)
# Quarkus' management interface (health, metrics) is always on and defaults to 0.0.0.0:9000,
# which would both listen beyond loopback and take the S3 port: pin it next to the API.
REGISTRY_MANAGEMENT_PORT="${TRIBUTARY_REGISTRY_MANAGEMENT_PORT:-$((REGISTRY_PORT + 10))}"
REGISTRY_JAVA=""

registry_address() { printf '%s\n' "$SCHEMA_REGISTRY_URL"; }
registry_env() { printf 'SCHEMA_REGISTRY_URL\n'; }
registry_timeout() { printf '120\n'; }
registry_logs() { printf '%s\n' "$REGISTRY_STATE/registry.log"; }
registry_pid() { live_pid registry quarkus-run.jar; }
registry_answers() { [[ $(http_code "${SCHEMA_REGISTRY_URL%/}/subjects") == 200 ]]; }
registry_ready() { registry_answers; }

# Directory holding quarkus-run.jar inside the unpacked distribution.
registry_app_dir() {
  local jar
  jar=$(find "$APICURIO_HOME" -name quarkus-run.jar -print -quit 2>/dev/null)
  [[ -n $jar ]] && dirname "$jar"
}

registry_install() {
  REGISTRY_JAVA=$(need_java 21) || die "Apicurio Registry $APICURIO_VERSION needs Java 21 or newer"
  [[ -f $APICURIO_HOME/.complete ]] && registry_app_dir >/dev/null && return 0
  local tarball="$TRIBUTARY_CACHE/downloads/${APICURIO_URL##*/}" expected actual
  if [[ ! -f $tarball ]]; then
    download "$APICURIO_URL" "$tarball"
    # Maven Central publishes a SHA-1 beside every file: catch truncated or mangled downloads.
    expected=$(curl -fsSL --retry 3 "$APICURIO_URL.sha1" | awk '{print $1}') ||
      die "registry: could not fetch $APICURIO_URL.sha1"
    actual=$(sha1sum "$tarball" | awk '{print $1}')
    if [[ $expected != "$actual" ]]; then
      rm -f "$tarball"
      die "registry: checksum mismatch for $APICURIO_URL (expected $expected, got $actual)"
    fi
  fi
  info "unpacking $tarball"
  rm -rf "$APICURIO_HOME"
  mkdir -p "$APICURIO_HOME"
  tar -xzf "$tarball" -C "$APICURIO_HOME"
  registry_app_dir >/dev/null || die "registry: no quarkus-run.jar inside $tarball"
  touch "$APICURIO_HOME/.complete"
  rm -f "$tarball" # the unpacked tree is what we keep
}

# Settings beyond address and heap:
# - a global BACKWARD compatibility rule, the default of Confluent's registry (Apicurio's is
#   none), so an incompatible schema is refused with 409 as it would be in production;
# - deletes allowed, so tests can remove the subjects they created.
registry_start() {
  local app
  app=$(registry_app_dir)
  mkdir -p "$REGISTRY_STATE"
  if port_open "$REGISTRY_HOST" "$REGISTRY_MANAGEMENT_PORT"; then
    die "registry: management port $REGISTRY_HOST:$REGISTRY_MANAGEMENT_PORT is taken (set TRIBUTARY_REGISTRY_MANAGEMENT_PORT)"
  fi
  spawn registry "$REGISTRY_STATE/registry.log" "$REGISTRY_STATE" "$REGISTRY_JAVA" -Xmx384m \
    -Dquarkus.http.host="$REGISTRY_HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host="$REGISTRY_HOST" -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -jar "$app/quarkus-run.jar"
}

registry_stop() { stop_pid "$1"; }
