"""The reader's CSV layer on the real CBIS-DDSM case descriptions (skipped when absent)."""

from __future__ import annotations

import pytest

from benchmark.data.audit import Audit
from plugins.datasets.cbis_ddsm.case_tables import CASE_FILES, read_case_tables
from tests.conftest import REAL_CSV_DIR

pytestmark = pytest.mark.skipif(not REAL_CSV_DIR.is_dir(), reason=f"real CBIS-DDSM CSVs not found at {REAL_CSV_DIR}")


def test_real_case_csvs_load_with_their_row_counts() -> None:
    audit = Audit()
    table = read_case_tables(REAL_CSV_DIR, audit)
    assert audit.notes["rows per file"] == {
        "mass_case_description_train_set.csv": 1318, "mass_case_description_test_set.csv": 378,
        "calc_case_description_train_set.csv": 1546, "calc_case_description_test_set.csv": 326}
    assert len(table) == 3568 and set(CASE_FILES) == set(table["source_file"])
    assert "breast_density" in table.columns and "breast density" not in table.columns


def test_every_row_yields_subject_study_and_series_for_each_path_column() -> None:
    table = read_case_tables(REAL_CSV_DIR, Audit())
    for role in ("image", "crop", "mask"):
        parsed = table[f"{role}_path"]
        assert parsed.notna().all(), role
        assert all(p.subject and p.study_uid.startswith("1.3.6.1.4.1.9590") and p.series_uid.startswith("1.3.6.1.4.1.9590")
                   and p.file_name.endswith(".dcm") for p in parsed)
    assert not table["roi_mask_file_path"].str.contains("\n").any()  # cells are stripped
