#!/usr/bin/env bash
# Installs the pinned litewitness and witnessctl (filippo.io/torchwood, a tlog-witness that
# nobody here wrote) into <repo>/.tools/bin (gitignored), building them with `go install`
# when they are missing or report another module version. Idempotent: a second run with the
# right version installed does nothing.
#
# test/e2e/audit-litewitness.test.ts resolves them as $SOVR_LITEWITNESS_BIN /
# $SOVR_WITNESSCTL_BIN, else <repo>/.tools/bin/{litewitness,witnessctl}, else PATH; it also
# needs Debian's openssh-client (ssh-agent, ssh-keygen, ssh-add), since litewitness keeps its
# key in an ssh-agent.
set -euo pipefail

TORCHWOOD_VERSION="${TORCHWOOD_VERSION:-0.6.1}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo/.tools/bin"

if [[ -z "$(command -v go || true)" && -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi

# The module version Go embeds in the binary (a `go install`ed tool has no --version).
installed_version() {
  go version -m "$1" 2>/dev/null |
    awk '$1 == "mod" && $2 == "filippo.io/torchwood" { sub(/^v/, "", $3); print $3 }'
}

if [[ -n "${SOVR_LITEWITNESS_BIN:-}" ]]; then
  if [[ -x "$SOVR_LITEWITNESS_BIN" ]]; then exit 0; fi
  echo "install-litewitness: SOVR_LITEWITNESS_BIN=$SOVR_LITEWITNESS_BIN is not an executable file" >&2
  exit 1
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x "$bin_dir/litewitness" && -x "$bin_dir/witnessctl" ]]; then
    echo "litewitness found at $bin_dir (no Go toolchain on PATH to check that it is $TORCHWOOD_VERSION)"
    exit 0
  fi
  echo "install-litewitness: the witness interoperability test runs litewitness $TORCHWOOD_VERSION," >&2
  echo "  which is built with Go, and no Go toolchain is on PATH. Install Go, or point" >&2
  echo "  SOVR_LITEWITNESS_BIN and SOVR_WITNESSCTL_BIN at the binaries." >&2
  exit 1
fi

if [[ -x "$bin_dir/litewitness" && -x "$bin_dir/witnessctl" &&
  "$(installed_version "$bin_dir/litewitness")" == "$TORCHWOOD_VERSION" &&
  ("$(installed_version "$bin_dir/witnessctl")" == "$TORCHWOOD_VERSION" ||
  "$(cat "$bin_dir/witnessctl.version" 2>/dev/null)" == "$TORCHWOOD_VERSION") ]]; then
  echo "litewitness $TORCHWOOD_VERSION already installed at $bin_dir"
  exit 0
fi

mkdir -p "$bin_dir"
echo "installing litewitness and witnessctl $TORCHWOOD_VERSION into $bin_dir"
GOBIN="$bin_dir" go install "filippo.io/torchwood/cmd/litewitness@v$TORCHWOOD_VERSION"
rm -f "$bin_dir/witnessctl.version"
if ! GOBIN="$bin_dir" go install "filippo.io/torchwood/cmd/witnessctl@v$TORCHWOOD_VERSION"; then
  # witnessctl imports sigsum.org/sigsum-go for three things (the empty tree hash, SHA-256 and
  # the Ed25519 key size). Where that module cannot be fetched (a module proxy that does not
  # serve it), witnessctl is built from torchwood's own source at the same version with those
  # three taken from scripts/litewitness-sigsum-shim. The witness itself (litewitness) is
  # built untouched; witnessctl only writes rows into litewitness's database.
  echo "install-litewitness: sigsum.org/sigsum-go is unavailable; building witnessctl with the shim"
  src="$(go env GOMODCACHE)/filippo.io/torchwood@v$TORCHWOOD_VERSION"
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$src" "$work/torchwood"
  chmod -R u+w "$work/torchwood"
  (
    cd "$work/torchwood"
    go mod edit -replace "sigsum.org/sigsum-go=$repo/scripts/litewitness-sigsum-shim"
    GOFLAGS=-mod=mod go build -trimpath -o "$bin_dir/witnessctl" ./cmd/witnessctl
  )
  echo "$TORCHWOOD_VERSION" >"$bin_dir/witnessctl.version"
fi

for tool in litewitness witnessctl; do
  actual="$(installed_version "$bin_dir/$tool")"
  # The shim build is "(devel)" to Go; the version it was built from is kept beside it.
  if [[ "$actual" != "$TORCHWOOD_VERSION" && -f "$bin_dir/$tool.version" ]]; then
    actual="$(cat "$bin_dir/$tool.version")"
  fi
  if [[ "$actual" != "$TORCHWOOD_VERSION" ]]; then
    echo "install-litewitness: expected $tool $TORCHWOOD_VERSION, got '${actual:-nothing}'" >&2
    exit 1
  fi
done
echo "litewitness and witnessctl $TORCHWOOD_VERSION installed at $bin_dir"
