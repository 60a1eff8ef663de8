#!/usr/bin/env bash
# Installs Microsoft Presidio's analyzer (pinned) into <repo>/.tools/presidio-venv (gitignored)
# for `npm run bench:detect`, which compares our detectors (src/detect) with Presidio's pattern
# recognizers on the same corpus. No model is downloaded: bench/detect/presidio_spans.py builds a
# blank spaCy pipeline (`spacy.blank("en")`) and saves it under .tools/presidio-venv/blank-en.
# Idempotent: exits at once when the pinned version is already installed.
set -euo pipefail

PRESIDIO_VERSION="${PRESIDIO_VERSION:-2.2.366}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.tools/presidio-venv"

shopt -s nullglob
installed=("$venv"/lib/python3*/site-packages/presidio_analyzer-"$PRESIDIO_VERSION".dist-info)
shopt -u nullglob
if [[ -x "$venv/bin/python" && ${#installed[@]} -gt 0 ]]; then
  echo "presidio-analyzer $PRESIDIO_VERSION already installed in $venv"
  exit 0
fi

python=""
for candidate in python3.11 python3.12 python3; do
  if command -v "$candidate" >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
if [[ -z "$python" ]]; then
  echo "install-presidio: the detector benchmark runs Presidio, and no python3 is on PATH." >&2
  exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "installing presidio-analyzer==$PRESIDIO_VERSION into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  "presidio-analyzer==$PRESIDIO_VERSION"
"$venv/bin/python" -c 'import presidio_analyzer, spacy; print("presidio-analyzer", presidio_analyzer.__version__ if hasattr(presidio_analyzer, "__version__") else "", "spacy", spacy.__version__)'
