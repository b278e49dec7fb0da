"""The Ray executor: each run of a spec becomes one Ray task, anywhere on a cluster
(the ``ray`` :class:`~benchmark.run.executor_types.Executor`).

The driver prepares the patches once (into the cache under ``--home``) and submits the
runs not yet in the store; each task, on whichever node Ray picks, reloads the spec,
finds the patches in the same cache (a cache hit), trains, evaluates and writes its
result into the same run store. ``--home`` must therefore be a path every node sees
(NFS, a shared volume). Tasks ask for the CPUs and GPUs of the spec's ``resources``.
Ray is the scheduler: retries, placement and node failures are its business.

Plugin modules (the spec's ``plugins:`` and ``--plugin``) are named to each task as an
argument: a worker on another machine does not see the driver's environment, where the
CLI keeps ``--plugin``. A module that is a local file or folder on the driver (not an
installed package) travels with the job (Ray's ``runtime_env`` ``py_modules``), so a
plugin that exists only on the driver's machine works on every node.
"""

from __future__ import annotations

import importlib.util
import os
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import UserError
from benchmark.events import RunFailed, RunFinished
from benchmark.registry.loading import EXTRA_PLUGINS
from benchmark.run.config import RunConfig
from benchmark.run.execute import EvaluationFailed, TrainingFailed
from benchmark.run.executor_types import RunContext
from benchmark.spec.schema import Spec

# The harness itself: installed on every node, never shipped (a copy would shadow it).
OWN_PACKAGES = ("benchmark", "plugins")
AUTH_HINT = (
    "If the cluster uses token authentication (Ray >= 2.52 turns it on on the head once a token exists, "
    "e.g. after any local ray.init), the driver needs the cluster's token, as every node does: "
    "RAY_AUTH_MODE=token RAY_AUTH_TOKEN=<token> cbis-bench run ... (print the token on the head with: "
    "ray get-auth-token). See README, 'A sweep on a cluster'."
)


def plugin_modules(spec: Spec) -> list[str]:
    """The spec's plugin modules and the ``--plugin`` ones (which the CLI puts in ``CBIS_BENCH_PLUGINS``)."""
    extra = [m.strip() for m in os.environ.get(EXTRA_PLUGINS, "").split(",") if m.strip()]
    return list(dict.fromkeys([*spec.plugins, *extra]))


def _installed(path: str) -> bool:
    roots = {sysconfig.get_paths()[key] for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(Path(root).resolve()) for root in roots)


def local_module_sources(modules: Iterable[str]) -> list[str]:
    """Files or package folders of ``modules`` that exist only as local source here (``py_modules``).

    Installed packages are left out (install them on every node, like the harness); a module
    that cannot be found is left to the plugin loader, which reports it by name.
    """
    sources = []
    for name in modules:
        top = name.split(".")[0]
        if top in OWN_PACKAGES:
            continue
        try:
            found = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if found is None:
            continue
        locations = list(found.submodule_search_locations or [])
        if len(locations) == 1:
            source = locations[0]
        elif not locations and found.origin and found.origin.endswith(".py"):
            source = found.origin
        else:
            continue  # a namespace package split over folders, a built-in or compiled module
        if not _installed(source):
            sources.append(source)
    return sorted(set(sources))


def _run_task(
    spec_data: dict[str, Any], run_id: str, home: str, checkpoint_every_s: float, plugins: list[str] | None = None
) -> dict[str, Any]:
    """Executed by a Ray worker: one run, result written to the shared store."""
    from benchmark.registry.loading import registries
    from benchmark.run.config import expand
    from benchmark.run.data import prepare_data
    from benchmark.run.execute import EvaluationFailed, execute_locked
    from benchmark.run.store import RunStore
    from benchmark.spec.loader import parse_spec

    spec = parse_spec(spec_data, "ray task", check_plugins=False)  # the driver checked the names
    modules = [*spec.plugins, *(plugins or [])]
    regs = registries(modules)
    for failure in regs.failures:
        if failure.plugin in modules:
            import socket

            raise UserError(
                f"plugin module '{failure.plugin}' could not be loaded on Ray node {socket.gethostname()}: "
                f"{failure.error.splitlines()[0]}",
                hint="Install it on every node, or pass it as a local module file or folder (shipped with the job).",
            )
    run = next((r for r in expand(spec, regs) if r.run_id == run_id), None)
    if run is None:
        import socket

        raise UserError(
            f"run {run_id} is not a run of spec '{spec.name}' on Ray node {socket.gethostname()}: the "
            "plugins installed there are not the driver's (their code enters the run ids)",
            hint="Install the same cbis-bench and plugin versions on every node.",
        )
    data = prepare_data(spec, regs, Path(home) / "cache", workers=1, params=run.patches)
    try:
        execute_locked(
            run, data, regs, RunStore(Path(home) / "runs", spec.name), wait=True, checkpoint_every_s=checkpoint_every_s
        )
    except EvaluationFailed as failure:  # the other runs go on; the driver reports it with the rest
        return {"run_id": run_id, "failed": failure.message, "stage": failure.stage}
    return {"run_id": run_id}


