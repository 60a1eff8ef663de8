#!/usr/bin/env bash
# Installs the peer gateways the benchmark compares against, into a cache OUTSIDE the repo
# (nothing here touches package.json or node_modules of the project):
#   - Portkey's open-source gateway, @portkey-ai/gateway, from npm  → $CACHE/portkey
#     and the same with the documented workaround for its streaming bug → $CACHE/portkey-pinned
#   - the LiteLLM proxy, litellm[proxy], from PyPI, in a venv        → $CACHE/litellm
#   - @nullplatform/llm-gateway, an OpenAI-compatible gateway, npm    → $CACHE/nullplatform
#   - tried, recorded when they cannot run here: Bifrost (npm wrapper → $CACHE/bifrost,
#     Go module → $CACHE/bifrost-go)
# Idempotent; a failing install is recorded in $CACHE/<peer>/install.log and install.status
# and does not stop the other one (the bench reports it as that peer's result).
#
# Usage: bash bench/setup.sh            (versions: PORTKEY_VERSION, LITELLM_VERSION; default latest)
set -uo pipefail

CACHE="${SOVR_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sovr-bench}"
PORTKEY_VERSION="${PORTKEY_VERSION:-latest}"
LITELLM_VERSION="${LITELLM_VERSION:-}"
mkdir -p "$CACHE/portkey" "$CACHE/litellm"

install_portkey() {
  local dir="$CACHE/portkey"
  if [ -f "$dir/install.status" ] && grep -q '^ok' "$dir/install.status" && [ "$PORTKEY_VERSION" = latest ]; then
    echo "portkey: already installed ($(cat "$dir/install.status"))"; return 0
  fi
  echo "portkey: npm install @portkey-ai/gateway@$PORTKEY_VERSION into $dir"
  [ -f "$dir/package.json" ] || echo '{"name":"sovr-bench-portkey","private":true}' >"$dir/package.json"
  if npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@portkey-ai/gateway@$PORTKEY_VERSION" >"$dir/install.log" 2>&1; then
    local v
    v="$(node -p "require('$dir/node_modules/@portkey-ai/gateway/package.json').version" 2>/dev/null || echo '?')"
    echo "ok $v" >"$dir/install.status"
    echo "portkey: ok ($v)"
  else
    echo "failed: npm install (see $dir/install.log)" >"$dir/install.status"
    echo "portkey: FAILED (see $dir/install.log)"; tail -n 20 "$dir/install.log"
  fi
}

# Portkey-AI/gateway#1389: with @hono/node-server newer than 1.14.2 (what a stock install
# resolves to) streaming chat completions fail with "TypeError: immutable" in updateHeaders.
# The workaround given there: pin @hono/node-server to 1.14.2 (an npm override). The bench uses
# this copy only when the stock one fails its smoke test, and says so.
install_portkey_pinned() {
  local dir="$CACHE/portkey-pinned"
  mkdir -p "$dir"
  if [ -f "$dir/install.status" ] && grep -q '^ok' "$dir/install.status" && [ "$PORTKEY_VERSION" = latest ]; then
    echo "portkey-pinned: already installed ($(cat "$dir/install.status"))"; return 0
  fi
  echo "portkey-pinned: @portkey-ai/gateway@$PORTKEY_VERSION with @hono/node-server pinned to 1.14.2 into $dir"
  cat >"$dir/package.json" <<'JSON'
{"name":"sovr-bench-portkey-pinned","private":true,"overrides":{"@hono/node-server":"1.14.2"}}
JSON
  if npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@portkey-ai/gateway@$PORTKEY_VERSION" >"$dir/install.log" 2>&1; then
    local v h
    v="$(node -p "require('$dir/node_modules/@portkey-ai/gateway/package.json').version" 2>/dev/null || echo '?')"
    h="$(node -p "require('$dir/node_modules/@hono/node-server/package.json').version" 2>/dev/null || echo '?')"
    echo "ok $v (@hono/node-server $h)" >"$dir/install.status"
    echo "portkey-pinned: ok ($v, @hono/node-server $h)"
  else
    echo "failed: npm install (see $dir/install.log)" >"$dir/install.status"
    echo "portkey-pinned: FAILED (see $dir/install.log)"; tail -n 20 "$dir/install.log"
  fi
}

install_litellm() {
  local dir="$CACHE/litellm"
  if [ -f "$dir/install.status" ] && grep -q '^ok' "$dir/install.status" && [ -z "$LITELLM_VERSION" ]; then
    echo "litellm: already installed ($(cat "$dir/install.status"))"; return 0
  fi
  local spec="litellm[proxy]"
  [ -n "$LITELLM_VERSION" ] && spec="litellm[proxy]==$LITELLM_VERSION"
  echo "litellm: pip install '$spec' into $dir/venv"
  {
    [ -x "$dir/venv/bin/python" ] || python3 -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install --quiet --upgrade pip &&
      "$dir/venv/bin/python" -m pip install --quiet "$spec"
  } >"$dir/install.log" 2>&1
  if [ $? -eq 0 ] && [ -x "$dir/venv/bin/litellm" ]; then
    local v
    v="$("$dir/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || echo '?')"
    echo "ok $v" >"$dir/install.status"
    echo "litellm: ok ($v)"
  else
    echo "failed: pip install (see $dir/install.log)" >"$dir/install.status"
    echo "litellm: FAILED (see $dir/install.log)"; tail -n 20 "$dir/install.log"
  fi
}

