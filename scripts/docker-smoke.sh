#!/usr/bin/env bash
# Docker smoke test that works where Docker Hub is out of reach.
#
#  1. starts a Docker daemon if none answers (installing docker.io from Debian if needed);
#  2. uses BASE_IMAGE if given, else python:3.11-slim if it can be pulled, else builds a
#     local Debian base with debootstrap (with this machine's CA bundle, so pip works
#     behind a TLS-inspecting proxy);
#  3. builds the project image with --build-arg BASE_IMAGE=... (and the OCI label args;
#     NO_CACHE=1 for a cold build);
#  4. checks the image: user 1000:1000, the labels, no world-writable folder, weight caches
#     the user can write;
#  5. inside containers, with no network: runs specs/fixture.yaml with a named home volume
#     (as the README says) and again from scratch with a fresh home, checks that the report
#     exists and the two results are identical apart from measurements; runs it a third time
#     on the named volume and expects every run to be already done;
#  6. a reports folder owned by a host user (uid 4242 here, standing for $(id -u)) that uid
#     1000 cannot write: exit 2 at once with the --user hint; then with --user 4242:4242 (and a
#     home that user owns) the run works;
#  7. expects exit code 2 with the right hint from: specs/paper.yaml with no data mounted,
#     --device cuda with no GPU given, `weights fetch` without a network (the file list).
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
docker build --network host ${NO_CACHE:+--no-cache} --build-arg BASE_IMAGE="$BASE_IMAGE" \
  --build-arg VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg SOURCE="$(git remote get-url origin 2>/dev/null || true)" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log"; exit 1; }
build_s=$(( $(date +%s) - start ))
fail() { echo "FAILED: $*" >&2; exit 1; }
in_image() { docker run --rm --network none --entrypoint sh "$IMAGE" -c "$1"; }

log "the image: user, labels, permissions"
user=$(docker image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "1000:1000" ] || fail "image user is '$user', expected 1000:1000"
docker image inspect --format '{{range $k, $v := .Config.Labels}}{{println " " $k "=" $v}}{{end}}' "$IMAGE"
for label in title description licenses version revision; do
  docker image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$label\"}}" "$IMAGE" | grep -q . \
    || fail "label org.opencontainers.image.$label is empty"
done
writable=$(docker run --rm --network none --user 0 --entrypoint sh "$IMAGE" -c \
  'find / -xdev -type d -perm -0002 ! -perm -1000 2>/dev/null || true')  # as root: every folder is seen
[ -z "$writable" ] || fail "world-writable folders in the image: $writable"
in_image 'touch "$TORCH_HOME/.probe" "$HF_HOME/.probe" /work/.cbis-bench/.probe /work/reports/.probe' \
  || fail "uid 1000 cannot write its caches or work folders"
echo "  user 1000:1000, no world-writable folder, caches and work folders writable by the user"

HOME_VOLUME=cbis-smoke-home-$$
cleanup() { docker volume rm -f "$HOME_VOLUME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
host_dir() {  # $1: folder, $2: owner uid; a host folder as a user would have it (0755)
  mkdir -p "$1" && chown "$2:$2" "$1" && chmod 0755 "$1"
}

log "fixture run 1 (fresh container, named home volume -v $HOME_VOLUME:/work/.cbis-bench)"
host_dir "$WORK/reports1" 1000
docker run --rm --network none -v "$HOME_VOLUME:/work/.cbis-bench" -v "$WORK/reports1:/work/reports" \
  "$IMAGE" run specs/fixture.yaml --device cpu | tee "$WORK/run1.log"
grep -q "^device: cpu (" "$WORK/run1.log" || fail "no device line"
log "fixture run 2 (fresh container, fresh home)"
host_dir "$WORK/reports2" 1000; host_dir "$WORK/home2" 1000
docker run --rm --network none -v "$WORK/home2:/work/.cbis-bench" -v "$WORK/reports2:/work/reports" \
  "$IMAGE" run specs/fixture.yaml --device cpu

test -s "$WORK/reports1/fixture/report.md" || fail "no report written"
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

log "fixture run 3 (fresh container, the named home volume again)"
host_dir "$WORK/reports3" 1000
out=$(docker run --rm --network none -v "$HOME_VOLUME:/work/.cbis-bench" -v "$WORK/reports3:/work/reports" \
  "$IMAGE" run specs/fixture.yaml --device cpu 2>&1) || { echo "$out"; fail "run on the named volume failed"; }
echo "$out" | grep -E "already done|^report:"
echo "$out" | grep -q "are already done" || fail "the named volume did not keep the run store"

log "a reports folder the image's user cannot write (owned by uid 4242, a host user)"
host_dir "$WORK/host-reports" 4242
start=$(date +%s)
set +e
out=$(docker run --rm --network none -v "$WORK/host-reports:/work/reports" "$IMAGE" run specs/fixture.yaml 2>&1); code=$?
set -e
echo "$out" | tail -3
[ "$code" = 2 ] && echo "$out" | grep -q -- '--user $(id -u):$(id -g)' \
  || fail "expected exit 2 and the --user hint, got $code"
echo "  refused in $(( $(date +%s) - start )) s"
log "the same folder with --user 4242:4242 (and a home that user owns: run 2's store, copied)"
cp -a "$WORK/home2" "$WORK/host-home" && chown -R 4242:4242 "$WORK/host-home"
docker run --rm --network none --user 4242:4242 -v "$WORK/host-home:/work/.cbis-bench" \
  -v "$WORK/host-reports:/work/reports" "$IMAGE" run specs/fixture.yaml --device cpu 2>&1 | tail -2
[ "$(stat -c %u "$WORK/host-reports/fixture/report.md")" = 4242 ] || fail "no report written as uid 4242"
echo "  report written, owned by uid 4242"

expect_2() {  # $1: what, $2: text the output must hold, $3...: docker run arguments
  local what=$1 text=$2; shift 2
  log "$what"
  local start out code
  start=$(date +%s)
  set +e
  out=$(docker run --rm --network none "$@" 2>&1); code=$?
  set -e
  echo "$out" | tail -4
  [ "$code" = 2 ] && echo "$out" | grep -q -- "$text" || fail "expected exit 2 and '$text', got $code"
  echo "  exit 2 in $(( $(date +%s) - start )) s"
}
expect_2 "paper spec with no data mounted" "-v /path/to/CBIS-DDSM:/data" "$IMAGE" run specs/paper.yaml
expect_2 "--device cuda with no GPU given" "--gpus all" "$IMAGE" run specs/fixture.yaml --device cuda
expect_2 "weights fetch without a network" "resnet50-" "$IMAGE" weights fetch

size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
log "docker smoke test passed"
echo "  image $IMAGE on $BASE_IMAGE: $(( size / 1024 / 1024 )) MiB, built in ${build_s} s"
echo "  build log: $WORK/build.log"
