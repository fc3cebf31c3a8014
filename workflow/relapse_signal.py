"""Suspected relapse: pain back up after a course, flagged for the coordinator to judge.

Pure arithmetic; thresholds come from the policy (``relapse_signal``). The flag never
changes the course's state: a person confirms it (``course relapse``) or dismisses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Rise:
    """The evidence of a suspected relapse."""

    vas: float
    on: date
    lowest_vas: float
    lowest_on: date
    points: float
    fraction: float | None  # None when the lowest VAS was 0

    def evidence(self) -> str:
        share = "" if self.fraction is None else f", {self.fraction:.0%}"
        return (
            f"VAS {self.vas:g} on {self.on} is up {self.points:g} points{share} from the "
            f"lowest {self.lowest_vas:g} on {self.lowest_on} after the course"
        )


def pain_rise(
    *,
    earlier: Iterable[tuple[date, float | None]],
    latest: tuple[date, float],
    last_infusion: date,
    rise_points: float,
    rise_fraction: float,
    responder: bool,
) -> Rise | None:
    """The rise of ``latest`` over the lowest post-course VAS before it, if it is big enough.

    Only a course that responded can relapse, so a non-responder is never flagged. The
    rise must reach both ``rise_points`` (an absolute change a patient notices: IMMPACT
    counts 2 points on a 0-10 scale as clinically important) and ``rise_fraction`` of
    the lowest value; a rise from 0 is judged on points alone (any rise would be an
    infinite fraction).
    """
    if not responder:
        return None
    on, vas = latest
    before = [(d, v) for d, v in earlier if v is not None and last_infusion <= d <= on]
    if not before:
        return None
    lowest_on, lowest = min(before, key=lambda pair: (pair[1], pair[0]))
    points = vas - lowest
    fraction = points / lowest if lowest > 0 else None
    by_points = points >= rise_points - 1e-9
    by_fraction = fraction is not None and fraction >= rise_fraction - 1e-9
    if points <= 0 or not by_points or not (by_fraction or fraction is None):
        return None
    return Rise(vas, on, lowest, lowest_on, points, fraction)
