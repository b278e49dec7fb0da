"""The Ray executor: each run of a spec becomes one Ray task, anywhere on a cluster.

The driver prepares the patches once (into the cache under ``--home``) and submits the
runs not yet in the store; each task, on whichever node Ray picks, reloads the spec,
finds the patches in the same cache (a cache hit), trains, evaluates and writes its
result into the same run store. ``--home`` must therefore be a path every node sees
(NFS, a shared volume). Tasks ask for the CPUs and GPUs of the spec's ``resources``.
Ray is the scheduler: retries, placement and node failures are its business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from benchmark.errors import UserError
from benchmark.runs import RunConfig
from benchmark.spec.schema import Spec


def _run_task(spec_data: dict[str, Any], run_id: str, home: str, checkpoint_every_s: float) -> dict[str, Any]:
    """Executed by a Ray worker: one run, result written to the shared store."""
    from benchmark.execution import execute_locked, prepare_data
    from benchmark.plugin_loading import registries
    from benchmark.runs import expand
    from benchmark.spec.loader import parse_spec
    from benchmark.store import RunStore

    spec = parse_spec(spec_data, "ray task")
    regs = registries(spec.plugins)
    run = next(r for r in expand(spec) if r.run_id == run_id)
    data = prepare_data(spec, regs, Path(home) / "cache", workers=1, params=run.patches)
    result = execute_locked(run, data, regs, RunStore(Path(home) / "runs", spec.name), wait=True,
                            checkpoint_every_s=checkpoint_every_s)
    return {"run_id": run_id, "label": run.label, "accuracy": result["test"]["accuracy"]}


def execute_on_ray(spec: Spec, todo: list[RunConfig], home: Path, address: str | None,
                   on_done: Callable[[dict[str, Any]], None], checkpoint_every_s: float = 30.0) -> None:
    """Submit ``todo`` as Ray tasks and call ``on_done`` as each finishes."""
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'cbis-bench[ray]'") from None
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UserError(f"--address {address}: cannot connect to a Ray cluster ({exc})") from None
    task = ray.remote(num_cpus=spec.resources.cpus, num_gpus=spec.resources.gpus, max_retries=1)(_run_task)
    spec_data = spec.model_dump(mode="json")
    pending = [task.remote(spec_data, run.run_id, str(home.resolve()), checkpoint_every_s) for run in todo]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            try:
                on_done(ray.get(ref))
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(getattr(exc, "cause", None), UserError) else None
                if cause is not None:
                    raise cause from None
                raise
