"""The YAML spec: schema, loading with precise errors, expansion into runs."""

from benchmark.spec.loader import load_spec
from benchmark.spec.schema import Spec

__all__ = ["Spec", "load_spec"]
