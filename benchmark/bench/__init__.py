"""Benchmarks: the harness measured against a reference in the same process and run (raw
PyTorch on synthetic tensors, pure decoding, pytorch-grad-cam), medians and the ratio.
Timings on shared machines are noisy, ratios much less so. ``cbis-bench bench <what>``
(``benchmark/cli/bench.py``) runs them; speed targets live here, never in the test suite.
"""
