"""The opening of a report over several specs: each spec, its runs, and which of them
were evaluated on the same test patches (only those are compared pair by pair)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchmark.report.markdown_table import md_table
from benchmark.report.statistics import test_set_key
from benchmark.run.result import RunResult
from benchmark.spec.schema import Spec


def specs_section(specs: Sequence[Spec], results: Sequence[RunResult], shown: Sequence[RunResult]) -> list[str]:
    keys = {r.run_id: test_set_key(r) for r in shown}
    sets = list(dict.fromkeys(keys.values()))
    rows = []
    for spec in specs:
        mine = [r for r in shown if r.spec == spec.name]
        rows.append(
            {
                "spec": spec.name,
                "runs shown": len(mine),
                "finished": sum(r.spec == spec.name for r in results),
                "test sets": ", ".join(f"T{sets.index(k) + 1}" for k in dict.fromkeys(keys[r.run_id] for r in mine)),
                "description": spec.description.strip(),
            }
        )
    out = ["## The specs of this report", "", md_table(pd.DataFrame(rows)), ""]
    if len(sets) == 1:
        out += [
            "Every run shown was evaluated on the same test patches (T1): runs of different specs are compared "
            "pair by pair like runs of one spec.",
            "",
        ]
    else:
        out += [
            f"The runs were evaluated on {len(sets)} different test sets (T1 ... T{len(sets)}: the same patches "
            "and labels within each). Paired comparisons (McNemar, paired bootstrap) are made only between runs of "
            "the same test set; runs of different test sets stand side by side in the tables but are not paired.",
            "",
        ]
    return out
