#!/usr/bin/env bash
# Builds the sovr image OFFLINE, from what is on this machine, where deploy/Dockerfile cannot be
# built (its base images come from a registry). The layout is deploy/Dockerfile's runtime stage:
#
#   /usr/local/bin/node   this machine's node, with the shared libraries it links (ldd)
#   /usr/local/bin/opa    .tools/bin/opa (scripts/install-opa.sh), with its libraries
#   /app                  package.json, dist/ (npm run build), the production node_modules
#                         (`npm ls --omit=dev`, llama.cpp's CUDA/Vulkan builds left out),
#                         policies/, catalog/, deploy/image/*.mjs
#   /data                 the only writable path (uid 10001, mode 0700); /etc/passwd names sovr
#
# Steps (each can be skipped):
#   1. assemble the root filesystem in $SOVR_IMAGE_DIR/rootfs (default .tools/image)
#   2. --check: run it the way a container would, without a container runtime: in a private
#      mount namespace, chroot into the rootfs mounted READ-ONLY, /data the only writable
#      mount, as uid 10001 (as root) or as the namespace's root (`unshare -r`, otherwise); then
#      GET /readyz, one chat completion through the HTTP API, the HEALTHCHECK script, and
#      SIGTERM → drained, "stopped", exit 0.
#   3. --podman: `podman build --format docker` of a FROM scratch image that COPYs the rootfs
#      (podman cannot run it here: crun fails with "setrlimit RLIMIT_NOFILE: Operation not
#      permitted"; docs/deployment.md).
#
# Usage: scripts/build-image.sh [--check] [--podman] [--tag sovr:local]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${SOVR_IMAGE_DIR:-$repo/.tools/image}"
rootfs="$work/rootfs"
tag="sovr:local"
check=false
podman=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check=true ;;
    --podman) podman=true ;;
    --tag) tag="$2"; shift ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf 'build-image: %s\n' "$*" >&2; }

# ---- 1. assemble ----
cd "$repo"
opa="${SOVR_OPA_BIN:-$repo/.tools/bin/opa}"
[[ -x "$opa" ]] || { log "no opa at $opa: run scripts/install-opa.sh"; exit 1; }
node_bin="$(readlink -f "$(command -v node)")"

log "npm run build"
npm run --silent build >/dev/null

rm -rf "$rootfs"
mkdir -p "$rootfs"/{usr/local/bin,app,data,tmp,proc,dev,etc}
chmod 1777 "$rootfs/tmp"

# An executable and every library it links, at the same paths (the loader included).
copy_with_libs() {
  local bin="$1" dest="$2"
  cp "$bin" "$rootfs$dest"
  ldd "$bin" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}
copy_with_libs "$node_bin" /usr/local/bin/node
copy_with_libs "$opa" /usr/local/bin/opa

log "copying the app and its production dependencies"
cp package.json "$rootfs/app/"
cp -r dist policies catalog "$rootfs/app/"
find "$rootfs/app/dist" -name "*.map" -delete
mkdir -p "$rootfs/app/deploy"
cp -r deploy/image "$rootfs/app/deploy/"
# Only the packages `npm ls --omit=dev` lists (a package's own nested node_modules come with it).
npm ls --omit=dev --all --parseable 2>/dev/null | grep "^$repo/node_modules/" | while read -r dir; do
  rel="${dir#"$repo"/}"
  [[ -e "$rootfs/app/$rel" ]] && continue
  mkdir -p "$rootfs/app/$(dirname "$rel")"
  cp -r "$dir" "$rootfs/app/$rel"
done
rm -rf "$rootfs/app/node_modules/@node-llama-cpp/"{linux-x64-cuda,linux-x64-cuda-ext,linux-x64-vulkan,linux-arm64,linux-armv7l}
# llama.cpp's CPU build links libraries node does not (libgomp, …): copy those too.
find "$rootfs/app/node_modules" -name '*.node' -print0 | while IFS= read -r -d '' addon; do
  ldd "$addon" 2>/dev/null | awk '/=> \// { print $3 }' | while read -r lib; do
    [[ -e "$rootfs$lib" ]] && continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
done

printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nsovr:x:10001:10001:sovr:/data:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nsovr:x:10001:\n' >"$rootfs/etc/group"
chown 10001:10001 "$rootfs/data" 2>/dev/null || true
chmod 0700 "$rootfs/data"
log "rootfs at $rootfs: $(du -sh "$rootfs" | cut -f1) ($("$rootfs/usr/local/bin/node" --version), opa $("$opa" version | awk '/^Version:/ {print $2}'))"

