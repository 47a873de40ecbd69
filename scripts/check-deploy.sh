#!/usr/bin/env bash
# Static checks of the deployment files: Prometheus config and alert rules (with their unit tests)
# through promtool, docker-compose.yml through scripts/check-compose.sh, the Dockerfiles (lint and
# template) through scripts/check-dockerfiles.sh, the Kubernetes manifests (and KEDA objects), rendered
# by kustomize and decoded strictly into their API types, through scripts/check-k8s.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v promtool >/dev/null; then
  echo "installing promtool (Debian package prometheus)"
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq prometheus >/dev/null
fi
(cd deploy/prometheus && promtool check config prometheus.yml && promtool test rules alerts.test.yml)
scripts/check-compose.sh
scripts/check-dockerfiles.sh
scripts/check-k8s.sh
