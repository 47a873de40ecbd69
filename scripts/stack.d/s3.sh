# shellcheck shell=bash
# An S3-compatible endpoint: moto in server mode (in memory; buckets vanish when it stops).

S3_STATE="$TRIBUTARY_STATE/s3"
read -r S3_HOST S3_PORT < <(url_hostport "$S3_ENDPOINT" 80)

s3_address() { printf '%s\n' "$S3_ENDPOINT"; }
s3_env() { printf '%s\n' S3_ENDPOINT S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION TRIBUTARY_VENV; }
s3_timeout() { printf '60\n'; }
s3_logs() { printf '%s\n' "$S3_STATE/moto.log"; }
s3_pid() { live_pid s3 moto_server; }
# Any HTTP answer counts: moto lists buckets, MinIO refuses the unsigned request with 403.
s3_answers() { [[ $(http_code "${S3_ENDPOINT%/}/") != 000 ]]; }
s3_ready() { s3_answers; }
s3_install() { venv_install; }

s3_start() {
  mkdir -p "$S3_STATE"
  spawn s3 "$S3_STATE/moto.log" "$S3_STATE" "$TRIBUTARY_VENV/bin/moto_server" -H "$S3_HOST" -p "$S3_PORT"
}

# The bucket the services write to, as the compose file's init container makes in MinIO.
# moto does not check signatures, so a plain PUT is enough.
s3_after_start() {
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -X PUT "${S3_ENDPOINT%/}/$S3_BUCKET")
  [[ $code == 200 ]] || warn "s3: creating bucket $S3_BUCKET answered HTTP $code"
}

s3_stop() { stop_pid "$1"; }
