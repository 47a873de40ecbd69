# shellcheck shell=bash
# MLflow tracking server from the stack's virtualenv, SQLite backend, local artifact directory.

MLFLOW_STATE="$TRIBUTARY_STATE/mlflow"
read -r MLFLOW_HOST MLFLOW_PORT < <(url_hostport "$MLFLOW_TRACKING_URI" 80)

mlflow_address() { printf '%s\n' "$MLFLOW_TRACKING_URI"; }
mlflow_env() { printf 'MLFLOW_TRACKING_URI\nTRIBUTARY_VENV\n'; }
mlflow_timeout() { printf '90\n'; }
mlflow_logs() { printf '%s\n' "$MLFLOW_STATE/mlflow.log"; }
mlflow_pid() { live_pid mlflow "mlflow server"; }
mlflow_answers() { [[ $(http_code "${MLFLOW_TRACKING_URI%/}/health") == 200 ]]; }
mlflow_ready() { mlflow_answers; }
MLFLOW_FLAGS=()

mlflow_install() {
  venv_install
  mapfile -t MLFLOW_FLAGS < <(mlflow_version_flags)
}

# Flags that only some MLflow versions have. Recent ones check the Host header of every request
# (DNS-rebinding protection); spelling out the configured address keeps clients that use
# 127.0.0.1 working whatever the default list becomes. `mlflow server --help` takes seconds, so
# its answer is remembered per installed MLflow version.
mlflow_version_flags() {
  local memo="$TRIBUTARY_VENV/.stack-mlflow-allowed-hosts" version has
  version=$("$TRIBUTARY_VENV/bin/python" -c 'from importlib.metadata import version; print(version("mlflow"))')
  if [[ -f $memo && $(head -n 1 "$memo") == "$version" ]]; then
    has=$(tail -n 1 "$memo")
  else
    has=no
    [[ $("$TRIBUTARY_VENV/bin/mlflow" server --help 2>/dev/null) == *--allowed-hosts* ]] && has=yes
    printf '%s\n%s\n' "$version" "$has" >"$memo"
  fi
  if [[ $has == yes ]]; then
    printf '%s\n' --allowed-hosts "$MLFLOW_HOST,$MLFLOW_HOST:$MLFLOW_PORT,localhost,localhost:$MLFLOW_PORT"
  fi
}

# MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: MLflow 3 otherwise forks a job runner and seven
# huey consumers (about 1.2 GB together) for GenAI evaluation jobs the platform does not use.
mlflow_start() {
  mkdir -p "$MLFLOW_STATE/artifacts"
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}" \
    spawn mlflow "$MLFLOW_STATE/mlflow.log" "$MLFLOW_STATE" "$TRIBUTARY_VENV/bin/mlflow" server \
    --backend-store-uri "sqlite:///$MLFLOW_STATE/mlflow.db" \
    --default-artifact-root "$MLFLOW_STATE/artifacts" \
    --host "$MLFLOW_HOST" --port "$MLFLOW_PORT" --workers 1 "${MLFLOW_FLAGS[@]}"
}

mlflow_stop() { stop_pid "$1"; }
