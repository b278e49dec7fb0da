"""``--executor ray`` on a real two-node Ray cluster, set up the way the README says.

A head and one worker node, both on this machine (one CPU each, separate temp folders and
ports), with token authentication on (Ray >= 2.52 turns it on as soon as a token exists;
a worker without the token is refused). The backbone comes from a ``--plugin`` module that
only the driver can import (its folder is on the driver's PYTHONPATH alone), so the run on
the worker node works only if the module travels with the job. The results must equal the
local executor's. Every Ray process started here is stopped, by session, even on failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_cli_process

pytestmark = pytest.mark.slow
pytest.importorskip("ray")

RAY = str(Path(sys.executable).with_name("ray"))
PLUGIN_MODULE = "driver_only_backbones"
PLUGIN = '''
"""A backbone only the driver's machine has (test_ray_cluster)."""
from torch import nn

from benchmark.api import hookimpl
from benchmark.plugin_types import Backbone, LayerGroup


def driver_only_net(num_classes, pretrained=False, weights=None):
    stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    block = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes))
    groups = [LayerGroup("stem", [stem]), LayerGroup("block", [block]), LayerGroup("head", [head])]
    return Backbone(nn.Sequential(stem, block, head), groups, target_layer=block)


@hookimpl
def register_backbones(register):
    register("driver-only-net", driver_only_net)
