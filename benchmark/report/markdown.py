"""Write ``reports/<spec>/report.md`` (with ``results.csv``, ``results.json``,
``statistics.json`` and ``figures/``) from the stored results of a spec, never by
retraining. Writes go to temporary files renamed into place."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.data.audit import Audit
from benchmark.evaluation.records import Agreement
from benchmark.files import atomic_write_json, atomic_write_text
from benchmark.report import significance_tables, tables
from benchmark.report.ablation_section import AXIS_TITLES, ablation_axes, table_axis
from benchmark.report.audit_section import audit_markdown
from benchmark.report.baselines import COMPARABILITY_NOTE
from benchmark.report.builds_on_section import builds_on_section
from benchmark.report.evidence_section import evidence_section, findings, sanity_warning
from benchmark.report.figures import FigureFile, agreement_figures, prune_run_figures, run_figures
from benchmark.report.markdown_table import md_table
from benchmark.report.selection_section import selection_lines, table_all_runs
from benchmark.report.specs_section import specs_section
from benchmark.report.statistics import compute_statistics
from benchmark.report.threshold_section import table_threshold_rules, threshold_section
from benchmark.run.config import RunConfig
from benchmark.run.result import RunResult
from benchmark.run.store import RunStore
from benchmark.selection import Selection
from benchmark.spec.schema import Spec, Threshold, labels

#: figures of a run that the evidence section shows (not repeated in the run's own section)
EVIDENCE_FIGURES = ("/faithfulness.png",)


def _warnings(results: Sequence[RunResult], pending: int, damaged: Sequence[str] = ()) -> list[str]:
    out = []
    for line in damaged:
        out += [
            f"> **Damaged result.** {line}. Not shown; `cbis-bench run` evaluates this run again from its kept "
            "training (the other runs are untouched).",
            "",
        ]
    leak = [r for r in results if r.normaliser.uses_labels]
    if leak:
        out += [
            f"> **Warning: label leak.** {len(leak)} of {len(results)} runs used the `{leak[0].normaliser.name}` "
            "normaliser, which needs each patch's label at test time: their test metrics are not those of a "
            "usable classifier.",
            "",
        ]
    out += sanity_warning(results)
    for warning in dict.fromkeys(w for r in results for w in r.data.warnings):
        out += [f"> **Data warning.** {warning}", ""]
    if pending:
        out += [f"> {pending} run(s) of this spec have no result yet; the tables show the finished ones.", ""]
    return out


def _statistics_sections(report: ReportInput, results: Sequence[RunResult], stats: dict[str, Any]) -> list[str]:
    boot = stats["bootstrap"]
    level = f"{100 * boot['confidence']:g}%"
    method = (
        f"test patches resampled with replacement within each class, {boot['resamples']} resamples "
        f"(seed {boot['seed']}), percentile intervals"
    )
    explainers = [*report.explainers(), report.baseline]
    out = [
        f"## Confidence intervals ({level}, stratified bootstrap)",
        "",
        f"Estimate [{level} interval]; {method}. LL intervals resample the same test patches: only the correctly "
        "classified lesion patches among them are scored.",
        "",
        md_table(significance_tables.table_intervals(results, stats, explainers)),
        "",
    ]
    out += ["## Paired comparisons on the same test set", ""]
    comparisons = significance_tables.table_comparisons(stats)
    if comparisons.empty:
        out += ["Only one run per test set: nothing to compare.", ""]
    else:
        out += [
            "A minus B for each pair of runs evaluated on the same patches. Accuracy: McNemar's test on the "
            "discordant patches (b: A right and B wrong, c: the reverse; exact binomial below 25 of them). AUC and "
            f"LL (`{report.explainers()[0]}`): paired bootstrap of the difference (same resamples for both runs), "
            f"{level} interval and two-sided p. q: Benjamini-Hochberg adjusted over the table's pairs.",
            "",
            md_table(comparisons),
            "",
        ]
    return out


def _run_section(r: RunResult, figures: Sequence[FigureFile]) -> list[str]:
    out = [
        f"### {r.label} (`{r.run_id}`)",
        "",
        md_table(tables.table_classification_report(r)),
        "",
        md_table(tables.table_confusion(r), index=True),
        "",
    ]
    for fig in figures:
        if not fig.path.endswith(EVIDENCE_FIGURES) and "/verdicts-" not in fig.path:  # shown in the evidence section
            out += [f"![{fig.caption}]({fig.path})", ""]
    return out


@dataclass
class ReportInput:
    """What a report is built from: the spec, the runs shown in Tables II-IV (the kept ones
    under a selection), every finished run, the selection, the audit, statistics, figures."""

    spec: Spec
    shown: Sequence[RunResult]
    results: Sequence[RunResult]
    selection: Selection | None = None
    runs: Sequence[RunConfig] = ()
    audit: Audit | None = None
    pending: int = 0
    damaged: Sequence[str] = ()  # runs whose stored result cannot be read (counted in pending)
    stats: dict[str, Any] | None = None
    figures: dict[str, list[FigureFile]] = field(default_factory=dict)
    others: Sequence[Spec] = ()  # further specs of a report over several specs
    whole: list[str] = field(default_factory=list)  # the "Whole mammogram" section, when the spec has one
    agreement: Agreement | None = None  # repeatability and reproducibility of the shown runs' maps

    @property
    def specs(self) -> list[Spec]:
        return [self.spec, *self.others]

    def explainers(self) -> list[str]:
        """Every spec's explainer labels, in order, each once."""
        return list(dict.fromkeys(label for spec in self.specs for label in spec.explain.explainer_labels()))

    def scored(self) -> list[str]:
        return list(dict.fromkeys(label for spec in self.specs for label in spec.explain.scored_explainers()))

    @property
    def baseline(self) -> str:
        return self.spec.explain.baseline_label

    @property
    def level(self) -> str:
        """The intervals' confidence as the spec sets it (``95%``)."""
        return f"{100 * self.spec.report.bootstrap.confidence:g}%"

    @property
    def title(self) -> str:
        return " + ".join(spec.name for spec in self.specs)


