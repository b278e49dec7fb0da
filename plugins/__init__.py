"""The built-in plugins of cbis-bench.

Each module here is an ordinary plugin, registered through the ``cbis_bench``
entry-point group in ``pyproject.toml`` exactly as a third-party package registers
its own; the core never imports this package by name.
"""
