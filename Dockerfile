# cbis-bench: run a spec deterministically, on the GPU when given one.
#
#   docker build -t cbis-bench .
#   docker run --gpus all -v /path/to/CBIS-DDSM:/data -v $PWD/reports:/work/reports \
#       --user $(id -u):$(id -g) cbis-bench run specs/paper.yaml
#
# Build arguments:
#   BASE_IMAGE     any image with Python 3.11 and venv (default: the public slim image;
#                  scripts/docker-smoke.sh builds a local Debian one where Docker Hub is
#                  out of reach)
#   TORCH_CUDA     which PyTorch CUDA build: empty (default) = the PyPI wheels, CUDA 13.0 for
#                  torch 2.14.1; cu126, cu128, cu130 or cpu = the wheels of
#                  https://download.pytorch.org/whl/<TORCH_CUDA> (README: minimum driver of each)
#   BAKE_WEIGHTS=1 download the study's four backbones' ImageNet weights at build time, so
#                  runs need no network; files placed in ./weights/ of the build context
#                  are baked in as well (for builds without internet)
#   VERSION, REVISION, SOURCE   the OCI labels' version, commit and source URL
#
# Every Python package comes pinned from requirements/constraints.txt (the lock `make
# install` and CI use), installed before the source is copied: a code change rebuilds
# only the last layers.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_CUDA=
ARG BAKE_WEIGHTS=0
ARG EXTRAS=ray

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONHASHSEED=0 \
    CUBLAS_WORKSPACE_CONFIG=:4096:8 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    TORCH_HOME=/opt/cbis-bench/torch \
    HF_HOME=/opt/cbis-bench/hf \
    CBIS_BENCH_WEIGHTS_DIR=/opt/cbis-bench/weights \
    CBIS_BENCH_IN_DOCKER=1 \
    CBIS_DDSM_ROOT=/data \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib

# 1. PyTorch, the heaviest layer. A TORCH_CUDA build takes torch and torchvision from
#    PyTorch's index; their CUDA libraries (nvidia-*, cuda-*, triton) are then the ones that
#    wheel pins exactly, so the lock's CUDA 13 pins of those are left out.
COPY requirements/constraints.txt /opt/cbis-bench/constraints.lock
RUN set -eu; \
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi; \
    lock=/opt/cbis-bench/constraints.lock; used=/opt/cbis-bench/constraints.txt; \
    case "$TORCH_CUDA" in \
      "") cp "$lock" "$used"; index="" ;; \
      cu126|cu128|cu130|cpu) grep -v -E '^(nvidia-|cuda-|triton==)' "$lock" > "$used"; \
         index="--index-url https://download.pytorch.org/whl/$TORCH_CUDA --extra-index-url https://pypi.org/simple" ;; \
      *) echo "TORCH_CUDA=$TORCH_CUDA: expected empty (PyPI), cu126, cu128, cu130 or cpu" >&2; exit 2 ;; \
    esac; \
    python3 -m venv /opt/venv; \
    pip install --quiet -c "$used" $index torch torchvision; \
    python -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"

# 2. The other pinned dependencies: pyproject.toml's list (and EXTRAS), versions from the lock.
COPY pyproject.toml /src/pyproject.toml
RUN set -eu; \
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi; \
    python -c "import tomllib, sys; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; \
extras = [e for e in sys.argv[1].split(',') if e]; \
print('\n'.join(['setuptools', *p['dependencies'], *(d for e in extras for d in p['optional-dependencies'][e])]))" \
        "$EXTRAS" > /tmp/requirements.txt; \
    pip install --quiet -c /opt/cbis-bench/constraints.txt -r /tmp/requirements.txt; \
    rm /tmp/requirements.txt

# 3. The source, without dependency resolution (everything is in place).
COPY README.md /src/
COPY benchmark /src/benchmark
COPY plugins /src/plugins
RUN set -eu; \
    pip install --quiet --no-deps --no-build-isolation /src; \
    pip check; \
    cbis-bench --version

# Pretrained weights: files from ./weights/ of the build context, and optionally a download.
# The caches belong to the image's user, so `cbis-bench weights fetch` works at run time.
COPY pyproject.toml weights* /tmp/context-weights/
RUN set -eu; \
    mkdir -p "$CBIS_BENCH_WEIGHTS_DIR" "$TORCH_HOME" "$HF_HOME"; \
    find /tmp/context-weights -type f \( -name '*.pth' -o -name '*.safetensors' -o -name '*.bin' \) \
        -exec cp {} "$CBIS_BENCH_WEIGHTS_DIR"/ \; ; \
    rm -rf /tmp/context-weights; \
    if [ "$BAKE_WEIGHTS" = "1" ]; then cbis-bench weights fetch; fi; \
    chmod -R a+rX,go-w /opt/cbis-bench; \
    chown -R 1000:1000 "$TORCH_HOME" "$HF_HOME"

# The user (uid/gid 1000) owns its work folders; nothing is world-writable. /work/.cbis-bench
# exists so that a new named volume mounted there (-v cbis-home:/work/.cbis-bench) starts
# owned by uid 1000, as Docker copies the folder's owner into an empty volume.
RUN set -eu; \
    groupadd --gid 1000 cbis; \
    useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin cbis; \
    mkdir -p /work/reports /work/.cbis-bench /data; \
    chown 1000:1000 /work /work/reports /work/.cbis-bench; \
    chmod 0755 /work /work/reports /work/.cbis-bench /data
COPY specs /work/specs
WORKDIR /work
USER 1000:1000
VOLUME ["/data"]

# Last, so a new commit changes only the labels, not the cached layers above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="cbis-bench" \
      org.opencontainers.image.description="Benchmark harness for transfer-learned mammogram patch classifiers on CBIS-DDSM: accuracy, AUC and Grad-CAM lesion localisation." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"

ENTRYPOINT ["cbis-bench"]
CMD ["--help"]
