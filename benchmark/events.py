"""What happens while a spec runs, as events: stages emit them, and whatever shows or
records progress (the rich display, the plain line-per-event output, a test) subscribes.
An emitter never waits on its subscribers' display and never knows who listens
(Lightning's callbacks, applied to the harness's stages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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
