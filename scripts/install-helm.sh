#!/usr/bin/env bash
# Installs the pinned helm CLI into <repo>/.tools/bin/helm (gitignored), building it with
# `go install` when it is missing or reports another version. Idempotent: a second run
# with the right version installed does nothing. test/deploy/helm-chart.test.ts lints and
# renders deploy/helm/sovr with it (and skips only when no helm is found).
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

if [[ -n "${SOVR_HELM_BIN:-}" ]]; then
  if [[ -x "$SOVR_HELM_BIN" ]]; then exit 0; fi
  echo "install-helm: SOVR_HELM_BIN=$SOVR_HELM_BIN is not an executable file" >&2
  exit 1
fi

if [[ -x "$helm" && "$(installed_version)" == "$HELM_VERSION" ]]; then
  echo "helm $HELM_VERSION already installed at $helm"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: helm $HELM_VERSION is built with Go, and no Go toolchain is on PATH." >&2
  echo "  Install Go, or point SOVR_HELM_BIN at a helm $HELM_VERSION binary." >&2
  exit 1
fi

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
