"""The base of every record the harness stores or passes between its stages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Read-only once made; unknown keys are an error (a damaged or foreign file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
