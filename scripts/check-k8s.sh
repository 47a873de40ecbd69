#!/usr/bin/env bash
# Validates the Kubernetes manifests without a cluster; exits non-zero naming each problem.
#
#   scripts/check-k8s.sh [KUSTOMIZATION_DIR...]   default: deploy/k8s/base, and the base with each
#                                                 component of deploy/k8s/components applied
#
# Each directory is rendered by kustomize's own library (what `kubectl apply -k` runs), then every
# object is decoded strictly into its Go API type: k8s.io/api for Kubernetes' kinds, KEDA's
# apis/keda/v1alpha1 for ScaledObject, ScaledJob and TriggerAuthentication, KubeRay's apis/ray/v1 for
# RayCluster, RayJob and RayService. A misspelt or unknown
# field, a value of the wrong type (a number where KEDA wants a string), a duplicate key or a kind
# without a known type fails. The checker is built once from the Go module proxy into
# ${TRIBUTARY_CACHE:-~/.cache/tributary}; no schema download is involved.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=stack.d/common.sh
source "$ROOT/scripts/stack.d/common.sh" # die, need_cmd, TRIBUTARY_CACHE
KEDA_VERSION=v2.20.2
KUBERAY_VERSION=v1.5.0
K8S_API_VERSION=v0.35.5
KUSTOMIZE_VERSION=v0.21.2
CHECKER_DIR="$TRIBUTARY_CACHE/k8s-check-keda-$KEDA_VERSION-kuberay-$KUBERAY_VERSION-api-$K8S_API_VERSION-kustomize-$KUSTOMIZE_VERSION"


build_checker() {
  [[ -x $CHECKER_DIR/k8s-check ]] && return 0
  # Go from PATH, else Debian's golang-go (GOTOOLCHAIN=auto fetches the release go.mod asks for).
  need_cmd go golang-go
  printf 'building the Kubernetes manifest checker (KEDA %s, KubeRay %s, k8s.io/api %s, kustomize %s), once\n' \
    "$KEDA_VERSION" "$KUBERAY_VERSION" "$K8S_API_VERSION" "$KUSTOMIZE_VERSION" >&2
  mkdir -p "$CHECKER_DIR"
  cat >"$CHECKER_DIR/go.mod" <<EOF
module tributary/k8s-check

go 1.26

require (
	github.com/kedacore/keda/v2 $KEDA_VERSION
	github.com/ray-project/kuberay/ray-operator $KUBERAY_VERSION
	k8s.io/api $K8S_API_VERSION
	sigs.k8s.io/kustomize/api $KUSTOMIZE_VERSION
	sigs.k8s.io/kustomize/kyaml $KUSTOMIZE_VERSION
	sigs.k8s.io/yaml v1.6.0
)

// The releases KEDA builds against: the pins of its own go.mod, which do not reach its users.
replace (
	github.com/google/cel-go => github.com/google/cel-go v0.26.0
	k8s.io/api => k8s.io/api $K8S_API_VERSION
	k8s.io/apiextensions-apiserver => k8s.io/apiextensions-apiserver $K8S_API_VERSION
	k8s.io/apimachinery => k8s.io/apimachinery $K8S_API_VERSION
	k8s.io/apiserver => k8s.io/apiserver $K8S_API_VERSION
	k8s.io/client-go => k8s.io/client-go $K8S_API_VERSION
	k8s.io/component-base => k8s.io/component-base $K8S_API_VERSION
	k8s.io/kube-openapi => k8s.io/kube-openapi v0.0.0-20250910181357-589584f1c912
	k8s.io/metrics => k8s.io/metrics $K8S_API_VERSION
	sigs.k8s.io/controller-runtime => sigs.k8s.io/controller-runtime v0.23.3
)
EOF
  cat >"$CHECKER_DIR/main.go" <<'EOF'
// Renders each kustomization (base, overlays) the way `kubectl apply -k` does and decodes every
// object strictly into its Go API type: Kubernetes' own (k8s.io/api), KEDA's and KubeRay's. An unknown or
// misspelt field, a wrong type, a duplicate key or a kind this checker does not know is an error.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	rayv1 "github.com/ray-project/kuberay/ray-operator/apis/ray/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var types = map[string]func() any{
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":                 func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                      func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                             func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                         func() any { return &batchv1.CronJob{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/Ingress":             func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"keda.sh/v1alpha1/ScaledObject":            func() any { return &kedav1alpha1.ScaledObject{} },
	"keda.sh/v1alpha1/ScaledJob":               func() any { return &kedav1alpha1.ScaledJob{} },
	"keda.sh/v1alpha1/TriggerAuthentication":   func() any { return &kedav1alpha1.TriggerAuthentication{} },
	"ray.io/v1/RayCluster":                     func() any { return &rayv1.RayCluster{} },
	"ray.io/v1/RayJob":                         func() any { return &rayv1.RayJob{} },
	"ray.io/v1/RayService":                     func() any { return &rayv1.RayService{} },
}

