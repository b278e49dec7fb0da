"""Where pretrained weights come from when the network cannot be reached.

Order of search for a backbone's ImageNet weights:

1. the file the spec names (``training.weights: {resnet50: /path/file.pth}``) or the
   ``--weights NAME=FILE`` option;
2. ``$CBIS_BENCH_WEIGHTS_DIR`` (the Docker image bakes weights there): a file named as
   the upstream URL's file (``resnet50-0676ba61.pth``) or ``<timm name>.{pth,safetensors}``;
3. the usual caches (torch hub's ``checkpoints/``, then the Hugging Face cache), through
   the library's own loader.

When none has the weights, the error names the expected file and where to put it.

Before downloading, ``cbis-bench weights fetch`` asks whether the download hosts answer at
all (a TCP connection within a few seconds): the libraries' own downloads retry for
minutes before failing where there is no network.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

WEIGHTS_DIR_ENV = "CBIS_BENCH_WEIGHTS_DIR"
OFFLINE_ENVS = ("CBIS_BENCH_OFFLINE", "HF_HUB_OFFLINE")
PROBE_TIMEOUT_S = 3.0


def offline() -> bool:
    """True when downloads must not be attempted (``CBIS_BENCH_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``)."""
    return any(os.environ.get(name, "") not in ("", "0", "false") for name in OFFLINE_ENVS)


def url_file_name(url: str | None) -> str | None:
    return Path(urlparse(url).path).name if url else None


def candidate_files(model_name: str, url: str | None) -> list[Path]:
    """Local files that would hold these weights, most specific first."""
    names = [
        n for n in (url_file_name(url), f"{model_name}.pth", f"{model_name}.safetensors", f"{model_name}.bin") if n
    ]
    dirs: list[Path] = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        dirs.append(Path(os.environ[WEIGHTS_DIR_ENV]))
    try:
        import torch.hub

        dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    except Exception:  # pragma: no cover - torch always importable where this runs
        pass
    return [d / n for d in dirs for n in names]


def find_local(model_name: str, url: str | None) -> Path | None:
    return next((p for p in candidate_files(model_name, url) if p.is_file()), None)


def missing_message(backbone: str, model_name: str, url: str | None) -> str:
    import torch.hub

    where = os.environ.get(WEIGHTS_DIR_ENV) or str(Path(torch.hub.get_dir()) / "checkpoints")
    expected = url_file_name(url) or f"{model_name}.pth"
    source = f" (download it from {url})" if url else ""
    return (
        f"pretrained weights for backbone '{backbone}' ({model_name}) are not available offline. "
        f"Put {expected}{source} in {where}, or name a local file in the spec "
        f"(training.weights: {{{backbone}: /path/to/{expected}}}) or with --weights {backbone}=/path/to/{expected}; "
        f"or set training.pretrained: false to train from scratch."
    )


def download_hosts() -> dict[str, tuple[str, str]]:
    """Where pretrained weights are downloaded from: name -> (URL, the env var that turns its
    downloads off). timm's models come from the Hugging Face Hub, torchvision's from PyTorch's."""
    return {
        "Hugging Face Hub": (os.environ.get("HF_ENDPOINT") or "https://huggingface.co", "HF_HUB_OFFLINE"),
        "download.pytorch.org": ("https://download.pytorch.org", "CBIS_BENCH_OFFLINE"),
    }


def _connect_target(url: str) -> tuple[str, int]:
    """The (host, port) a download of ``url`` connects to first: its proxy's when one is set."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        via = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        return via.hostname or host, via.port or 80
    return host, port


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection towards ``url`` (or its proxy) opens within ``timeout`` seconds."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(_connect_target(url), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)  # a hanging DNS lookup must not hold us
    worker.start()
    worker.join(timeout + 1.0)
    return bool(result and result[0])


def unreachable_hosts(timeout: float = PROBE_TIMEOUT_S) -> dict[str, tuple[str, str]]:
    """The download hosts that do not answer, probed in parallel (at most ``timeout`` + 1 s)."""
    hosts = download_hosts()
    answers: dict[str, bool] = {}
    threads = [
        threading.Thread(target=lambda n=n, u=u: answers.__setitem__(n, reachable(u, timeout)), daemon=True)
        for n, (u, _) in hosts.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 2.0)
    return {name: where for name, where in hosts.items() if not answers.get(name, False)}
