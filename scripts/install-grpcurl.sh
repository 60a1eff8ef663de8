#!/usr/bin/env bash
# Installs the pinned grpcurl CLI into <repo>/.tools/bin/grpcurl (gitignored), building it
# with `go install` when it is missing or reports another version. Idempotent: a second run
# with the right version installed does nothing.
#
# The README's and the guides' shell examples call grpcurl; test/docs-examples.test.ts runs
# them against a real server, resolving grpcurl as: $SOVR_GRPCURL_BIN, else
# <repo>/.tools/bin/grpcurl, else `grpcurl` on PATH.
set -euo pipefail

GRPCURL_VERSION="${GRPCURL_VERSION:-1.9.4}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo/.tools/bin"
grpcurl="$bin_dir/grpcurl"

# A `go install`ed grpcurl reports "dev build <no version set>" itself, so the version is
# read from the module information Go embeds in the binary.
installed_version() {
  go version -m "$grpcurl" 2>/dev/null |
    awk '$1 == "mod" && $2 == "github.com/fullstorydev/grpcurl" { sub(/^v/, "", $3); print $3 }'
}

# `npm test` runs this first (pretest): a grpcurl the caller chose is used as it is.
if [[ -n "${SOVR_GRPCURL_BIN:-}" ]]; then
  if [[ -x "$SOVR_GRPCURL_BIN" ]]; then exit 0; fi
  echo "install-grpcurl: SOVR_GRPCURL_BIN=$SOVR_GRPCURL_BIN is not an executable file" >&2
  exit 1
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x "$grpcurl" ]]; then
    echo "grpcurl found at $grpcurl (no Go toolchain on PATH to check that it is $GRPCURL_VERSION)"
    exit 0
  fi
  echo "install-grpcurl: the tests run the README's examples with grpcurl $GRPCURL_VERSION, which is" >&2
  echo "  built with Go, and no Go toolchain is on PATH. Install Go (e.g. 'apt-get install golang')," >&2
  echo "  or point SOVR_GRPCURL_BIN at a grpcurl $GRPCURL_VERSION binary, then run 'npm test' again." >&2
  exit 1
fi

if [[ -x "$grpcurl" && "$(installed_version)" == "$GRPCURL_VERSION" ]]; then
  echo "grpcurl $GRPCURL_VERSION already installed at $grpcurl"
  exit 0
fi

mkdir -p "$bin_dir"
echo "installing grpcurl $GRPCURL_VERSION into $bin_dir"
GOBIN="$bin_dir" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@v$GRPCURL_VERSION"

actual="$(installed_version)"
if [[ "$actual" != "$GRPCURL_VERSION" ]]; then
  echo "install-grpcurl: expected grpcurl $GRPCURL_VERSION, got '${actual:-nothing}'" >&2
  exit 1
fi
echo "grpcurl $GRPCURL_VERSION installed at $grpcurl"