# Does a stock LiteLLM proxy start as installed (no master key)? Recorded once, in
# $CACHE/litellm/stock-start.txt; the bench reports it next to the workaround it applies.
check_litellm_stock_start() {
  local dir="$CACHE/litellm"
  [ -x "$dir/venv/bin/litellm" ] || return 0
  [ -f "$dir/stock-start.txt" ] && { echo "litellm stock start: $(cat "$dir/stock-start.txt")"; return 0; }
  printf 'model_list:\n  - model_name: probe\n    litellm_params: {model: openai/probe, api_base: "http://127.0.0.1:9/v1", api_key: x}\n' >"$dir/probe.yaml"
  LITELLM_LOCAL_MODEL_COST_MAP=True timeout 120 "$dir/venv/bin/litellm" --config "$dir/probe.yaml" --host 127.0.0.1 --port 0 >"$dir/stock-start.log" 2>&1 &
  local pid=$! verdict="no verdict within 120 s"
  for _ in $(seq 1 120); do
    if grep -q "refused to start" "$dir/stock-start.log"; then
      verdict="refuses to start ($(grep -m1 -o 'refused to start:[^.]*' "$dir/stock-start.log" | sed 's/^refused to start: //'); UnsafeMasterKeyError)"; break
    fi
    if grep -q "Application startup complete" "$dir/stock-start.log"; then verdict="starts"; break; fi
    kill -0 "$pid" 2>/dev/null || { verdict="exited: $(tail -n 1 "$dir/stock-start.log")"; break; }
    sleep 1
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "$verdict" >"$dir/stock-start.txt"
  echo "litellm stock start: $verdict"
}

# @nullplatform/llm-gateway: an Express-based OpenAI/Anthropic-compatible gateway (npm). Its
# stock install fails (ETARGET: a dependency asks for @nullplatform/llm-gateway-sdk@^1.0.0,
# which the registry does not have); the bench installs it with that one dependency overridden
# to the published 2.x SDK its own package.json names, and says so.
install_nullplatform() {
  local dir="$CACHE/nullplatform" v="${NULLPLATFORM_VERSION:-2.0.11}"
  mkdir -p "$dir"
  if [ -f "$dir/install.status" ] && grep -q '^ok' "$dir/install.status"; then
    echo "nullplatform: already installed ($(cat "$dir/install.status"))"; return 0
  fi
  echo '{"name":"sovr-bench-nullplatform","private":true}' >"$dir/package.json"
  local stock
  if npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@nullplatform/llm-gateway@$v" >"$dir/install.log" 2>&1; then
    stock="stock install"
  else
    stock="stock install fails ($(grep -m1 -o 'No matching version found for [^ ]*' "$dir/install.log" || echo 'see install.log')); override @nullplatform/llm-gateway-sdk 2.0.2"
    echo '{"name":"sovr-bench-nullplatform","private":true,"overrides":{"@nullplatform/llm-gateway-sdk":"2.0.2"}}' >"$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@nullplatform/llm-gateway@$v" >>"$dir/install.log" 2>&1 || stock=""
  fi
  if [ -n "$stock" ] && [ -f "$dir/node_modules/@nullplatform/llm-gateway/dist/cli.js" ]; then
    echo "ok $v $stock" >"$dir/install.status"; echo "nullplatform: ok ($v, $stock)"
  else
    echo "failed: npm install (see $dir/install.log)" >"$dir/install.status"
    echo "nullplatform: FAILED (see $dir/install.log)"; tail -n 20 "$dir/install.log"
  fi
}

# Bifrost (maximhq): the npm package @maximhq/bifrost is a wrapper that downloads the gateway's
# binary from the vendor's site at first run, and the Go module proxy lists no version of
# github.com/maximhq/bifrost/transports. Both are tried once and the outcome recorded; neither
# can run on a machine that reaches only the package registries.
try_bifrost() {
  local dir="$CACHE/bifrost" gdir="$CACHE/bifrost-go"
  mkdir -p "$dir" "$gdir"
  if [ ! -f "$dir/install.status" ]; then
    echo '{"name":"sovr-bench-bifrost","private":true}' >"$dir/package.json"
    if npm install --prefix "$dir" --no-audit --no-fund --loglevel=error @maximhq/bifrost >"$dir/install.log" 2>&1 &&
      timeout 60 node "$dir/node_modules/@maximhq/bifrost/bin.js" --help >>"$dir/install.log" 2>&1; then
      echo "ok $(node -p "require('$dir/node_modules/@maximhq/bifrost/package.json').version")" >"$dir/install.status"
    else
      local why; why="$(grep -m1 -oE 'getaddrinfo [A-Z_]+ [a-z.]+|ENOTFOUND [a-z.]+|ECONNREFUSED|fetch failed' "$dir/install.log" || echo 'see install.log')"
      echo "failed: npm @maximhq/bifrost installs, but its bin.js downloads the gateway binary from downloads.getmaxim.ai at first run ($why): only the package registries are reachable here" >"$dir/install.status"
    fi
  fi
  echo "bifrost (npm): $(cat "$dir/install.status")"
  if [ ! -f "$gdir/install.status" ] && command -v go >/dev/null; then
    if GOBIN="$gdir/bin" GOFLAGS=-mod=mod timeout 300 go install github.com/maximhq/bifrost/transports/bifrost-http@latest >"$gdir/install.log" 2>&1; then
      echo "ok go install" >"$gdir/install.status"
    else
      echo "failed: go install github.com/maximhq/bifrost/transports/bifrost-http@latest — $(grep -m1 -oE '(no matching versions|not found|invalid version|unknown revision)[^:]*' "$gdir/install.log" || tail -n 1 "$gdir/install.log")" >"$gdir/install.status"
    fi
  fi
  [ -f "$gdir/install.status" ] && echo "bifrost (go): $(cat "$gdir/install.status")"
}

install_portkey
install_portkey_pinned
install_litellm
check_litellm_stock_start
install_nullplatform
try_bifrost
echo "cache: $CACHE"
