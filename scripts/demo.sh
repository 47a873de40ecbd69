#!/usr/bin/env bash
# The demo: installs and starts the local stack and the six services, then pushes a real sample
# batch (Palmer penguins with photos) through ingest → merge → retrain decision, and the evaluation
# refresh → quality gate → publish → notifications; then prints the batch's lineage and the address
# of the operator console, where the batch can be followed.
#   scripts/demo.sh        start everything and run the sample batch (services keep running)
#   scripts/demo.sh stop   stop the services (the stack stays up: scripts/stack.sh down)
#   scripts/demo.sh env    print the deployment settings the services get (LANDING_DIR, stores), start nothing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Node 24 LTS first on PATH (fetched into the cache when the machine's node is older).
source scripts/node.sh

SERVICES=(ingestor preprocessor quality-gate publisher notifier retrain-policy console)
TRIBUTARY_CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
DEMO_DIR="${TRIBUTARY_STATE:-$TRIBUTARY_CACHE/state}/demo"
export TRIBUTARY_ADMIN_TOKEN="${TRIBUTARY_ADMIN_TOKEN:-demo-admin-token-0123456789}"

stop_services() {
  for s in "${SERVICES[@]}" receivers; do
    local pidfile="$DEMO_DIR/$s.pid"
    [[ -s $pidfile ]] && kill "$(<"$pidfile")" 2>/dev/null && echo "stopped $s"
    rm -f "$pidfile"
  done
}

# The deployment's settings (the stack's addresses come from scripts/stack.sh env).
DEPLOYMENT_VARS=(DATA_STORE_URI SOURCE_FILE_ROOTS LANDING_DIR ADMIN_TOKEN LOG_LEVEL REFRESH_STORE_URI PUBLISH_STORE_URI)
deployment_env() {
  # One object store for every service, on the filesystem; S3 works the same with s3://bucket/prefix.
  export DATA_STORE_URI="file://$DEMO_DIR/store" SOURCE_FILE_ROOTS="$DEMO_DIR"
  export ADMIN_TOKEN="$TRIBUTARY_ADMIN_TOKEN" LOG_LEVEL=info
  export REFRESH_STORE_URI="file://$DEMO_DIR/refresh" PUBLISH_STORE_URI="file://$DEMO_DIR/published"
  # The landing zone (the seed's protocol): the ingestor watches <LANDING_DIR>/<landing folder>/<batch id>/
  # of every declared dataset (its name, or landing.folder of datasets/<name>.yaml) for a _READY marker.
  export LANDING_DIR="$DEMO_DIR/landing"
  mkdir -p "$LANDING_DIR"
}

if [[ ${1:-} == stop ]]; then
  stop_services
  exit 0
fi
if [[ ${1:-} == env ]]; then
  deployment_env
  for v in "${DEPLOYMENT_VARS[@]}"; do printf 'export %s=%q\n' "$v" "${!v}"; done
  exit 0
fi

[[ -d node_modules ]] || npm ci --no-audit --no-fund
scripts/stack.sh up
eval "$(scripts/stack.sh env)"
stop_services >/dev/null 2>&1 || true
mkdir -p "$DEMO_DIR"
deployment_env
# Datasets are declared in datasets/*.yaml (applied by scripts/demo.ts with `tributary datasets apply`);
# the environment only configures the deployment. The penguins evaluation set's reference file and
# baseline are written here, and the declaration reads their location and checksum from these exports.
eval "$(node scripts/demo-source.ts "$DEMO_DIR")"
# The notifier talks to local stand-ins of Slack, PagerDuty and SMTP that log to notifications.log
# (the deployment's default routes; datasets/penguins.yaml routes its own notifications there too).
export SLACK_WEBHOOK_URL=http://127.0.0.1:3100/slack PAGERDUTY_EVENTS_URL=http://127.0.0.1:3100/pagerduty
export PAGERDUTY_ROUTING_KEY=demo-routing-key SMTP_HOST=127.0.0.1 SMTP_PORT=2525
export EVAL_DISTRIBUTION_LIST=eval-leads@example.org
nohup node scripts/demo-receivers.ts "$DEMO_DIR/notifications.log" 3100 2525 >"$DEMO_DIR/receivers.log" 2>&1 &
echo $! >"$DEMO_DIR/receivers.pid"

# The console reads the others' admin APIs; its web client is built first (Vite, from npm packages).
export INGESTOR_URL=http://127.0.0.1:3001 PREPROCESSOR_URL=http://127.0.0.1:3002
export QUALITY_GATE_URL=http://127.0.0.1:3003 PUBLISHER_URL=http://127.0.0.1:3004
export RETRAIN_POLICY_URL=http://127.0.0.1:3006
export SESSION_SECRET="${TRIBUTARY_CONSOLE_SESSION_SECRET:-demo-console-session-secret-0123456789}"
export JAEGER_UI_LINK="${JAEGER_QUERY_URL:-http://127.0.0.1:16686}" MLFLOW_UI_LINK="$MLFLOW_TRACKING_URI"
npm run build --silent --workspace @tributary/console

port=3001
for s in "${SERVICES[@]}"; do
  HTTP_PORT=$port nohup node "services/$s/src/main.ts" >"$DEMO_DIR/$s.log" 2>&1 &
  echo $! >"$DEMO_DIR/$s.pid"
  port=$((port + 1))
done

echo "waiting for the services to be ready (logs in $DEMO_DIR)"
port=3001
for s in "${SERVICES[@]}"; do
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    if ! kill -0 "$(<"$DEMO_DIR/$s.pid")" 2>/dev/null; then
      echo "$s exited; its log says:" >&2
      tail -n 20 "$DEMO_DIR/$s.log" >&2
      exit 1
    fi
    sleep 1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "$s is not ready, see $DEMO_DIR/$s.log" >&2; exit 1; }
  echo "  $s ready on http://127.0.0.1:$port"
  port=$((port + 1))
done

node scripts/demo.ts "$DEMO_DIR"
echo "operator console: http://127.0.0.1:3007 (log in with the admin token: $TRIBUTARY_ADMIN_TOKEN)"
echo "landing zone (LANDING_DIR, watched by the ingestor): $LANDING_DIR"
echo "  drop files into $LANDING_DIR/<landing folder>/<batch id>/, then an empty _READY file"
echo "notifications sent by the notifier: $DEMO_DIR/notifications.log"