def _table_i(shown: Sequence[RunResult]) -> list[str]:
    """Table I once per distinct patch set of the runs shown (several specs, or a patch
    ablation axis, can cut different patches), each headed by the runs' spec and variant."""
    groups: dict[str, list[RunResult]] = {}
    for r in shown:
        key = json.dumps([r.data.counts, r.data.validation.model_dump()], sort_keys=True)
        groups.setdefault(key, []).append(r)
    out = []
    for members in groups.values():
        r = members[0]
        names = dict.fromkeys(
            f"spec {m.spec}" + ("" if m.data.variant == "default" else f", patches {m.data.variant}") for m in members
        )
        validation = r.data.validation
        out += [
            "## Table I. Patches per class and split" + (f" ({'; '.join(names)})" if len(groups) > 1 else ""),
            "",
            f"Validation: {validation.fraction:.2f} of the official training split, {validation.method}.",
            "",
            md_table(tables.table_patches(r)),
            "",
        ]
    return out


def _tables(report: ReportInput) -> list[str]:
    spec, shown, stats = report.spec, report.shown, report.stats
    baselines = spec.report.baselines
    first = shown[0]
    loc = first.localisation
    rule = Threshold.model_validate(loc.threshold).describe()
    out = ["Runs: " + ", ".join(f"`{r.run_id}` {r.label}" for r in shown), ""]
    if report.selection is not None:
        out += selection_lines(report.selection, len(shown), len(report.runs))
    out += _table_i(shown)
    out += [
        "## Table II. Accuracy, batch size and best epoch (test split)",
        "",
        md_table(tables.table_accuracy(shown, baselines)),
        "",
        "## Table III. One-vs-rest AUC, average and per class (test split)",
        "",
        "B background, BC benign calcification, BM benign mass, MC malignant calcification, MM malignant mass.",
        "",
        md_table(tables.table_auc(shown, baselines)),
        "",
        "## Table IV. Lesion localisation (LL), accuracy and Acc x LL",
        "",
        f"LL: mean `{loc.metric}` of the saliency map {rule} with the lesion mask, over every correctly "
        f"classified lesion patch of the test split (a map that is zero everywhere scores 0; zero maps are counted). "
        f"`LL {loc.baseline}`: the same score of random maps on the same patches (the chance level). *Strongest "
        "control*: the model-free map (whole patch, centred blob, brightness, edges, random blobs) with the highest "
        f"LL on the same patches; *above controls*: the {report.level} interval of the paired advantage over the "
        "strongest control (taken in each resample) lies above 0. Only an LL above controls says something about "
        "where the model looked.",
        "",
        md_table(tables.table_localisation(shown, baselines, report.explainers(), stats)),
        "",
    ]
    if not report.explainers():  # every explainer named is a model-free map: nothing to set beside them
        named = ", ".join(f"`{label}`" for spec in report.specs for label in labels(spec.explain.explainers))
        out += [
            f"**No run has a row:** the spec's explainers ({named}) are all model-free controls, the chance "
            "level every LL is set beside, so there is no explanation of a model to score. Name one in "
            "`explain.explainers` (e.g. `gradcam-batched`); the controls are scored in any case.",
            "",
        ]
    if stats is not None:
        verdicts = tables.ll_against_controls(shown, report.explainers(), stats)
        if verdicts["not above"]:
            out += [
                f"**Not above controls** at these settings: {', '.join(verdicts['not above'])}. A map that knows "
                "nothing of the model scores as well: such an LL says nothing about where the model looked "
                "(the other threshold rules and the section *Does the explanation reflect the model?* below).",
                "",
            ]
        elif verdicts["above"]:
            out += ["Every LL above is above the strongest model-free control's on the same patches.", ""]
        if verdicts["unscored"]:
            out += [
                f"**No LL** (no correctly classified lesion patch to score): {', '.join(verdicts['unscored'])}.",
                "",
            ]
    if baselines:
        out += [
            "Rows marked *(cited)* are published results, as printed, shown for comparison and not re-run. "
            + COMPARABILITY_NOTE,
            "",
        ]
    return out


