"""The reader's CSV layer on the real CBIS-DDSM case descriptions (a committed copy)."""

from __future__ import annotations

from benchmark.data.audit import Audit
from plugins.datasets.cbis_ddsm.case_tables import CASE_FILES, read_case_tables
from tests.conftest import REAL_CSV_DIR


def test_real_case_csvs_load_with_their_row_counts() -> None:
    audit = Audit()
    table = read_case_tables(REAL_CSV_DIR, audit)
    assert audit.notes["rows per file"] == {
        "mass_case_description_train_set.csv": 1318,
        "mass_case_description_test_set.csv": 378,
        "calc_case_description_train_set.csv": 1546,
        "calc_case_description_test_set.csv": 326,
    }
    assert len(table) == 3568 and set(CASE_FILES) == set(table["source_file"])
    assert "breast_density" in table.columns and "breast density" not in table.columns
    # the release's own figures: 3103 mammograms of 1566 patients
    assert table["image_path"].map(lambda p: p.series_uid).nunique() == 3103
    assert table["patient_id"].nunique() == 1566
    # invalid values are counted, each with its row (density 0 and subtlety 0 occur twice each)
    assert audit.counts["breast_density outside 1-4 (kept, unused)"] == 2
    assert audit.counts["subtlety outside 1-5 (kept, unused)"] == 2


def test_every_row_yields_subject_study_and_series_for_each_path_column() -> None:
    table = read_case_tables(REAL_CSV_DIR, Audit())
    for role in ("image", "crop", "mask"):
        parsed = table[f"{role}_path"]
        assert parsed.notna().all(), role
        assert all(
            p.subject
            and p.study_uid.startswith("1.3.6.1.4.1.9590")
            and p.series_uid.startswith("1.3.6.1.4.1.9590")
            and p.file_name.endswith(".dcm")
            for p in parsed
        )
        assert (
            table[f"{role}_path"]
            .map(lambda p: p.subject.split("_P_")[0])
            .isin(["Mass-Training", "Mass-Test", "Calc-Training", "Calc-Test"])
        ).all()
    assert not table["roi_mask_file_path"].str.contains("\n").any()  # cells are stripped
    assert not table["cropped_image_file_path"].str.contains("\n").any()
    # crop and mask usually share a series; about a hundred crops sit in one of their own
    own = (table["crop_path"].map(lambda p: p.series_uid) != table["mask_path"].map(lambda p: p.series_uid)).sum()
    assert own == 104
