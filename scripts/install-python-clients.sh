#!/usr/bin/env bash
# Installs the Python clients the tests drive the router with (the `openai` package, pinned)
# into a virtualenv at <repo>/.tools/venv (gitignored), with pip from PyPI. Idempotent: when
# the venv already holds that version, it exits without starting Python or pip, so a warm
# `npm test` (pretest) pays nothing.
#
# test/e2e/python-openai.test.ts runs test/fixtures/python/*.py with .tools/venv/bin/python;
# it fails under CI=true when the venv is missing and skips locally, naming this script.
set -euo pipefail

OPENAI_PY_VERSION="${OPENAI_PY_VERSION:-3.57.0}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.tools/venv"

# The installed version's metadata directory, found without running anything.
shopt -s nullglob
installed=("$venv"/lib/python3*/site-packages/openai-"$OPENAI_PY_VERSION".dist-info)
shopt -u nullglob
if [[ -x "$venv/bin/python" && ${#installed[@]} -gt 0 ]]; then
  echo "python openai $OPENAI_PY_VERSION already installed in $venv"
  exit 0
fi

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
if [[ -z "$python" ]]; then
  echo "install-python-clients: the tests run the Python openai SDK, and no python3 is on PATH." >&2
  echo "  Install Python 3.9 or later (e.g. 'apt-get install python3 python3-venv'), then run this again." >&2
  exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "installing openai==$OPENAI_PY_VERSION into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "openai==$OPENAI_PY_VERSION"

actual="$("$venv/bin/python" -c 'import openai; print(openai.__version__)')"
if [[ "$actual" != "$OPENAI_PY_VERSION" ]]; then
  echo "install-python-clients: expected openai $OPENAI_PY_VERSION, got '${actual:-nothing}'" >&2
  exit 1
fi
echo "python openai $OPENAI_PY_VERSION installed in $venv"
