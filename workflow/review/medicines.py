"""Recognising medicines by name, as written by people, against the medicines vocabulary.

The vocabulary (``vocab/medicines.yaml``, package data) holds each medicine's generic
name, ATC code, class, brands in several countries, label doses and renal dose bands,
each with its source. A medication line is read as lower-case words; the leftmost,
longest run of words that spells a known name wins, so "Lyrica 75 mg bd",
"PREGABALIN" and "pregabalin CR" are pregabalin, "Solu-Medrol" is methylprednisolone
and "Tylenol #3" is codeine (a combination product maps to its opioid). A policy's
``aliases`` (token -> generic) are applied first, so a programme may add local names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow.review.packaged import load_yaml
from workflow.schemas import Medication

_WORD = re.compile(r"[a-z0-9]+")
_PACKAGE, _FOLDER, _FILE = "workflow.review", "vocab", "medicines.yaml"

MgPerDay = Annotated[float, Field(gt=0, le=100_000)]
Clearance = Annotated[float, Field(ge=0, le=500)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RenalBand(_Frozen):
    """The label's total daily dose range from ``min`` mL/min up to the next band."""

    min: Clearance
    low: MgPerDay
    high: MgPerDay


class Medicine(_Frozen):
    generic: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9 -]*$")]
    atc: str | None = None
    atc_former: str | None = None  # the code before a WHO ATC alteration, if it moved
    klass: Annotated[str, Field(alias="class", pattern=r"^[a-z_]+$")]
    brands: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    usual_mg_per_day: tuple[MgPerDay, MgPerDay] | None = None
    max_mg_per_day: MgPerDay | None = None
    # Highest clearance first; the last band starts at 0.
    renal_bands: tuple[RenalBand, ...] = ()
    avoid_below_creatinine_clearance: Clearance | None = None
    avoid_in_hepatic_disease: bool = False
    nephrotoxic: bool = False
    source: str

    @model_validator(mode="after")
    def _bands_descend_to_zero(self) -> Medicine:
        mins = [band.min for band in self.renal_bands]
        if mins and (mins != sorted(mins, reverse=True) or mins[-1] != 0):
            raise ValueError(f"{self.generic}: renal bands must descend to min 0")
        return self

    def band(self, clearance: float) -> RenalBand | None:
        """The renal band for a creatinine clearance, or None without bands."""
        return next((band for band in self.renal_bands if clearance >= band.min), None)

    def band_label(self, band: RenalBand) -> str:
        """ "15–30 mL/min", "≥ 60 mL/min" or "< 15 mL/min"."""
        index = self.renal_bands.index(band)
        if index == 0:
            return f"≥ {band.min:g} mL/min"
        upper = self.renal_bands[index - 1].min
        return f"< {upper:g} mL/min" if band.min == 0 else f"{band.min:g}–{upper:g} mL/min"


class Combination(_Frozen):
    """A product of several medicines; the rules judge it as ``maps_to``."""

    name: str
    maps_to: str
    components: tuple[str, ...]
    source: str


class Vocabulary(_Frozen):
    version: str
    sources: dict[str, str]
    medicines: tuple[Medicine, ...]
    combinations: tuple[Combination, ...] = ()

    @model_validator(mode="after")
    def _references_resolve(self) -> Vocabulary:
        generics = {m.generic for m in self.medicines}
        if len(generics) != len(self.medicines):
            raise ValueError("a generic name is listed twice")
        cited = [m.source for m in self.medicines] + [c.source for c in self.combinations]
        for source in cited:
            if source not in self.sources:
                raise ValueError(f"unknown source {source!r}")
        for combination in self.combinations:
            if combination.maps_to not in generics:
                raise ValueError(f"{combination.name}: unknown medicine {combination.maps_to!r}")
        return self

    @cached_property
    def index(self) -> _Index:
        return _build_index(self)

    def get(self, generic: str) -> Medicine | None:
        return self.index.by_generic.get(generic)

    def source_text(self, medicine: Medicine | Combination) -> str:
        return " ".join(self.sources[medicine.source].split())

    def of_class(self, klass: str) -> list[Medicine]:
        return [m for m in self.medicines if m.klass == klass]


