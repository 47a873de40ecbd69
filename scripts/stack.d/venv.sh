# shellcheck shell=bash
# The Python virtualenv holding MLflow, DVC and moto (the S3 stand-in), shared by mlflow and s3, and
# confluent-kafka with its Avro serializer for the Python producer example (examples/python-producer).

VENV_PACKAGES=(mlflow dvc 'moto[server]' 'confluent-kafka[avro]')
# Distribution names checked to decide whether the venv is complete (flask-cors comes with
# moto's server extra, so it tells the extra was installed too; fastavro, confluent-kafka's avro one).
VENV_DISTRIBUTIONS=(mlflow dvc moto flask-cors confluent-kafka fastavro)

need_python_venv() {
  need_cmd python3 python3
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
}

venv_complete() {
  [[ -x $TRIBUTARY_VENV/bin/python ]] || return 1
  "$TRIBUTARY_VENV/bin/python" - "${VENV_DISTRIBUTIONS[@]}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
for name in sys.argv[1:]:
    version(name)
EOF
}

# Creates the venv and installs the packages when missing; a no-op (well under a second) when
# everything is there. Runs at most once per invocation of stack.sh.
VENV_CHECKED=0
venv_install() {
  [[ $VENV_CHECKED -eq 1 ]] && return 0
  if ! venv_complete; then
    need_python_venv
    [[ -x $TRIBUTARY_VENV/bin/python ]] || {
      info "creating the Python virtualenv $TRIBUTARY_VENV"
      python3 -m venv "$TRIBUTARY_VENV" >&2
    }
    info "installing ${VENV_PACKAGES[*]} into $TRIBUTARY_VENV (several minutes the first time)"
    "$TRIBUTARY_VENV/bin/python" -m pip install -q --disable-pip-version-check "${VENV_PACKAGES[@]}" >&2
    venv_complete || die "the virtualenv $TRIBUTARY_VENV is still missing one of: ${VENV_DISTRIBUTIONS[*]}"
  fi
  VENV_CHECKED=1
}
