"""The report's "Whole mammogram" section: this harness's image-level numbers (AUC with
its interval, sensitivity at fixed specificity, localisation beside random maps), the
paired comparison of the two models on the same images, an ROC figure, a gallery of
whole images with heatmap and lesion outlines, and the published references, marked
cited, with what differs from them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.markdown_table import md_table
from benchmark.spec.schema import Spec, labels
from benchmark.whole.records import WholeResult

#: published image-level results on CBIS-DDSM (benign vs malignant), as printed
CITED = [
    {
        "model": "Shen et al. 2019, single all-convolutional models (cited)",
        "AUC": "0.83-0.86",
        "protocol": "their split, one view, 1152 x 896",
    },
    {
        "model": "Shen et al. 2019, with test-time flips (cited)",
        "AUC": "0.86-0.88",
        "protocol": "their split, one view, 1152 x 896",
    },
    {
        "model": "Shen et al. 2019, average of three models (cited)",
        "AUC": "0.91",
        "protocol": "their split, one view, 1152 x 896",
    },
    {"model": "GMIC, Shen et al. 2021 (cited)", "AUC": "0.858", "protocol": "their split and image size"},
    {
        "model": "Petrini et al. 2022, two views (cited)",
        "AUC": "0.848",
        "protocol": "official split, CC + MLO together",
    },
]


def _interval(auc: dict[str, Any]) -> str:
    if auc.get("estimate") is None:
        return "–"
    if auc.get("low") is None:
        return f"{auc['estimate']:.3f}"
    return f"{auc['estimate']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def results_table(results: Sequence[WholeResult], level: str) -> pd.DataFrame:
    rows = []
    for r in results:
        loc = r.localisation
        row: dict[str, Any] = {
            "patch run": r.patch_label,
            "model": r.description or r.model,
            f"AUC [{level}]": _interval(r.auc.model_dump()),
        }
        row |= {f"sens@spec {k}": _num(v) for k, v in r.sensitivity_at.items()}
        row |= {
            "pointing game": _num(loc.pointing_game),
            "pointing game, random": _num(loc.pointing_game_random),
            f"IoU@{loc.threshold}": _num(loc.iou),
            f"IoU@{loc.threshold}, random": _num(loc.iou_random),
            "test images": r.images,
            "s": f"{r.measurements.seconds:.1f}",
            "peak RSS MiB": r.measurements.memory.get("host_peak_rss_mib"),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def comparisons(results: Sequence[WholeResult], spec: Spec) -> pd.DataFrame:
    """For each patch run, each later model of the spec's list minus each earlier one
    (AUC, paired bootstrap), on the same test images."""
    from itertools import combinations

    from benchmark.whole.evaluate import paired

    assert spec.whole_image is not None
    by_run: dict[str, dict[str, WholeResult]] = {}
    for r in results:
        by_run.setdefault(r.patch_run, {})[r.model] = r
    rows = []
    for models in by_run.values():
        present = [m for m in labels(spec.whole_image.models) if m in models]
        for earlier, later in combinations(present, 2):
            a, b = models[later], models[earlier]
            if a.test.keys != b.test.keys:
                continue
            found = paired(
                np.asarray(a.test.labels),
                np.asarray(a.test.scores),
                np.asarray(b.test.scores),
                spec.report.bootstrap,
            )
            d = found["difference"]
            rows.append(
                {
                    "patch run": a.patch_label,
                    "A": later,
                    "B": earlier,
                    "AUC A - B [interval]": _interval(d),
                    "p": "–" if found["p_value"] is None else f"{found['p_value']:.3f}",
                }
            )
    return pd.DataFrame(rows)


def roc_figure(results: Sequence[WholeResult]) -> Any:
    from benchmark.report.figures.canvas import new_figure

    fig = new_figure(4.6, 4.2)
    ax = fig.subplots()
    for r in results:
        ax.plot(
            r.roc["fpr"],
            r.roc["tpr"],
            label=f"{r.model} · {r.backbone} / {r.strategy} (AUC {r.auc.estimate:.3f})",
        )
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="dotted", linewidth=1)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("Whole mammogram: benign vs malignant (test)", fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
    return fig


def gallery_figure(arrays: dict[str, np.ndarray], title: str) -> Any:
    from benchmark.report.figures.canvas import new_figure

    n = len(arrays["labels"])
    h, w = arrays["images"].shape[1:]
    panel = 2.2
    fig = new_figure(panel * n * w / h + 0.4, panel + 0.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.imshow(arrays["images"][i], cmap="gray", vmin=0, vmax=255)
        heat = arrays["maps"][i].astype(np.float32)  # scaled to its own maximum: a low-scoring map stays visible
        ax.imshow(heat, cmap="jet", alpha=0.4, vmin=0, vmax=max(float(heat.max()), 1e-6))
        if arrays["masks"][i].any():
            ax.contour(arrays["masks"][i], levels=[0.5], colors="lime", linewidths=1.0)
        ax.set_title(
            f"{'malignant' if arrays['labels'][i] else 'benign'} · score {arrays['scores'][i]:.2f}\n"
            f"map max {float(heat.max()):.2f}",
            fontsize=7,
        )
    fig.suptitle(title, fontsize=9)
    return fig


def audit_lines(audit: dict[str, Any] | None) -> list[str]:
    """What making the whole images counted: mammograms, merges, moves, drops."""
    if not audit:
        return []
    counts = audit.get("counts", {})
    shown = ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))
    return [f"Audit of the whole images: {shown}.", ""] if shown else []


def whole_section(
    spec: Spec,
    results: Sequence[WholeResult],
    galleries: dict[str, dict[str, np.ndarray]],
    out_dir: Path,
    figures: bool = True,
    audit: dict[str, Any] | None = None,
) -> list[str]:
    """The section's markdown lines; its figures are written under ``out_dir/figures/whole``."""
    if not results:
        return ["## Whole mammogram", "", "No whole-image result yet.", ""]

    level = f"{100 * spec.report.bootstrap.confidence:g}%"
    first = results[0]
    counts = first.counts
    size = first.image_size
    out = (
        [
            "## Whole mammogram",
            "",
            f"Benign vs malignant per mammogram (one breast, one view), test split: {counts['test']['benign']} benign, "
            f"{counts['test']['malignant']} malignant; images resized to {size[0]} x {size[1]}. A mammogram is "
            "malignant when any of its abnormalities is (BENIGN_WITHOUT_CALLBACK counts as benign); mass and "
            "calcification files of the same image are merged and kept on one side of the split "
            "(docs/whole-image.md). AUC with its "
            f"{level} stratified bootstrap interval ({spec.report.bootstrap.resamples} resamples); localisation: the "
            "model's map against all lesion masks of the image, on test images with a mask, beside uniform random "
            "maps.",
            "",
        ]
        + audit_lines(audit)
        + [md_table(results_table(results, level)), ""]
    )
    chance = [f"{r.model} on {r.backbone} / {r.strategy}" for r in results if r.auc.low is None or r.auc.low <= 0.5]
    if chance:
        out += [
            f"**Not distinguishable from chance** (the AUC's {level} interval reaches 0.5): {', '.join(chance)}.",
            "",
        ]
    table = comparisons(results, spec)
    if not table.empty:
        out += [
            "Paired comparison on the same test images (paired bootstrap of the AUC difference):",
            "",
            md_table(table),
            "",
        ]
    out += [
        "Published results (cited, not re-run; each used its own protocol):",
        "",
        md_table(pd.DataFrame(CITED)),
        "",
        "What differs: the cited single-view models trained on their own split of CBIS-DDSM at 1152 x 896 (Shen) "
        "or their own image size (GMIC); Petrini et al. read both views together on the official split. Here: the "
        f"official split with each mammogram on one side, one view at a time, {size[0]} x {size[1]} pixels, and "
        "the patch classifier this spec trained; on generated data the numbers say only that the pipeline works.",
        "",
    ]
    if figures:
        from benchmark.report.figures.canvas import save

        folder = out_dir / "figures" / "whole"
        save(roc_figure(results), folder / "roc.png")
        out += ["![Whole-mammogram ROC](figures/whole/roc.png)", ""]
        for r in results:
            arrays = galleries.get(r.id)
            if arrays is not None and len(arrays["labels"]):
                name = f"gallery-{r.model}-{r.patch_run}.png"
                title = (
                    f"{r.model}: {r.backbone} / {r.strategy}\n"
                    + "map (jet, scaled to each image's maximum), lesions (green)"
                )
                save(gallery_figure(arrays, title), folder / name)
                out += [f"![{r.model} gallery](figures/whole/{name})", ""]
    return out
