#!/usr/bin/env bash
# Makes Debian's chromium available for the web console's browser tests (test/e2e/console*.test.ts,
# driven by playwright-core with executablePath; no browser download). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  /usr/bin/chromium --version 2>/dev/null | tail -n 1
  exit 0
fi
echo "install-chromium: installing chromium from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version 2>/dev/null | tail -n 1