'''
SPEC = """\
name: ray-cluster
dataset:
  plugin: synthetic-cbis-ddsm
  options: {seed: 0, images: 30, height: 256, width: 160}
  patches: {size: 48, lesion_margin: 0.5, background_size: 48, background_per_image: 1}
normaliser: dataset
matrix:
  backbone: [driver-only-net]
  strategy: [simultaneous]
  hparams: [{batch_size: 16, lr_head: 3.0e-3, lr_last_block: 1.0e-3}]
  seed: [0, 1]
training: {pretrained: false, max_epochs: 2, device: cpu}
# the lean evaluation (tests/factories.py)
explain: {explainers: [gradcam], sanity: {enabled: false}, gallery: 1, controls: [random], faithfulness: {metrics: []},
          localisation: {metrics: []}, agreement: {enabled: false}, verdict: {draws: 1}}
report: {bootstrap: {resamples: 100}}
resources: {cpus: 1}
"""


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # what a process needs to talk to it (the token)
    worker_temp: Path


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _session_pids(sid: int) -> list[int]:
    """Every live process of session ``sid`` (a Ray node's daemons keep the session of ``ray start``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # fields after the name: state, ppid, pgrp, session
                pids.append(int(entry.name))
    return pids


def _stop_sessions(sids: list[int]) -> None:
    """SIGTERM, then SIGKILL, to the processes of these sessions only (never `ray stop`, which
    would stop every Ray instance on the machine)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        for sid in sids:
            for pid in _session_pids(sid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_session_pids(s) for s in sids):
            time.sleep(0.3)


def _ray_start(args: list[str], env: dict[str, str], log: Path, sessions: list[int]) -> int:
    """Run ``ray start`` in a session of its own, noted in ``sessions`` before it can leave
    anything running (its daemons keep that session); return its exit code."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [RAY, "start", *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=log.parent
        )
        sessions.append(proc.pid)
        return proc.wait(timeout=120)


def _started(code: int, log: Path) -> None:
    if code != 0:
        raise RuntimeError(f"ray start failed ({code}):\n{log.read_text()[-3000:]}")


def _node_args(temp: Path) -> list[str]:
    node_manager, object_manager, agent_http, agent_grpc, runtime_env_agent, metrics = _free_ports(6)
    return [
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        "--object-store-memory=100000000",
        f"--temp-dir={temp}",
        f"--node-manager-port={node_manager}",
        f"--object-manager-port={object_manager}",
        f"--dashboard-agent-listen-port={agent_http}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={runtime_env_agent}",
        f"--metrics-export-port={metrics}",
        "--disable-usage-stats",
    ]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="cbr-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    (base / "home").mkdir()
    token = secrets.token_hex(32)
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CBIS_BENCH_PLUGINS", "RAY_ADDRESS")}
    env |= {"HOME": str(base / "home"), "RAY_USAGE_STATS_ENABLED": "0"}
    (gcs,) = _free_ports(1)
    sessions: list[int] = []
    try:
        head_log = base / "head.log"
        _started(
            _ray_start(
                ["--head", f"--port={gcs}", "--include-dashboard=false", *_node_args(base / "head")],
                env | auth,
                head_log,
                sessions,
            ),
            head_log,
        )
        address = f"127.0.0.1:{gcs}"
        # the README's trap: a worker node started without the cluster's token is refused
        refused_log = base / "refused.log"
        quick = {"RAY_gcs_server_port_wait_time_s": "3"}  # Ray retries for ~20 s by default
        assert (
            _ray_start([f"--address={address}", *_node_args(base / "refused")], env | quick, refused_log, sessions) != 0
        )
        assert "InvalidAuthToken" in refused_log.read_text()
        worker_log = base / "worker.log"
        _started(
            _ray_start([f"--address={address}", *_node_args(base / "worker")], env | auth, worker_log, sessions),
            worker_log,
        )
        _wait_for_nodes(address, env | auth, 2)
        yield Cluster(address, auth | {"HOME": str(base / "home")}, base / "worker")
    finally:
        _stop_sessions(sessions)
        shutil.rmtree(base, ignore_errors=True)


def _wait_for_nodes(address: str, env: dict[str, str], count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = subprocess.run(
            [RAY, "status", f"--address={address}"], env=env, capture_output=True, text=True, timeout=60
        )
        if status.stdout.count(" node_") >= count:
            return
        time.sleep(1)
    raise RuntimeError(f"the cluster did not reach {count} nodes:\n{status.stdout}\n{status.stderr}")


def _without_measurements(results: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "measurements"} for r in results]


def test_a_driver_only_plugin_runs_on_a_two_node_cluster_with_the_local_results(
    cluster: Cluster, tmp_path: Path
) -> None:
    plugin_dir = tmp_path / "driver-only"
    plugin_dir.mkdir()
    (plugin_dir / f"{PLUGIN_MODULE}.py").write_text(PLUGIN)
    spec = tmp_path / "ray-cluster.yaml"
    spec.write_text(SPEC)
    driver = {"PYTHONPATH": str(plugin_dir), "OMP_NUM_THREADS": "1"}  # a task with cpus: 1 runs one thread

    local = run_cli_process(
        "run",
        str(spec),
        "--plugin",
        PLUGIN_MODULE,
        "--home",
        str(tmp_path / "local-home"),
        "--reports",
        str(tmp_path / "local"),
        env=driver,
    )  # real driver processes: OMP_NUM_THREADS at start, Ray auth per process
    assert local.code == 0, local.output
    assert "device: cpu (1 threads)" in local.stdout

    # a driver without the token: refused before any patch is prepared, with the token step
    quick = {"RAY_gcs_server_port_wait_time_s": "3"}  # Ray retries for ~20 s by default
    tokenless = run_cli_process(
        "run",
        str(spec),
        "--plugin",
        PLUGIN_MODULE,
        "--executor",
        "ray",
        "--address",
        cluster.address,
        "--home",
        str(tmp_path / "tokenless-home"),
        env=driver | quick | {"HOME": cluster.env["HOME"]},
    )
    assert tokenless.code == 2, tokenless.output
    assert "the cluster refused this driver's authentication token" in tokenless.stderr
    assert "RAY_AUTH_TOKEN" in tokenless.stderr
    assert not (tmp_path / "tokenless-home" / "cache").exists()

    on_ray = run_cli_process(
        "run",
        str(spec),
        "--plugin",
        PLUGIN_MODULE,
        "--executor",
        "ray",
        "--address",
        cluster.address,
        "--home",
        str(tmp_path / "ray-home"),
        "--reports",
        str(tmp_path / "ray"),
        env=driver | cluster.env,
    )
    assert on_ray.code == 0, on_ray.output
    assert on_ray.stdout.count("done: ") == 2
    a = json.loads((tmp_path / "local" / "ray-cluster" / "results.json").read_text())
    b = json.loads((tmp_path / "ray" / "ray-cluster" / "results.json").read_text())
    assert _without_measurements(a) == _without_measurements(b)
    # the worker node ran a task, with the module the driver shipped (it cannot import it otherwise)
    shipped = list(cluster.worker_temp.glob(f"session_*/runtime_resources/py_modules_files/*/{PLUGIN_MODULE}.py"))
    assert shipped, "the plugin module never reached the worker node"
