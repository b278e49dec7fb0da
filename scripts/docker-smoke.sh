#!/usr/bin/env bash
# Docker smoke test that works where Docker Hub is out of reach.
#
#  1. starts a Docker daemon if none answers (installing docker.io from Debian if needed);
#  2. uses BASE_IMAGE if given, else python:3.11-slim if it can be pulled, else builds a
#     local Debian base with debootstrap (with this machine's CA bundle, so pip works
#     behind a TLS-inspecting proxy);
#  3. builds the project image with --build-arg BASE_IMAGE=...;
#  4. inside containers: runs specs/fixture.yaml twice from scratch (generating the fixture
#     data), checks that the report exists and the two results are identical apart from
#     measurements; runs specs/paper.yaml with no data mounted and expects exit code 2 and
#     the -v hint.
# Prints the image size, the build time and both result fingerprints.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-cbis-bench:smoke}
LOCAL_BASE=${LOCAL_BASE:-cbis-bench-base:bookworm}
WORK=${WORK:-$(mktemp -d /tmp/cbis-docker-smoke.XXXXXX)}
log() { printf '\n== %s\n' "$*"; }

start_daemon() {
  if docker info >/dev/null 2>&1; then return; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  log "starting dockerd"
  (dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  echo "dockerd did not come up; see /tmp/dockerd.log" >&2
  exit 1
}

local_base() {
  if docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then return; fi
  command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  log "building local base image $LOCAL_BASE with debootstrap"
  local rootfs="$WORK/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$rootfs" -c . | docker import - "$LOCAL_BASE" >/dev/null
  rm -rf "$rootfs"
}

start_daemon
if [ -z "${BASE_IMAGE:-}" ]; then
  if timeout 60 docker pull -q python:3.11-slim >/dev/null 2>&1; then BASE_IMAGE=python:3.11-slim
  else local_base; BASE_IMAGE=$LOCAL_BASE; fi
fi

log "building $IMAGE on $BASE_IMAGE"
start=$(date +%s)
docker build --network host --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log"; exit 1; }
build_s=$(( $(date +%s) - start ))

run_fixture() {  # $1: output folder; a fresh container and a fresh home each time
  mkdir -p "$1" && chmod 0777 "$1"
  docker run --rm --network none -v "$1:/work/reports" "$IMAGE" run specs/fixture.yaml --device cpu
}
log "fixture run 1"
run_fixture "$WORK/reports1"
log "fixture run 2"
run_fixture "$WORK/reports2"

test -s "$WORK/reports1/fixture/report.md" || { echo "no report written" >&2; exit 1; }
python3 - "$WORK/reports1/fixture/results.json" "$WORK/reports2/fixture/results.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
strip = lambda rs: [{k: v for k, v in r.items() if k != "measurements"} for r in rs]
if strip(a) != strip(b):
    sys.exit("the two containerised fixture runs differ")
for r in a:
    print(f"  {r['label']}: accuracy {r['test']['accuracy']:.3f}, fingerprint {r['fingerprint']}, "
          f"weights {r['model']['weights_hash']}")
print("  identical results in both runs (apart from measurements)")
PY

log "paper spec with no data mounted"
set +e
out=$(docker run --rm --network none "$IMAGE" run specs/paper.yaml 2>&1); code=$?
set -e
echo "$out" | tail -3
[ "$code" = 2 ] && echo "$out" | grep -q -- "-v /path/to/CBIS-DDSM:/data" || { echo "expected exit 2 and the -v hint, got $code" >&2; exit 1; }

size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
log "docker smoke test passed"
echo "  image $IMAGE on $BASE_IMAGE: $(( size / 1024 / 1024 )) MiB, built in ${build_s} s"
echo "  build log: $WORK/build.log"
