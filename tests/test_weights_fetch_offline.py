"""``cbis-bench weights fetch`` without a network: the file list at once, no download tried.

The libraries' own downloads retry for about a minute per backbone before failing. With
every connection refused (socket patched in the child process, so no real network is
needed either way), fetch must look up only the download hosts, once each, and answer
with ``weights check``'s table and exit code 2.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

NO_NETWORK = r"""
import json, socket, sys
looked_up = []
def no_network(host, *args, **kwargs):
    looked_up.append(host)
    raise socket.gaierror(socket.EAI_NONAME, "no network (test)")
socket.getaddrinfo = no_network
def report():
    print("LOOKED UP " + json.dumps(sorted(looked_up)), file=sys.stderr)
import atexit
atexit.register(report)
sys.argv = ["cbis-bench", *sys.argv[1:]]
from benchmark.cli import main
main()
"""


def test_fetch_without_network_lists_the_files_and_downloads_nothing(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_HUB_OFFLINE", "CBIS_BENCH_OFFLINE", "HF_ENDPOINT") and not k.lower().endswith("_proxy")
    }
    env |= {
        "HF_HOME": str(tmp_path / "hf"),
        "TORCH_HOME": str(tmp_path / "torch"),
        "CBIS_BENCH_WEIGHTS_DIR": str(weights),
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "weights", "fetch", "resnet34", "torchvision/mobilenet_v2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "did not answer within 3 s, so no download was tried" in proc.stderr
    table = re.sub(r"[\s│]", "", proc.stdout)  # the table wraps long cells
    for backbone, file in (
        ("resnet34", "resnet34-b627a593.pth"),
        ("torchvision/mobilenet_v2", "mobilenet_v2-b0353104.pth"),
    ):
        assert f"{backbone}missing" in table and f"Put{file}" in table
    assert f"in{weights}" in table
    looked_up = json.loads(proc.stderr.split("LOOKED UP ", 1)[1].splitlines()[0])
    assert looked_up == ["download.pytorch.org", "huggingface.co"]  # the probes, and nothing after them
    assert "Traceback" not in proc.stderr
