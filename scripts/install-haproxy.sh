#!/usr/bin/env bash
# Makes HAProxy available for test/e2e/deploy-topology.test.ts, which runs deploy/haproxy.cfg
# (the compose file's load balancer) in front of two replicas: Debian's haproxy package when no
# haproxy is on PATH. Idempotent.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1; then
  haproxy -v | sed -n 1p
  exit 0
fi
echo "install-haproxy: installing HAProxy from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends haproxy >/dev/null
haproxy -v | sed -n 1p