# ---- 2. check ----
if $check; then
  data="$(mktemp -d)"
  out="$work/check.log"
  trap 'rm -rf "$data"' EXIT
  http_port="${SOVR_CHECK_HTTP_PORT:-18080}"
  grpc_port="${SOVR_CHECK_GRPC_PORT:-15051}"
  env_vars=(
    PATH=/usr/local/bin HOME=/data NODE_ENV=production SOVR_HOST=127.0.0.1
    SOVR_HTTP_PORT="$http_port" SOVR_GRPC_PORT="$grpc_port" SOVR_DATA_DIR=/data
    SOVR_CATALOG_DIR=/app/catalog SOVR_POLICY_BUNDLE=/app/policies/dist/bundle.tar.gz
    SOVR_SIMULATOR=on SOVR_SIMULATOR_PORT="${SOVR_CHECK_SIM_PORT:-18089}" SOVR_LOG_LEVEL=info
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768
  )
  if [[ "$(id -u)" == 0 ]]; then
    chown 10001:10001 "$data"
    ns=(unshare --mount --propagation private)
    user=(--userspec=10001:10001)
  else
    ns=(unshare --map-root-user --mount --propagation private)
    user=()
  fi
  chmod 0700 "$data"
  # The rootfs bound onto itself and remounted read-only; /data, /proc and /dev bound on top.
  "${ns[@]}" sh -c '
    set -e
    r="$1"; d="$2"; shift 2
    mount --bind "$r" "$r"
    mount -o remount,bind,ro "$r"
    mount --bind "$d" "$r/data"
    mount --rbind /proc "$r/proc"
    mount --rbind /dev "$r/dev"
    exec "$@"
  ' sh "$rootfs" "$data" env -i "${env_vars[@]}" "$(command -v chroot)" "${user[@]}" "$rootfs" \
    /usr/local/bin/node /app/dist/cli/main.js serve >"$out" 2>&1 &
  pid=$!
  # Whatever fails below, the server does not outlive the script.
  trap 'kill -KILL "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
  for _ in $(seq 1 300); do
    grep -q '"sovr serving"' "$out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; log "check: the server exited"; exit 1; }
    sleep 0.1
  done
  grep -q '"sovr serving"' "$out" || { cat "$out" >&2; log "check: not serving after 30 s"; exit 1; }
  key="$(sed -n 's/.*export SOVR_KEY=\(\S*\).*/\1/p' "$out" | head -n 1)"
  ready="$(curl -fsS "http://127.0.0.1:$http_port/readyz")"
  log "check: /readyz → ${ready//$'\n'/ }"
  curl -fsS "http://127.0.0.1:$http_port/v1/chat/completions" -H "authorization: Bearer $key" \
    -H 'content-type: application/json' \
    -d '{"model":"sim/chat-small","messages":[{"role":"user","content":"hello from the image"}]}' \
    | grep -q '"chat.completion"'
  log "check: POST /v1/chat/completions → a chat.completion"
  if [[ "$(id -u)" == 0 ]]; then
    env -i SOVR_HTTP_PORT="$http_port" "$(command -v chroot)" --userspec=10001:10001 "$rootfs" \
      /usr/local/bin/node /app/deploy/image/healthcheck.mjs
    log "check: HEALTHCHECK script → exit 0"
  fi
  kill -TERM "$pid"
  code=0
  wait "$pid" || code=$?
  grep -q '"msg":"stopped"' "$out" || { cat "$out" >&2; log "check: no 'stopped' line after SIGTERM"; exit 1; }
  [[ "$code" == 0 ]] || { cat "$out" >&2; log "check: exit $code after SIGTERM"; exit 1; }
  log "check: SIGTERM → drained, stopped, exit 0 (read-only root; wrote only: $(cd "$data" && find . -mindepth 1 -maxdepth 1 | tr '\n' ' '))"
fi

# ---- 3. podman build ----
if $podman; then
  cat >"$work/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin NODE_ENV=production SOVR_HOST=0.0.0.0 SOVR_GRPC_PORT=50051 \
    SOVR_HTTP_PORT=8080 SOVR_DATA_DIR=/data SOVR_SIMULATOR=off \
    SOVR_CATALOG_DIR=/app/catalog SOVR_POLICY_BUNDLE=/app/policies/dist/bundle.tar.gz \
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768
USER 10001:10001
WORKDIR /app
VOLUME ["/data"]
EXPOSE 50051 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/node", "/app/deploy/image/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=8", "--no-memory-reducer", "/app/dist/cli/main.js"]
CMD ["serve"]
CONTAINERFILE
  log "podman build -t $tag"
  podman build --format docker -t "$tag" -f "$work/Containerfile" "$work" >&2
  podman image inspect "$tag" --format 'image {{.Id}}: {{.Size}} bytes, user {{.Config.User}}, healthcheck {{.Config.Healthcheck.Test}}, entrypoint {{.Config.Entrypoint}}' >&2
fi
