#!/usr/bin/env bash
# One call on a GPU machine: the checks no CPU can make. Writes one JSON of figures.
#
#  1. the paper rehearsal (specs/paper-rehearsal.yaml) on CUDA, twice from the same
#     prepared patches into two fresh run stores: the runs' prediction fingerprints and
#     weight hashes must be identical (the image promises determinism on GPUs);
#  2. cbis-bench bench train for ResNet50 and VGG19 (bf16 + channels_last, deterministic):
#     the harness's images/s against raw PyTorch on the same model, same process;
#  3. cbis-bench bench explain: pytorch-grad-cam's Grad-CAM against the batched one.
#
# Usage: scripts/gpu-check.sh [OUT_DIR]   (default: ./gpu-check; the JSON is OUT_DIR/gpu-check.json)
# Needs: a CUDA device, the project installed (make install, or the Docker image).
# Exit code: 0 when every step ran and the two rehearsal runs agree, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-gpu-check}
BIN=${BIN:-$( [ -x .venv/bin/cbis-bench ] && echo .venv/bin/ || echo "" )}
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
mkdir -p "$OUT"
export CUBLAS_WORKSPACE_CONFIG=:4096:8 PYTHONHASHSEED=0
log() { printf '\n== %s\n' "$*" >&2; }

"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device is visible")'

log "rehearsal on CUDA, run 1"
start=$(date +%s)
"${BIN}cbis-bench" run specs/paper-rehearsal.yaml --device cuda --home "$OUT/home1" --reports "$OUT/reports1"
run1_s=$(( $(date +%s) - start ))
log "rehearsal on CUDA, run 2 (same patches, fresh run store)"
mkdir -p "$OUT/home2" && cp -r "$OUT/home1/cache" "$OUT/home2/cache"
start=$(date +%s)
"${BIN}cbis-bench" run specs/paper-rehearsal.yaml --device cuda --home "$OUT/home2" --reports "$OUT/reports2"
run2_s=$(( $(date +%s) - start ))

log "bench train: resnet50, vgg19"
"${BIN}cbis-bench" bench train --backbone resnet50 --batch 64 --size 224 --device cuda --json "$OUT/train-resnet50.json"
"${BIN}cbis-bench" bench train --backbone vgg19 --batch 64 --size 224 --device cuda --json "$OUT/train-vgg19.json"
log "bench explain: resnet50"
"${BIN}cbis-bench" bench explain --backbone resnet50 --batch 64 --size 224 --device cuda --json "$OUT/explain-resnet50.json"

"$PY" - "$OUT" "$run1_s" "$run2_s" <<'PY'
import json, sys
from pathlib import Path

import torch

out, run1_s, run2_s = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
a = json.loads((out / "reports1/paper-rehearsal/results.json").read_text())
b = json.loads((out / "reports2/paper-rehearsal/results.json").read_text())
key = lambda rs: {r["label"]: (r["fingerprint"], r["model"]["weights_hash"]) for r in rs}  # noqa: E731
same = key(a) == key(b)
figures = {
    "device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
    "rehearsal": {"runs": len(a), "seconds": [run1_s, run2_s], "identical_fingerprints": same,
                  "per_run": {r["label"]: {"fingerprint": r["fingerprint"], "weights_hash": r["model"]["weights_hash"],
                                           "seconds": r["measurements"]["seconds"], "memory": r["measurements"]["memory"]}
                              for r in a},
                  "differing": sorted(k for k in key(a) if key(a)[k] != key(b).get(k))},
    "bench_train": {name: json.loads((out / f"train-{name}.json").read_text()) for name in ("resnet50", "vgg19")},
    "bench_explain": json.loads((out / "explain-resnet50.json").read_text()),
}
(out / "gpu-check.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
print(json.dumps({"identical_fingerprints": same, "rehearsal_seconds": [run1_s, run2_s],
                  "train_ratio": {k: v.get("ratio") for k, v in figures["bench_train"].items()},
                  "explain": {k: v for k, v in figures["bench_explain"].items() if not isinstance(v, (list, dict))}}, indent=1))
sys.exit(0 if same else 1)
PY
