#!/usr/bin/env bash
# Installs the pinned opa CLI into <repo>/.tools/bin/opa (gitignored), building it with
# `go install` when it is missing or reports another version. Idempotent: a second run
# with the right version installed does nothing.
#
# Code that needs opa resolves it as: $SOVR_OPA_BIN, else <repo>/.tools/bin/opa, else
# `opa` on PATH (see src/policy/opa-bin.ts).
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-1.22.2}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo/.tools/bin"
opa="$bin_dir/opa"

installed_version() {
  "$opa" version 2>/dev/null | awk '/^Version:/ { print $2 }'
}

# `npm test` runs this first (pretest): an opa the caller chose is used as it is.
if [[ -n "${SOVR_OPA_BIN:-}" ]]; then
  if [[ -x "$SOVR_OPA_BIN" ]]; then exit 0; fi
  echo "install-opa: SOVR_OPA_BIN=$SOVR_OPA_BIN is not an executable file" >&2
  exit 1
fi

if [[ -x "$opa" && "$(installed_version)" == "$OPA_VERSION" ]]; then
  echo "opa $OPA_VERSION already installed at $opa"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-opa: the tests compile Rego with opa $OPA_VERSION, which is built with Go, and no" >&2
  echo "  Go toolchain is on PATH. Install Go (e.g. 'apt-get install golang'), or point SOVR_OPA_BIN" >&2
  echo "  at an opa $OPA_VERSION binary, then run 'npm test' again." >&2
  exit 1
fi

mkdir -p "$bin_dir"
echo "installing opa $OPA_VERSION into $bin_dir"
GOBIN="$bin_dir" go install "github.com/open-policy-agent/opa@v$OPA_VERSION"

actual="$(installed_version)"
if [[ "$actual" != "$OPA_VERSION" ]]; then
  echo "install-opa: expected opa $OPA_VERSION, got '${actual:-nothing}'" >&2
  exit 1
fi
echo "opa $OPA_VERSION installed at $opa"
