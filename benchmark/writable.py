"""Can this process write the folders a command will write? Asked before any work starts.

The Docker image runs as uid 1000, and a folder mounted with ``-v`` keeps its host owner,
so a reports folder the host user owns is often not writable inside the container. Found
out when the report is written, that costs the whole training; found out here, it costs a
second. The check creates (and removes) a file in the folder, or in its nearest existing
parent when the folder is still to be made, because permission bits alone do not tell
(read-only mounts, ACLs, root squashing on NFS).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmark.errors import UserError

IN_DOCKER_ENV = "CBIS_BENCH_IN_DOCKER"


def in_docker() -> bool:
    """True inside the project's image (it sets ``CBIS_BENCH_IN_DOCKER=1``)."""
    return os.environ.get(IN_DOCKER_ENV) == "1"


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe(folder: Path) -> tuple[str, bool] | None:
    """(why not, whether it is a permission problem) for ``folder``, or ``None`` when writable."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        return f"{existing} is not a folder", False
    try:
        fd, probe = tempfile.mkstemp(prefix=".cbis-bench-write-check-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        owner = ""
        try:
            owner = f"; {existing} belongs to uid {existing.stat().st_uid}"
        except OSError:
            pass
        return f"{exc.strerror or exc} (this process runs as uid {os.getuid()}, gid {os.getgid()}{owner})", True
    return None


def write_problem(folder: Path) -> str | None:
    """Why this process could not create files in ``folder`` (``None`` when it can)."""
    found = _probe(folder)
    return found[0] if found else None


def require_writable(folders: dict[str, Path]) -> None:
    """Raise one :class:`UserError` naming every folder (by its role) that cannot be written.

    ``folders`` maps a role the user recognises ("reports folder (--reports)") to a path.
    """
    problems = {role: (path, found) for role, path in folders.items() if (found := _probe(path)) is not None}
    if not problems:
        return
    message = "; ".join(
        f"cannot write the {role} {path.absolute()}: {why}" for role, (path, (why, _)) in problems.items()
    )
    if in_docker() and any(permission for _, (_, permission) in problems.values()):
        hint = (
            "The image runs as uid 1000 and a folder mounted with -v keeps its host owner. Run the container "
            "as yourself: docker run --user $(id -u):$(id -g) ..., and mount a home you own as well "
            "(-v $PWD/cbis-home:/work/.cbis-bench); or make the folder writable by uid 1000."
        )
    else:
        hint = "Choose another folder (--reports, --home or CBIS_BENCH_HOME) or change its permissions."
    raise UserError(message, hint=hint)
