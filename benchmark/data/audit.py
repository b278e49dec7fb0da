"""The preparation audit: every row read, resolved, repaired or dropped is counted here.

Counters are keyed by a short, stable phrase and carry an *effect*: ``read`` and
``resolved`` say how far the data got, ``repaired`` that something wrong was found and
fixed (the item was kept), ``dropped`` that something was lost, ``noted`` a fact about the
data that changes nothing. Each event also keeps the file or row it concerns, so a user
can see exactly what was dropped and why. The audit is written with every prepared patch
set, printed by ``cbis-bench prepare`` and summarised in the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Effect = Literal["read", "resolved", "repaired", "dropped", "noted"]
EFFECTS: tuple[Effect, ...] = ("read", "resolved", "repaired", "dropped", "noted")


@dataclass
class Audit:
    counts: Counter[str] = field(default_factory=Counter)
    events: list[dict[str, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    effects: dict[str, Effect] = field(default_factory=dict)
    max_events_per_kind: int = 50

    def count(self, key: str, n: int = 1, effect: Effect = "noted") -> None:
        self.counts[key] += n
        self.effects.setdefault(key, effect)

    def event(self, key: str, where: str, detail: str = "", effect: Effect = "noted") -> None:
        """Count ``key`` and remember which file or row it concerns."""
        self.count(key, 1, effect)
        if self.counts[key] <= self.max_events_per_kind:
            self.events.append({"kind": key, "where": where, "detail": detail})

    def merge(self, other: Audit) -> None:
        for key, n in other.counts.items():
            room = max(0, self.max_events_per_kind - self.counts[key])
            self.events += [e for e in other.events if e["kind"] == key][:room]
            self.count(key, n, other.effects.get(key, "noted"))
        self.notes.update(other.notes)

    def by_effect(self) -> dict[Effect, dict[str, int]]:
        """Counters grouped by effect (in :data:`EFFECTS` order), each group sorted by key."""
        groups: dict[Effect, dict[str, int]] = {e: {} for e in EFFECTS}
        for key in sorted(self.counts):
            groups[self.effects.get(key, "noted")][key] = self.counts[key]
        return groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "events": self.events,
            "notes": self.notes,
            "effects": dict(sorted(self.effects.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audit:
        return cls(
            Counter(data.get("counts", {})),
            list(data.get("events", [])),
            dict(data.get("notes", {})),
            dict(data.get("effects", {})),
        )