def build_markdown(report: ReportInput) -> str:
    spec, shown, stats = report.spec, report.shown, report.stats
    out = [f"# {report.title}: transfer learning on CBIS-DDSM patches", ""]
    if spec.description and not report.others:
        out += [spec.description.strip(), ""]
    if report.others:
        out += specs_section(report.specs, report.results, shown)
    out += _warnings(report.results, report.pending, report.damaged)
    if stats is not None:
        out += findings(shown, report.explainers(), stats)
    out += _tables(report)
    if stats is not None:
        out += threshold_section(
            shown,
            report.explainers(),
            stats,
            report.baseline,
            md_table(table_threshold_rules(shown, report.explainers(), stats)),
            report.level,
        )
        axes = ablation_axes(shown)
        if axes:
            out += [
                "## What the study's choices cost",
                "",
                "Each choice beside its alternatives on the same data, everything else equal; accuracy, AUC and "
                f"LL (`{report.explainers()[0]}`) with {report.level} intervals, and the LL beside the strongest "
                "model-free control's at the same settings. A choice whose LL is not above controls says nothing "
                "about where the model looked; a label-leaking normaliser's numbers are not those of a usable "
                "classifier.",
                "",
            ]
            for axis in axes:
                out += [
                    f"### {AXIS_TITLES[axis]}",
                    "",
                    md_table(table_axis(shown, axis, report.explainers()[0], stats)),
                    "",
                ]
        out += _statistics_sections(report, shown, stats)
    out += builds_on_section(shown, stats, report.figures)
    if stats is not None:
        out += evidence_section(shown, report.explainers(), stats, report.agreement, report.figures, report.level)
    out += ["## Per-run classification reports, confusion matrices and figures", ""]
    for r in shown:
        out += _run_section(r, report.figures.get(r.run_id, []))
    if report.selection is not None:
        out += [
            "## Appendix: every run and the hyperparameter selection",
            "",
            f"Selection {report.selection.describe()}: in each cell, the hyperparameter set with the best "
            "validation score (mean over seeds) is kept; test numbers are shown for the record and decide "
            "nothing.",
            "",
            md_table(
                table_all_runs(
                    report.selection, report.runs, {r.run_id: r for r in report.results}, report.explainers()[0]
                )
            ),
            "",
        ]
    out += report.whole
    if report.audit is not None:
        out += audit_markdown(report.audit.to_dict()) + [""]
    first = shown[0]
    prov = first.provenance
    out += [
        "## Provenance",
        "",
        md_table(
            pd.DataFrame(
                [
                    {
                        "run": r.run_id,
                        "fingerprint": r.fingerprint,
                        "seed": r.provenance.seed,
                        "deterministic": r.provenance.deterministic,
                        "device": r.provenance.device,
                        "target layer": r.model.target_layer,
                        "data": r.data.hash,
                    }
                    for r in shown
                ]
            )
        ),
        "",
        f"- spec hash: `{first.spec_hash}`",
        *[
            f"- `--set` overrides of {spec.name}: " + ", ".join(f"`{o}`" for o in spec.overrides)
            for spec in report.specs
            if spec.overrides
        ],
        f"- git revision: `{prov.git_revision or 'not a git checkout'}`",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(prov.versions.items())),
        "- plugins: " + ", ".join(f"{k} ({v})" for k, v in sorted(prov.plugins.items())),
        "",
    ]
    return "\n".join(out)


#: bump when the statistics' shape or computation changes, so a stored statistics.json is recomputed
STATISTICS_VERSION = 2


