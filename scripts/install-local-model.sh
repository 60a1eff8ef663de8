#!/usr/bin/env bash
# Pulls SmolLM2-135M-Instruct (the real model the local-inference tests and the bench use) into
# a cache outside the checkout (SOVR_TEST_MODEL_DIR, default ~/.cache/sovr/models), so CI's
# fresh clones reuse it: `sovr models pull` skips the download when the file with the pinned
# sha256 is there. test/support/local-model.ts reads the same directory.
set -euo pipefail
cd "$(dirname "$0")/.."
node bin/sovr.js models pull smollm2 --dir "${SOVR_TEST_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sovr/models}"
