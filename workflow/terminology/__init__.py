"""The codes the programme speaks to hospitals (LOINC, SNOMED CT, ATC, UCUM, local),
loaded once from ``codes.yaml`` beside this module.

Nothing here imports FHIR or the database: the FHIR mapping, the analyst export and
the docs read the same small, typed view of the data file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

DATA_FILE = "codes.yaml"


@dataclass(frozen=True)
class Code:
    """One code in one system, with where it comes from."""

    key: str
    system: str  # the system's short name: loinc, snomed, atc, ucum, local
    uri: str
    code: str
    display: str
    source: str
    to_be_mapped: bool = False
    note: str | None = None
    unit: str | None = None
    unit_display: str | None = None
    recorded_as: str | None = None
    broader: Code | None = None
    also_accepted: tuple[tuple[str, str], ...] = ()  # (system uri, code) pairs
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def standard(self) -> bool:
        return self.system != "local"


@dataclass(frozen=True)
class Terminology:
    systems: dict[str, tuple[str, str]]  # short name -> (uri, display name)
    measures: dict[str, Code]
    indications: dict[str, Code]
    severity: dict[int, Code]
    medicines: dict[str, Code]
    activities: dict[str, Code]
    adverse_events: dict[str, Code]
    units: dict[str, tuple[str, str]]  # UCUM code -> (display, source)

    def uri(self, system: str) -> str:
        return self.systems[system][0]

    @property
    def local_system(self) -> str:
        return self.uri("local")

    def measure_for(self, system_uri: str, code: str) -> Code | None:
        """The measure a coded observation is, by its primary or an accepted code."""
        for measure in self.measures.values():
            if (system_uri, code) in ((measure.uri, measure.code), *measure.also_accepted):
                return measure
        return None


def _code(key: str, raw: dict[str, Any], systems: dict[str, tuple[str, str]]) -> Code:
    known = {
        "system",
        "code",
        "display",
        "source",
        "to_be_mapped",
        "note",
        "unit",
        "unit_display",
        "recorded_as",
        "broader",
        "also_accepted",
    }
    broader = raw.get("broader")
    return Code(
        key=key,
        system=raw["system"],
        uri=systems[raw["system"]][0],
        code=str(raw["code"]),
        display=raw["display"],
        source=str(raw.get("source", "")),
        to_be_mapped=bool(raw.get("to_be_mapped", False)),
        note=raw.get("note"),
        unit=raw.get("unit"),
        unit_display=raw.get("unit_display"),
        recorded_as=raw.get("recorded_as"),
        broader=None if broader is None else _code(key, {**broader, "source": ""}, systems),
        also_accepted=tuple(
            (systems[a["system"]][0], str(a["code"])) for a in raw.get("also_accepted", ())
        ),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def parse(document: dict[str, Any]) -> Terminology:
    """The typed view of the data file; a missing unit or system fails loudly here."""
    systems = {name: (s["uri"], s["name"]) for name, s in document["systems"].items()}
    units = {str(u): (v["display"], v["source"]) for u, v in document["units"].items()}
    terms = Terminology(
        systems=systems,
        measures={k: _code(k, v, systems) for k, v in document["measures"].items()},
        indications={k: _code(k, v, systems) for k, v in document["indications"].items()},
        severity={int(k): _code(str(k), v, systems) for k, v in document["severity"].items()},
        medicines={k: _code(k, v, systems) for k, v in document["medicines"].items()},
        activities={k: _code(k, v, systems) for k, v in document.get("activities", {}).items()},
        adverse_events={
            k: _code(k, v, systems) for k, v in document.get("adverse_events", {}).items()
        },
        units=units,
    )
    for measure in terms.measures.values():
        if measure.unit not in units:
            raise ValueError(f"measure {measure.key}: unit {measure.unit!r} is not in units")
    return terms


@lru_cache(maxsize=1)
def terminology() -> Terminology:
    """The programme's codes, read once."""
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))
