"""What happens while a spec runs, as events: stages emit them, and whatever shows or
records progress (the rich display, the plain line-per-event output, a test) subscribes.
An emitter never waits on its subscribers' display and never knows who listens
(Lightning's callbacks, applied to the harness's stages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Something that happened to a ``subject`` (a run id, a spec name) in a ``stage``."""

    stage: str
    subject: str


@dataclass(frozen=True)
class Started(Event):
    detail: str = ""


@dataclass(frozen=True)
class Done(Event):
    seconds: float = 0.0
    summary: str = ""


@dataclass(frozen=True)
class Skipped(Event):
    reason: str = ""


@dataclass(frozen=True)
class Warned(Event):
    message: str = ""


@dataclass(frozen=True)
class Note(Event):
    """A line for whoever watches (a ``--rerun`` removal, the loggers' count)."""

    message: str = ""


# -- a spec's runs (the subject is the run id; the spec's name for RunsPlanned) ---------------
@dataclass(frozen=True)
class Advanced(Event):
    """Progress within a stage: ``done`` of ``total`` items (patch preparation's images)."""

    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Prepared(Event):
    """One patch variant's patches are ready (``subject``: the variant's description)."""

    patches: int = 0
    cache_hit: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class RunsPlanned(Event):
    total: int = 0
    done: int = 0  # finished earlier: skipped


@dataclass(frozen=True)
class RunStarted(Event):
    label: str = ""
    note: str | None = None  # what it picks up from kept weights
    max_epochs: int = 0


@dataclass(frozen=True)
class EpochEnded(Event):
    record: Any = None  # benchmark.training.epoch.Epoch (not imported: this module stays light)
    max_epochs: int = 0


@dataclass(frozen=True)
class RunFinished(Event):
    label: str = ""
    accuracy: float = 0.0
    here: bool = True  # computed by this process (False: by another one, while we waited)


@dataclass(frozen=True)
class RunWaiting(Event):
    label: str = ""
    lock: str = ""


@dataclass(frozen=True)
class RunFailed(Event):
    message: str = ""


Listener = Callable[[Event], None]


@dataclass
class Events:
    """The subscribers of one spec's run; ``emit`` calls each in order."""

    listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> Events:
        self.listeners.append(listener)
        return self

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)


#: emitted into by stages that were given no subscribers
SILENT = Events()
