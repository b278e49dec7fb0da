# cbis-bench: run a spec deterministically, on the GPU when given one.
#
#   docker build -t cbis-bench .
#   docker run --gpus all -v /path/to/CBIS-DDSM:/data -v $PWD/reports:/work/reports \
#       cbis-bench run specs/paper.yaml
#
# Build arguments:
#   BASE_IMAGE     any image with Python >= 3.11 and venv (default: the public slim image;
#                  scripts/docker-smoke.sh builds a local Debian one where Docker Hub is
#                  out of reach)
#   TORCH          the PyTorch wheels (CUDA builds from PyPI carry their own CUDA libraries)
#   BAKE_WEIGHTS=1 download the study's four backbones' ImageNet weights at build time, so
#                  runs need no network; files placed in ./weights/ of the build context
#                  are baked in as well (for builds without internet)
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH="torch==2.14.1 torchvision==0.29.1"
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
    MPLBACKEND=Agg

# The heavy layer first, so code changes do not reinstall PyTorch.
RUN set -eu; \
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi; \
    python3 -m venv /opt/venv; \
    pip install --quiet ${TORCH}

COPY pyproject.toml README.md /src/
COPY benchmark /src/benchmark
COPY plugins /src/plugins
RUN set -eu; \
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi; \
    pip install --quiet "/src[${EXTRAS}]"; \
    cbis-bench --version

# Pretrained weights: files from ./weights/ of the build context, and optionally a download.
COPY pyproject.toml weights* /tmp/context-weights/
RUN set -eu; \
    mkdir -p "$CBIS_BENCH_WEIGHTS_DIR" "$TORCH_HOME" "$HF_HOME"; \
    find /tmp/context-weights -type f \( -name '*.pth' -o -name '*.safetensors' -o -name '*.bin' \) \
        -exec cp {} "$CBIS_BENCH_WEIGHTS_DIR"/ \; ; \
    rm -rf /tmp/context-weights; \
    if [ "$BAKE_WEIGHTS" = "1" ]; then cbis-bench weights fetch; fi; \
    chmod -R a+rX /opt/cbis-bench

RUN useradd --create-home --uid 1000 cbis && mkdir -p /work/reports /data && chown -R cbis:cbis /work && chmod 0777 /work /work/reports
COPY --chown=cbis:cbis specs /work/specs
WORKDIR /work
USER cbis
VOLUME ["/data"]

ENTRYPOINT ["cbis-bench"]
CMD ["--help"]