// decodeStrict decodes as the API server does: YAML to JSON without looking at the target type (a
// YAML number stays a number, so 10 where the type wants a string fails), then JSON refusing unknown
// fields; duplicate keys fail the conversion.
func decodeStrict(y []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func check(dir string) (map[string]int, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	counts := map[string]int{}
	var problems []string
	for _, r := range resources.Resources() {
		gvk := r.GetGvk()
		key := gvk.Kind
		if gvk.Group == "" {
			key = gvk.Version + "/" + key
		} else {
			key = gvk.Group + "/" + gvk.Version + "/" + key
		}
		name := fmt.Sprintf("%s %s", key, r.GetName())
		newObj, ok := types[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no API type known for %s", name, key))
			continue
		}
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		if err := decodeStrict(y, newObj()); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		counts[gvk.Kind]++
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n  "))
	}
	return counts, nil
}

func main() {
	failed := false
	for _, dir := range os.Args[1:] {
		counts, err := check(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: invalid:\n  %v\n", dir, err)
			failed = true
			continue
		}
		kinds := make([]string, 0, len(counts))
		total := 0
		for kind, n := range counts {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, kind))
			total += n
		}
		sort.Strings(kinds)
		fmt.Printf("%s: valid (%d objects: %s)\n", dir, total, strings.Join(kinds, ", "))
	}
	if failed {
		os.Exit(1)
	}
}
EOF
  if ! (cd "$CHECKER_DIR" && GOTOOLCHAIN=auto go mod tidy && GOTOOLCHAIN=auto go build -o k8s-check .) \
    >"$CHECKER_DIR/build.log" 2>&1; then
    tail -n 20 "$CHECKER_DIR/build.log" >&2
    die "could not build the Kubernetes manifest checker (log: $CHECKER_DIR/build.log)"
  fi
}

main() {
  local -a dirs=("$@")
  if [[ ${#dirs[@]} -eq 0 ]]; then
    dirs=("$ROOT/deploy/k8s/base")
    # Each component on top of the base, as an overlay applies it.
    overlays=$(mktemp -d)
    trap 'rm -rf "$overlays"' EXIT
    local component name
    for component in "$ROOT"/deploy/k8s/components/*/; do
      component=${component%/}
      name=${component##*/}
      mkdir -p "$overlays/$name"
      # kustomize takes relative paths only.
      printf 'resources: [%s]\ncomponents: [%s]\n' "$(realpath --relative-to="$overlays/$name" "$ROOT/deploy/k8s/base")" \
        "$(realpath --relative-to="$overlays/$name" "$component")" >"$overlays/$name/kustomization.yaml"
      dirs+=("$overlays/$name")
    done
  fi
  build_checker
  "$CHECKER_DIR/k8s-check" "${dirs[@]}"
}

main "$@"
