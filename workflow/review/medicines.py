"""Recognising medicines by name, as written by people.

Names are compared as lower-case word tokens after mapping the policy's aliases
(brand names), so "Lyrica", "pregabalin CR" and "PREGABALIN" are all pregabalin and
"Solu-Medrol" is methylprednisolone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workflow.schemas import Medication

_WORD = re.compile(r"[a-z0-9]+")


def tokens(name: str, aliases: Mapping[str, str]) -> list[str]:
    """The name's words, each replaced by its generic name where the policy knows one."""
    return [aliases.get(word, word) for word in _WORD.findall(name.lower())]


def identify(name: str, known: Iterable[str], aliases: Mapping[str, str]) -> str | None:
    """The first of ``known`` that the name mentions, or None."""
    wanted = set(known)
    return next((word for word in tokens(name, aliases) if word in wanted), None)


@dataclass(frozen=True)
class AgentDose:
    """The daily total of one agent across the request's entries."""

    agent: str
    mg_per_day: float
    dose_unknown: bool  # some entry gave no mg_per_day


def daily_totals(
    medications: Iterable[Medication], known: Iterable[str], aliases: Mapping[str, str]
) -> dict[str, AgentDose]:
    """Per known agent: summed mg/day (split doses may be listed as separate entries)."""
    wanted = tuple(known)
    totals: dict[str, AgentDose] = {}
    for medication in medications:
        agent = identify(medication.name, wanted, aliases)
        if agent is None:
            continue
        before = totals.get(agent, AgentDose(agent, 0.0, False))
        totals[agent] = AgentDose(
            agent,
            before.mg_per_day + (medication.mg_per_day or 0.0),
            before.dose_unknown or medication.mg_per_day is None,
        )
    return totals
