# shellcheck shell=bash
# A one-node Ray cluster (`ray start --head`) for the refresh jobs declaring `engine: ray`; started
# only when asked (scripts/stack.sh up ray). Ray lives in its own virtualenv beside the stack's:
# its pinned grpcio/protobuf/pydantic would otherwise move MLflow's. Bound to loopback, one CPU
# and a small object store (it spills to disk beyond it), so it fits beside the rest of the stack.

RAY_VENV="${RAY_VENV:-$TRIBUTARY_CACHE/ray-venv}"
RAY_ADDRESS="${RAY_ADDRESS:-http://127.0.0.1:8265}"
RAY_GCS_PORT="${RAY_GCS_PORT:-6390}"
RAY_NUM_CPUS="${RAY_NUM_CPUS:-1}"
RAY_OBJECT_STORE_BYTES="${RAY_OBJECT_STORE_BYTES:-100000000}"
RAY_STATE="$TRIBUTARY_STATE/ray"
# duckdb is pinned to the quality-gate's @duckdb/node-api: both engines evaluate the jobs' SQL
# augmentations with the same DuckDB. pillow flips images.
RAY_PACKAGES=('ray[default]' pyarrow boto3 pillow 'duckdb==1.5.6')
read -r RAY_HOST RAY_DASHBOARD_PORT < <(url_hostport "$RAY_ADDRESS" 8265)

ray_address() { printf '%s\n' "$RAY_ADDRESS"; }
ray_env() { printf 'RAY_ADDRESS\nRAY_JOB_PYTHON\n'; }
ray_timeout() { printf '120\n'; }
ray_logs() { printf '%s\n' "$RAY_STATE/ray.log"; }
ray_pid() { live_pid ray "ray start"; }
ray_answers() { [[ $(http_code "${RAY_ADDRESS%/}/api/version") == 200 ]]; }
# Ready once the Jobs API answers and the node has registered its CPU.
ray_ready() {
  ray_answers && curl -s -m 5 "${RAY_ADDRESS%/}/nodes?view=summary" 2>/dev/null | grep -q '"ALIVE"'
}

# The job drivers' Python: the cluster venv's, which has pyarrow, boto3, pillow and duckdb.
RAY_JOB_PYTHON="${RAY_JOB_PYTHON:-$RAY_VENV/bin/python}"

ray_install() {
  if ! "$RAY_VENV/bin/python" -c 'import ray, pyarrow, boto3, PIL, duckdb; assert duckdb.__version__ == "1.5.6"' 2>/dev/null; then
    need_python_venv
    [[ -x $RAY_VENV/bin/python ]] || python3 -m venv "$RAY_VENV" >&2
    info "installing ${RAY_PACKAGES[*]} into $RAY_VENV (a few minutes the first time)"
    "$RAY_VENV/bin/python" -m pip install -q --disable-pip-version-check "${RAY_PACKAGES[@]}" >&2
  fi
}

# --block keeps `ray start` in the foreground, so its pid is the cluster's and stop_pid ends it.
# The S3 settings go to the drivers through the raylet's environment, not through job submissions.
# Ray replaces a loopback --node-ip-address by the machine's address and then listens on every
# interface; RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (its single-machine mode) keeps it on loopback.
ray_start() {
  mkdir -p "$RAY_STATE/tmp"
  PATH="$RAY_VENV/bin:$PATH" RAY_USAGE_STATS_ENABLED=0 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 \
    S3_ENDPOINT="$S3_ENDPOINT" AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
    AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" AWS_REGION="$AWS_REGION" \
    spawn ray "$RAY_STATE/ray.log" "$RAY_STATE" "$RAY_VENV/bin/ray" start --head --block \
    --node-ip-address "$RAY_HOST" --port "$RAY_GCS_PORT" \
    --dashboard-host "$RAY_HOST" --dashboard-port "$RAY_DASHBOARD_PORT" \
    --num-cpus "$RAY_NUM_CPUS" --object-store-memory "$RAY_OBJECT_STORE_BYTES" \
    --temp-dir "$RAY_STATE/tmp" --disable-usage-stats
}

ray_stop() { stop_pid "$1"; }
