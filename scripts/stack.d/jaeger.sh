# shellcheck shell=bash
# Jaeger v2 (all-in-one, in-memory traces), built from the Go module proxy into the cache: its
# module has replace directives, so `go install pkg@version` refuses it; we build from a copy of
# the downloaded module instead. Receives OTLP on 4317/4318, serves the UI and API on 16686.

JAEGER_VERSION="${JAEGER_VERSION:-v1.76.0}" # the module version that ships the v2 binary cmd/jaeger
JAEGER_STATE="$TRIBUTARY_STATE/jaeger"
JAEGER_BIN="$TRIBUTARY_CACHE/jaeger-$JAEGER_VERSION/jaeger"
JAEGER_QUERY_URL="${JAEGER_QUERY_URL:-http://127.0.0.1:16686}"
OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}"
read -r JAEGER_HOST _ < <(url_hostport "$JAEGER_QUERY_URL" 16686)

jaeger_address() { printf '%s\n' "$JAEGER_QUERY_URL"; }
jaeger_env() { printf '%s\n' JAEGER_QUERY_URL OTEL_EXPORTER_OTLP_ENDPOINT; }
jaeger_timeout() { printf '60\n'; }
jaeger_logs() { printf '%s\n' "$JAEGER_STATE/jaeger.log"; }
jaeger_pid() { live_pid jaeger jaeger; }
jaeger_answers() { [[ $(http_code "${JAEGER_QUERY_URL%/}/api/services") == 200 ]]; }
jaeger_ready() { jaeger_answers && [[ $(http_code "${OTEL_EXPORTER_OTLP_ENDPOINT%/}/v1/traces") != 000 ]]; }

jaeger_install() {
  [[ -x $JAEGER_BIN ]] && return 0
  need_cmd go golang-go
  info "jaeger: building $JAEGER_VERSION from the Go module proxy (several minutes, once)"
  local dir src
  dir=$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [[ -d $dir ]] || die "jaeger: go mod download of $JAEGER_VERSION failed"
  src=$(mktemp -d)
  cp -r "$dir/." "$src" && chmod -R u+w "$src"
  (cd "$src" && go build -o "$JAEGER_BIN" ./cmd/jaeger) || die "jaeger: build failed"
  rm -rf "$src"
}

# Only what Tributary uses, each endpoint on loopback (the embedded all-in-one configuration
# leaves the query ports on every interface).
jaeger_config() {
  local otlp_http otlp_grpc_port query_port
  otlp_http=$(url_hostport "$OTEL_EXPORTER_OTLP_ENDPOINT" 4318 | tr ' ' ':')
  read -r _ query_port < <(url_hostport "$JAEGER_QUERY_URL" 16686)
  otlp_grpc_port=$((${otlp_http##*:} - 1))
  cat <<YAML
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [jaeger_storage_exporter] }
  telemetry:
    metrics: { level: none }
extensions:
  jaeger_storage:
    backends:
      memory_store: { memory: { max_traces: 100000 } }
  jaeger_query:
    storage: { traces: memory_store }
    http: { endpoint: "$JAEGER_HOST:$query_port" }
    grpc: { endpoint: "$JAEGER_HOST:$((query_port - 1))" }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "${otlp_http%:*}:$otlp_grpc_port" }
      http: { endpoint: "$otlp_http" }
processors:
  batch: { timeout: 200ms }
exporters:
  jaeger_storage_exporter: { trace_storage: memory_store }
YAML
}

jaeger_start() {
  mkdir -p "$JAEGER_STATE"
  jaeger_config >"$JAEGER_STATE/config.yaml"
  spawn jaeger "$JAEGER_STATE/jaeger.log" "$JAEGER_STATE" "$JAEGER_BIN" --config "$JAEGER_STATE/config.yaml"
}

jaeger_stop() { stop_pid "$1"; }
