#!/usr/bin/env bash
# Installs the pinned helm CLI into <repo>/.tools/bin/helm (gitignored), building it with
# `go install` when it is missing or reports another version, and builds scripts/k8s-strict
# (strict decoding of manifests into the k8s.io/api types) into .tools/bin/k8s-strict.
# Idempotent: a second run with both up to date does nothing. test/deploy/helm-chart.test.ts
# lints and renders deploy/helm/sovr with them (and skips only when no helm is found).
#
# Code that needs helm resolves it as: $SOVR_HELM_BIN, else <repo>/.tools/bin/helm, else
# `helm` on PATH.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-3.22.0}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo/.tools/bin"
helm="$bin_dir/helm"

installed_version() {
  "$helm" version --template '{{.Version}}' 2>/dev/null | sed 's/^v//'
}

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "install-helm: helm $HELM_VERSION and k8s-strict are built with Go, and no Go toolchain is on PATH." >&2
    echo "  Install Go, or point SOVR_HELM_BIN at a helm $HELM_VERSION binary (k8s-strict still needs Go)." >&2
    exit 1
  fi
}

# k8s-strict: rebuilt when missing or older than its sources (go.mod pins k8s.io/client-go).
strict="$bin_dir/k8s-strict"
src="$repo/scripts/k8s-strict"
if [[ ! -x "$strict" || -n "$(find "$src" -newer "$strict" -type f)" ]]; then
  need_go
  mkdir -p "$bin_dir"
  echo "building k8s-strict into $bin_dir"
  (cd "$src" && go build -o "$strict" .)
fi

if [[ -n "${SOVR_HELM_BIN:-}" ]]; then
  if [[ -x "$SOVR_HELM_BIN" ]]; then exit 0; fi
  echo "install-helm: SOVR_HELM_BIN=$SOVR_HELM_BIN is not an executable file" >&2
  exit 1
fi

if [[ -x "$helm" && "$(installed_version)" == "$HELM_VERSION" ]]; then
  echo "helm $HELM_VERSION already installed at $helm"
  exit 0
fi

need_go
mkdir -p "$bin_dir"
echo "installing helm $HELM_VERSION into $bin_dir"
# -ldflags sets the version helm reports (a plain `go install` leaves it at its default).
GOBIN="$bin_dir" go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"

actual="$(installed_version)"
if [[ "$actual" != "$HELM_VERSION" ]]; then
  echo "install-helm: expected helm $HELM_VERSION, got '${actual:-nothing}'" >&2
  exit 1
fi
echo "helm $HELM_VERSION installed at $helm"
