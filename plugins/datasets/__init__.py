"""Dataset plugins: CBIS-DDSM trees and the generated fixture tree (imported on first use)."""

from benchmark.api import hookimpl


@hookimpl
def register_datasets(register):
    register(
        "cbis-ddsm",
        "plugins.datasets.cbis_ddsm:CbisDdsm",
        description="CBIS-DDSM as released: Kaggle JPEG or TCIA DICOM tree (classic or descriptive)",
    )
    register(
        "synthetic-cbis-ddsm",
        "plugins.datasets.synthetic:SyntheticCbisDdsm",
        description="generated CBIS-DDSM-like tree (real quirks), read by the cbis-ddsm reader",
    )
