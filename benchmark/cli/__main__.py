"""``python -m benchmark.cli``: the same command line as ``cbis-bench``."""

from benchmark.cli import main

main()
