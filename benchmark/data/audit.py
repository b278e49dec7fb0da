"""The preparation audit: every row read, resolved, repaired or dropped is counted here.

Counters are keyed by a short, stable phrase; each skip also keeps the file or row it
concerns so a user can see exactly what was dropped and why. The audit is written with
every prepared patch set and summarised in the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Audit:
    counts: Counter[str] = field(default_factory=Counter)
    events: list[dict[str, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    max_events_per_kind: int = 50

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def event(self, key: str, where: str, detail: str = "") -> None:
        """Count ``key`` and remember which file or row it concerns."""
        self.counts[key] += 1
        if self.counts[key] <= self.max_events_per_kind:
            self.events.append({"kind": key, "where": where, "detail": detail})

    def merge(self, other: "Audit") -> None:
        for key, n in other.counts.items():
            room = max(0, self.max_events_per_kind - self.counts[key])
            self.events += [e for e in other.events if e["kind"] == key][:room]
            self.counts[key] += n
        self.notes.update(other.notes)

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.counts.items())), "events": self.events, "notes": self.notes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Audit":
        return cls(Counter(data.get("counts", {})), list(data.get("events", [])), dict(data.get("notes", {})))
