"""The report's evidence that an explanation reflects the model: the *Findings* summary
at its top (one line per run) and the section "Does the explanation reflect the model?"
(controls, faithfulness, repeatability, sanity, verdicts). Every score stands beside the
strongest model-free control at the same settings; only an interval above it counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmark.evaluation.records import VERDICT_GROUPS, Agreement
from benchmark.report import evidence_tables
from benchmark.report.figures import FigureFile
from benchmark.report.markdown_table import md_table
from benchmark.report.tables import against_controls
from benchmark.run.result import RunResult


def _pct(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("estimate") is None:
        return "–"
    if entry.get("low") is None:
        return f"{100 * entry['estimate']:.0f}%"
    return f"{100 * entry['estimate']:.0f}% [{100 * entry['low']:.0f}, {100 * entry['high']:.0f}]"


def _ll_phrase(entry: dict[str, Any] | None, rule: str) -> str | None:
    if not entry or entry.get("estimate") is None or entry.get("control") is None:
        return None
    word = "above controls" if against_controls(entry) == "yes" else "**not above controls**"
    return f"{entry['estimate']:.3f} vs {entry['control']} {entry['control_score']:.3f} at {rule} ({word})"


def findings(results: Sequence[RunResult], explainers: Sequence[str], stats: dict[str, Any]) -> list[str]:
    """One line per run and explainer: accuracy, LL against the strongest control under
    each rule, the verdict shares, the sanity tests failed; the details follow below."""
    from benchmark.report.threshold_section import rule_columns

    out = [
        "## Findings",
        "",
        "Per run: test accuracy; each explainer's LL against the strongest model-free control at the same settings "
        "(the LL's rule, then each further rule); the share of correctly classified lesions whose map is localised "
        "and faithful, localised only, faithful only, or neither; the sanity tests it fails. Details and "
        "definitions below.",
        "",
    ]
    for r in results:
        per_run = stats["runs"][r.run_id]
        loc = r.localisation
        for name in explainers:
            if name not in loc.explainers or name in loc.controls:
                continue
            lls = [
                p
                for metric, rule in rule_columns(r)
                if (p := _ll_phrase(per_run["localisation"].get(name, {}).get(metric), rule)) is not None
            ]
            verdicts = per_run.get("verdicts", {}).get(name)
            shares = ", ".join(f"{g} {_pct(verdicts[g])}" for g in VERDICT_GROUPS) if verdicts else "no verdicts"
            failed = [t for t, n in (r.sanity.failures() if r.sanity else []) if n == name]
            sanity = (
                ("sanity: fails " + ", ".join(failed))
                if failed
                else ("sanity: passes every test" if r.sanity else "sanity: not run")
            )
            out.append(
                f"- `{r.run_id}` {r.label}, `{name}`: accuracy {r.test.accuracy:.3f}; LL "
                + ("; ".join(lls) if lls else "not scored")
                + f"; verdicts: {shares}; {sanity}."
            )
    return out + [""]


def evidence_section(
    results: Sequence[RunResult],
    explainers: Sequence[str],
    stats: dict[str, Any],
    agreement: Agreement | None,
    figures: dict[str, list[FigureFile]],
    level: str,
) -> list[str]:
    """Markdown lines of "Does the explanation reflect the model?"."""
    out = [
        "## Does the explanation reflect the model?",
        "",
        "Overlap with the lesion is not enough: a map that knows nothing of the model can overlap it well when the "
        "lesion fills the patch or sits in its middle. So every score here stands beside the strongest "
        "*model-free control* at the same settings (the whole patch, a centred blob, the patch's brightness, its "
        "edges, random blobs), and is called *above controls* only where the "
        f"{level} interval of the paired advantage over it lies above 0 (the strongest control is taken in each "
        "resample). Definitions and references: docs/evaluation.md.",
        "",
    ]
    controls = evidence_tables.table_controls(results)
    if not controls.empty:
        out += [
            "### What the controls score",
            "",
            "Each model-free control's LL under every rule, on the same correctly classified lesion patches as "
            "the explainers (strongest in bold): the bar an LL must clear.",
            "",
            md_table(controls),
            "",
        ]
    metrics = evidence_tables.table_localisation_metrics(results, stats, explainers)
    if not metrics.empty:
        out += [
            "### Every localisation score beside the controls",
            "",
            f"Mean score per metric, the random maps' on the same patches, the strongest control's, and the "
            f"paired advantage over it with its {level} interval and p.",
            "",
            md_table(metrics),
            "",
        ]
    faith = evidence_tables.table_faithfulness(results, stats)
    if not faith.empty:
        out += [
            "### Faithfulness: does the model use what the map highlights?",
            "",
            "Pixels are removed in the map's order and the drop in the predicted class's probability is recorded "
            "(ROAD: noisy linear imputation, MoRF and LeRF at each share of pixels; deletion and insertion: the "
            "area under the probability curve, as a drop). The same scores of the controls are the bar: a "
            "model-free map that removes the middle of a lesion patch removes the lesion too.",
            "",
            md_table(faith),
            "",
        ]
        for r in results:
            for fig in figures.get(r.run_id, []):
                if fig.path.endswith("/faithfulness.png"):
                    out += [f"![{fig.caption}]({fig.path})", ""]
    if agreement is not None and agreement.pairs:
        out += [
            "### Repeatability and reproducibility (Arun et al. 2021)",
            "",
            "The maps of the same test lesion patch (explained for its true class) from two runs: *repeatability* "
            "when the runs differ only in seed, *reproducibility* otherwise. The floor is the same similarity "
            "between maps of randomly paired different patches; *above the floor* where the SSIM interval lies "
            "above the floor's.",
            "",
            md_table(evidence_tables.table_agreement(agreement)),
            "",
        ]
        out += [f"![{fig.caption}]({fig.path})" for fig in figures.get("agreement", [])] + [""]
    elif agreement is not None:
        out += [
            "### Repeatability and reproducibility",
            "",
            "Only one run on these test patches: nothing to compare (add seeds to `matrix.seed` for "
            "repeatability, backbones or strategies for reproducibility).",
            "",
        ]
    sanity = evidence_tables.table_sanity(results)
    if not sanity.empty:
        first = next(r.sanity for r in results if r.sanity is not None)
        rules = "; ".join(f"*{t.name}*: passes when {t.passes_when}" for t in first.tests)
        out += [
            "### Sanity tests",
            "",
            "Each explainer's maps of the same correctly classified test patches against its maps of the trained "
            f"model: mean Spearman / SSIM at each test's deciding step. Maps differ when Spearman is below "
            f"{first.flag_above:g} and SSIM below {first.ssim_flag_above:g}. {rules}. The model-free controls "
            "fail by construction (their maps never move): they show what failing looks like.",
            "",
            md_table(sanity),
            "",
        ]
        steps = evidence_tables.table_sanity_steps(results)
        if not steps.empty:
            out += ["Step by step:", "", md_table(steps), ""]
    verdicts = evidence_tables.table_verdicts(results, stats)
    if not verdicts.empty:
        v = next(r.verdicts for r in results if r.verdicts is not None)
        out += [
            "### One verdict per lesion",
            "",
            f"For every correctly classified lesion patch: *localised* when the IoU of the map's region "
            f"({v.metric}) is above the strongest control's on that patch by {v.margin:g}; *faithful* when "
            f"removing the map's top {v.removal:g}% of pixels lowers the predicted class's probability more than "
            f"removing the top {v.removal:g}% of smooth random maps (mean of {v.draws}). Shares with {level} "
            "intervals.",
            "",
            md_table(verdicts),
            "",
        ]
        for r in results:
            if r.verdicts is not None and r.verdicts.control_faithful:
                shares = ", ".join(f"{c} {100 * s:.0f}%" for c, s in r.verdicts.control_faithful.items())
                out += [
                    f"Run `{r.run_id}`: the faithful verdict earned by the model-free controls themselves "
                    f"(how easily removal beats random blobs on this data): {shares}.",
                    "",
                ]
        for r in results:
            for fig in figures.get(r.run_id, []):
                if "/verdicts-" in fig.path:
                    out += [f"![{fig.caption}]({fig.path})", ""]
    return out


def sanity_warning(results: Sequence[RunResult]) -> list[str]:
    """The warning at the report's top when an explainer (not a control) fails a test."""
    failed = sorted({(r.run_id, name, test) for r in results if r.sanity for test, name in r.sanity.failures()})
    if not failed:
        return []
    return [
        "> **Warning: explainer sanity tests.** These maps do not change as the tests require, so they do not "
        "show (all of) what the model learned: "
        + ", ".join(f"`{name}` {test} (run `{run}`)" for run, name, test in failed)
        + ". See the sanity tests below.",
        "",
    ]