def _abandon(ray: Any, refs: list[Any]) -> None:
    """Cancel the runs still pending after one failed, and collect their outcome: the driver is
    about to stop with that failure, and Ray would print each uncollected error as a traceback."""
    for ref in refs:
        ray.cancel(ref)
    for ref in refs:
        try:
            ray.get(ref, timeout=30)
        except Exception:  # cancelled, or failed the same way: the first failure is the one reported
            pass


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'cbis-bench[ray]'") from None
    return ray


def connect(spec: Spec, address: str | None) -> None:
    """Join the Ray cluster at ``address`` (default: start a local instance), with the spec's
    local plugin modules shipped to every node. The CLI calls it before the patches are
    prepared, so a cluster that is not there, or that refuses us, is known in seconds."""
    ray = _ray()
    if ray.is_initialized():
        return
    sources = local_module_sources(plugin_modules(spec))
    runtime_env = {"py_modules": sources} if sources else None
    try:
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env=runtime_env)
        else:
            ray.init(include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        # "Failed to connect to Ray cluster at ..." says nothing of the token; the error it
        # wraps does ("InvalidAuthToken"), so the chain is read
        refused = _token_refused(exc)
        maybe_auth = refused or (address is not None and os.environ.get("RAY_AUTH_MODE", "").lower() != "token")
        why = "the cluster refused this driver's authentication token (none, or another)" if refused else str(exc)[:500]
        raise UserError(
            f"--address {address}: cannot connect to a Ray cluster ({why})", hint=AUTH_HINT if maybe_auth else None
        ) from None


def _token_refused(exc: BaseException) -> bool:
    """Whether ``exc`` or an error it wraps is Ray's token refusal."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class RayExecutor:
    """Each run a Ray task on the cluster at ``address`` (default: a local instance),
    asking for the spec's ``resources``; results land in the shared store, from which
    the driver reads them as tasks finish. Retries, placement and node failures are
    Ray's business."""

    address: str | None = None

    def execute(self, todo: Sequence[RunConfig], context: RunContext) -> list[EvaluationFailed]:
        ray = _ray()
        spec = context.spec
        connect(spec, self.address)
        plugins = plugin_modules(spec)
        task = ray.remote(num_cpus=spec.resources.cpus, num_gpus=spec.resources.gpus, max_retries=1)(_run_task)
        spec_data = spec.model_dump(mode="json")
        home = str(context.home.resolve())
        by_id = {run.run_id: run for run in todo}
        pending = [task.remote(spec_data, run.run_id, home, context.checkpoint_every_s, plugins) for run in todo]
        failures: list[EvaluationFailed] = []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    summary = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    _abandon(ray, pending)
                    cause = exc.cause if isinstance(getattr(exc, "cause", None), UserError) else None
                    if cause is not None:  # a fresh one: the task's carries the remote traceback in its text
                        raise UserError(cause.message, hint=getattr(cause, "hint", None)) from None
                    raise
                run = by_id[summary["run_id"]]
                if "failed" in summary:
                    stage = summary.get("stage", "evaluation")
                    failed = TrainingFailed if stage == "training" else EvaluationFailed
                    failure = failed(
                        run,
                        summary["failed"].split(f"{stage} failed: ", 1)[-1],
                        context.store.trained_path(run.training_key, context.data(run).hash),
                    )
                    failures.append(failure)
                    context.events.emit(RunFailed("run", run.run_id, failure.message))
                    continue
                result = context.store.load(run.run_id)
                assert result is not None
                context.events.emit(RunFinished("run", run.run_id, run.label, result.test.accuracy, True))
        return failures