@dataclass(frozen=True)
class Match:
    """A medication line recognised: the medicine, the name it was written as."""

    medicine: Medicine
    written_as: str  # the vocabulary's spelling of the matched name
    combination: Combination | None = None

    @property
    def generic(self) -> str:
        return self.medicine.generic

    def label(self) -> str:
        """ "pregabalin", or "Lyrica (pregabalin)", or "Targin (oxycodone + naloxone)"."""
        if self.combination is not None:
            return f"{self.written_as} ({' + '.join(self.combination.components)})"
        if self.written_as.lower() == self.generic:
            return self.generic
        return f"{self.written_as} ({self.generic})"


@dataclass(frozen=True)
class _Index:
    by_generic: dict[str, Medicine]
    by_words: dict[tuple[str, ...], Match]
    by_joined: dict[str, Match]
    longest: int


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _build_index(vocabulary: Vocabulary) -> _Index:
    entries: list[tuple[str, Match]] = []
    for medicine in vocabulary.medicines:
        for name in (medicine.generic, *medicine.synonyms):
            entries.append((name, Match(medicine, medicine.generic)))
        for brand in medicine.brands:
            entries.append((brand, Match(medicine, brand)))
    by_generic = {m.generic: m for m in vocabulary.medicines}
    for combination in vocabulary.combinations:
        match = Match(by_generic[combination.maps_to], combination.name, combination)
        entries.append((combination.name, match))
    by_words = {tuple(_words(name)): match for name, match in entries}
    by_joined = {"".join(_words(name)): match for name, match in entries}
    return _Index(by_generic, by_words, by_joined, max(len(k) for k in by_words))


@lru_cache(maxsize=1)
def load_medicines() -> Vocabulary:
    """The packaged vocabulary, parsed and validated once."""
    text = resources.files(_PACKAGE).joinpath(_FOLDER, _FILE).read_text(encoding="utf-8")
    raw: Any = load_yaml(text)
    return Vocabulary.model_validate(raw)


def match(
    name: str, aliases: Mapping[str, str] | None = None, vocabulary: Vocabulary | None = None
) -> Match | None:
    """The medicine a written name refers to, or None when the vocabulary does not know it."""
    vocabulary = vocabulary or load_medicines()
    words = _words(name)
    found = _longest(words, vocabulary.index)
    if found is None and aliases:
        found = _longest([aliases.get(word, word) for word in words], vocabulary.index)
    return found


def _longest(words: list[str], index: _Index) -> Match | None:
    """The leftmost, longest run of words that spells a known name."""
    for start in range(len(words)):
        for length in range(min(index.longest, len(words) - start), 0, -1):
            run = tuple(words[start : start + length])
            found = index.by_words.get(run) or index.by_joined.get("".join(run))
            if found is not None:
                return found
    return None


def identify(name: str, known: Iterable[str], aliases: Mapping[str, str]) -> str | None:
    """The generic name among ``known`` that the name refers to, or None.

    ``known`` may also hold plain words that are not medicines (class terms such as
    "steroids"); those are found as words of the name.
    """
    wanted = set(known)
    found = match(name, aliases)
    if found is not None and found.generic in wanted:
        return found.generic
    return next((w for w in (aliases.get(x, x) for x in _words(name)) if w in wanted), None)


@dataclass(frozen=True)
class AgentDose:
    """The daily total of one medicine across the request's entries."""

    agent: str
    mg_per_day: float
    dose_unknown: bool  # some entry gave no mg_per_day
    # Some entry was a combination product, whose mg/day is not the agent's alone.
    combination: bool = False
    names: tuple[str, ...] = ()  # how each entry was matched, e.g. "Lyrica (pregabalin)"


def daily_totals(
    medications: Iterable[Medication], known: Iterable[str] | None, aliases: Mapping[str, str]
) -> dict[str, AgentDose]:
    """Per recognised medicine (restricted to ``known`` when given): summed mg/day.

    Split doses may be listed as separate entries, so they are added up.
    """
    wanted = None if known is None else set(known)
    totals: dict[str, AgentDose] = {}
    for medication in medications:
        found = match(medication.name, aliases)
        if found is None or (wanted is not None and found.generic not in wanted):
            continue
        before = totals.get(found.generic, AgentDose(found.generic, 0.0, False))
        totals[found.generic] = AgentDose(
            found.generic,
            before.mg_per_day + (medication.mg_per_day or 0.0),
            before.dose_unknown or medication.mg_per_day is None,
            before.combination or found.combination is not None,
            (*before.names, found.label()),
        )
    return totals
