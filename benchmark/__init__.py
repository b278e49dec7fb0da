"""cbis-bench: a benchmark harness for transfer-learned CBIS-DDSM patch classifiers.

The core (this package) knows plugin *kinds*; the built-in plugins live in the
top-level ``plugins`` package and are registered through the ``cbis_bench``
entry-point group, exactly as a third-party package registers its own.
"""

__version__ = "0.1.0"