def _statistics(report: ReportInput, results: Sequence[RunResult], previous: Path) -> dict[str, Any]:
    """Intervals and comparisons; reused from the last report when computed from the same
    results and settings (resampling thousands of times is the slow part of a rebuild)."""
    from benchmark.hashing import stable_hash

    key = stable_hash(
        {
            "version": STATISTICS_VERSION,
            "runs": [(r.run_id, r.fingerprint, r.model.weights_hash) for r in results],
            "explainers": report.scored(),
            "baseline": report.baseline,
            "bootstrap": report.spec.report.bootstrap.model_dump(),
        }
    )
    try:
        old = json.loads(previous.read_text())
        if old.get("key") == key:
            return old
    except (OSError, json.JSONDecodeError):
        pass
    stats = compute_statistics(results, report.scored(), report.baseline, report.spec.report.bootstrap)
    # the shape it will have when read back next time, so a rebuild writes the same report
    return json.loads(json.dumps({**stats, "key": key}, sort_keys=True))


def _agreement_key(report: ReportInput) -> str:
    from benchmark.hashing import stable_hash

    return stable_hash(
        {
            "runs": [(r.run_id, r.fingerprint) for r in report.shown],
            "explainers": report.explainers(),
            "agreement": report.spec.explain.agreement.model_dump(),
            "bootstrap": report.spec.report.bootstrap.model_dump(),
        }
    )


def _agreement(
    report: ReportInput, previous: Path, store: RunStore | None, stores: dict[str, RunStore]
) -> Agreement | None:
    """Repeatability and reproducibility of the shown runs' maps (reused from the last
    report when computed from the same runs and settings); None when switched off."""
    from benchmark.evaluation.agreement import agreement
    from benchmark.report.statistics import test_set_key

    config = report.spec.explain.agreement
    if not config.enabled:
        return None
    key = _agreement_key(report)
    try:
        old = json.loads(previous.read_text())
        if old.pop("key", None) == key:
            return Agreement.model_validate(old)
    except (OSError, json.JSONDecodeError, ValueError):
        pass
    by_id = {r.run_id: r for r in report.shown}
    labels = {
        int(p): int(lab)
        for r in report.shown
        for p, lab in zip(r.predictions.patch_id, r.predictions.label, strict=True)
    }

    def load(run_id: str, explainer: str) -> Any:
        source = stores.get(by_id[run_id].spec, store)
        return source.load_arrays(run_id, f"maps-{explainer}") if source is not None else None

    runs = [
        (r.run_id, {k: v for k, v in r.config.items() if k != "plugin_code"}, test_set_key(r)) for r in report.shown
    ]
    return agreement(runs, report.explainers(), load, labels, config, report.spec.report.bootstrap)


def _whole(spec: Spec, store: RunStore, out_dir: Path) -> list[str]:
    from benchmark.report.whole_section import whole_section
    from benchmark.whole.stage import load_audit, load_gallery, load_results

    results = load_results(store, spec)
    galleries = {r.id: g for r in results if (g := load_gallery(store, r.id)) is not None}
    return whole_section(spec, results, galleries, out_dir, spec.report.figures, load_audit(store))


def write_report(
    report: ReportInput, out_dir: Path, store: RunStore | None = None, stores: dict[str, RunStore] | None = None
) -> Path:
    """Tables, intervals, comparisons and figures of the stored results, and the
    machine-readable ``results.json`` (every finished run), ``results.csv`` and
    ``statistics.json`` (the runs shown)."""
    spec = report.spec
    out_dir.mkdir(parents=True, exist_ok=True)
    report.stats = _statistics(report, report.shown, out_dir / "statistics.json")
    if spec.report.figures:
        stores = stores or {}
        report.figures = {
            r.run_id: run_figures(r, report.explainers(), stores.get(r.spec, store), out_dir) for r in report.shown
        }
        prune_run_figures(out_dir, set(report.figures))
    report.agreement = _agreement(report, out_dir / "agreement.json", store, stores or {})
    if spec.report.figures:
        report.figures["agreement"] = agreement_figures(report.agreement, out_dir)
    whole_store = store if store is not None else (stores or {}).get(spec.name)
    if spec.whole_image is not None and whole_store is not None:
        report.whole = _whole(spec, whole_store, out_dir)
    kept = {r.run_id for r in report.shown} if report.selection is not None else None
    atomic_write_json(out_dir / "results.json", [r.to_json() for r in report.results])
    atomic_write_json(out_dir / "statistics.json", report.stats)
    if report.agreement is not None:
        atomic_write_json(
            out_dir / "agreement.json", report.agreement.model_dump(mode="json") | {"key": _agreement_key(report)}
        )
    atomic_write_text(
        out_dir / "results.csv", tables.results_frame(report.results, report.stats, kept).to_csv(index=False)
    )
    path = out_dir / "report.md"
    atomic_write_text(path, build_markdown(report))
    return path
