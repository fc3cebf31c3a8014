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

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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
    """One row of a label's renal table: the total daily dose range from ``min`` mL/min
    (inclusive, or exclusive when ``above``) up to the next band's ``min``."""

    min: Clearance
    low: MgPerDay
    high: MgPerDay
    # The clearance exactly at ``min`` belongs to the band below (a label's ">30-59").
    above: bool = False
    # The label's own words for the band (">30–59"); else drawn from the bounds.
    label: str | None = None
    # Below this clearance the label reduces the band's doses in proportion to it
    # (gabapentin: 7.5 mL/min takes half the dose of 15 mL/min).
    proportional_below: Clearance | None = None

    def holds(self, clearance: float) -> bool:
        return clearance > self.min if self.above else clearance >= self.min


class RenalTable(_Frozen):
    """One label's renal dose table (a US prescribing information, an EU SmPC...)."""

    label: str  # "US label", "EU SmPC"
    source: str
    # Highest clearance first; the last band starts at 0.
    bands: tuple[RenalBand, ...]

    @model_validator(mode="after")
    def _bands_descend_to_zero(self) -> RenalTable:
        mins = [band.min for band in self.bands]
        if not mins or mins != sorted(mins, reverse=True) or mins[-1] != 0:
            raise ValueError(f"{self.label}: renal bands must descend to min 0")
        if self.bands[-1].above:
            raise ValueError(f"{self.label}: the last band must include 0")
        return self

    def band(self, clearance: float) -> RenalBand:
        return next(band for band in self.bands if band.holds(clearance))

    def band_label(self, band: RenalBand) -> str:
        """The label's words if given, else "15–30", "≥ 60" or "< 15" (mL/min)."""
        if band.label is not None:
            return f"{band.label} mL/min"
        index = self.bands.index(band)
        lower = f"> {band.min:g}" if band.above else f"{band.min:g}"
        if index == 0:
            return f"{'>' if band.above else '≥'} {band.min:g} mL/min"
        upper = self.bands[index - 1].min
        if band.min == 0:
            return f"{'≤' if self.bands[index - 1].above else '<'} {upper:g} mL/min"
        return f"{lower}–{upper:g} mL/min"

    def range_at(self, band: RenalBand, clearance: float) -> tuple[float, float]:
        """The band's (low, high) mg/day at this clearance, reduced in proportion where
        the label says so; rounded down to whole mg, so never above the label."""
        below = band.proportional_below
        if below is None or clearance >= below:
            return band.low, band.high
        share = max(clearance, 0.0) / below
        return math.floor(band.low * share), math.floor(band.high * share)


@dataclass(frozen=True)
class LabelBand:
    """One label's band for a clearance, as a finding quotes it."""

    table: str  # "US label"
    band: str  # ">30–59 mL/min"
    low: float
    high: float
    proportional: bool  # reduced in proportion to the clearance
    top: bool  # the label's band for normal renal function

    def text(self) -> str:
        scaled = ", reduced in proportion to the clearance" if self.proportional else ""
        return f"{self.table} {self.band}: {_num(self.low)}–{_num(self.high)} mg/day{scaled}"


@dataclass(frozen=True)
class RenalLimit:
    """What the labels allow at one creatinine clearance: the strictest maximum of them."""

    clearance: float
    low: float  # the lowest of the labels' lower ends
    high: float  # the lowest of the labels' maxima: the most the patient may take
    bands: tuple[LabelBand, ...]

    @property
    def reduced(self) -> bool:
        """Some label puts this clearance below its band for normal renal function."""
        return any(not band.top for band in self.bands)

    def where(self) -> str:
        """ "creatinine clearance 15–30 mL/min" when every label has the same band, else
        "creatinine clearance 45 mL/min: US label >30–59 mL/min, EU SmPC 30–49 mL/min"."""
        names = dict.fromkeys(band.band for band in self.bands)
        if len(names) == 1 and not any(band.proportional for band in self.bands):
            return f"creatinine clearance {next(iter(names))}"
        each = ", ".join(f"{band.table} {band.band}" for band in self.bands)
        return f"creatinine clearance {_num(self.clearance)} mL/min: {each}"

    def ranges(self) -> str:
        """ "US label 15–30 mL/min: 25–150 mg/day; EU SmPC ..." """
        return "; ".join(band.text() for band in self.bands)


def _num(value: float) -> str:
    return f"{value:g}"


class Medicine(_Frozen):
    generic: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9 -]*$")]
    atc: str | None = None
    atc_former: str | None = None  # the code before a WHO ATC alteration, if it moved
    klass: Annotated[str, Field(alias="class", pattern=r"^[a-z_]+$")]
    brands: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    usual_mg_per_day: tuple[MgPerDay, MgPerDay] | None = None
    max_mg_per_day: MgPerDay | None = None
    # Each label's renal table; the strictest of them applies at any clearance.
    renal_tables: tuple[RenalTable, ...] = ()
    avoid_below_creatinine_clearance: Clearance | None = None
    avoid_in_hepatic_disease: bool = False
    nephrotoxic: bool = False
    source: str

    def renal_limit(self, clearance: float) -> RenalLimit | None:
        """The labels' dose range at a creatinine clearance, or None without tables."""
        if not self.renal_tables:
            return None
        bands = []
        for table in self.renal_tables:
            band = table.band(clearance)
            low, high = table.range_at(band, clearance)
            proportional = (low, high) != (band.low, band.high)
            top = band is table.bands[0]
            bands.append(
                LabelBand(table.label, table.band_label(band), low, high, proportional, top)
            )
        return RenalLimit(
            clearance,
            min(band.low for band in bands),
            min(band.high for band in bands),
            tuple(bands),
        )


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
        cited += [t.source for m in self.medicines for t in m.renal_tables]
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
        return self.text_of(medicine.source)

    def text_of(self, source: str) -> str:
        return " ".join(self.sources[source].split())

    def renal_source_texts(self, medicine: Medicine) -> list[str]:
        """The medicine's own source, then each renal table's, without repeats."""
        keys = dict.fromkeys((medicine.source, *(t.source for t in medicine.renal_tables)))
        return [self.text_of(key) for key in keys]

    def of_class(self, klass: str) -> list[Medicine]:
        return [m for m in self.medicines if m.klass == klass]


@dataclass(frozen=True)
class Match:
    """A medication line recognised: the medicine, the name it was written as."""

    medicine: Medicine
    written_as: str  # the vocabulary's spelling of the matched name
    combination: Combination | None = None
    # Not a known name but one letter or two from one ("pregablin"): judged as that
    # medicine, and reported by therapy.unrecognised so that the spelling is checked.
    guessed_from: str | None = None

    @property
    def generic(self) -> str:
        return self.medicine.generic

    def label(self) -> str:
        """ "pregabalin", or "Lyrica (pregabalin)", or "Targin (oxycodone + naloxone)"."""
        if self.guessed_from is not None:
            return f"{self.guessed_from} (read as {self.written_as})"
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


# When one line names several medicines ("paracetamol/codeine", "Tylenol-Codeine
# No.3"), the rules judge it as the component of the first of these classes present
# (an opioid is never hidden behind its paracetamol), else as its first component.
_JUDGED_FIRST = ("opioid", "gabapentinoid", "snri", "tca")


def match(
    name: str, aliases: Mapping[str, str] | None = None, vocabulary: Vocabulary | None = None
) -> Match | None:
    """The medicine a written name refers to, or None when the vocabulary does not know it.

    A line that names several medicines is a combination of them, judged as the
    component ``_JUDGED_FIRST`` ranks highest.
    """
    vocabulary = vocabulary or load_medicines()
    words = _words(name)
    found = _every(words, vocabulary.index)
    if not found and aliases:
        found = _every([aliases.get(word, word) for word in words], vocabulary.index)
    if not found:
        packaged = vocabulary is load_medicines()
        guess = _guess_packaged(tuple(words)) if packaged else _guess(tuple(words), vocabulary)
        if guess is None:
            return None
        return replace(guess, guessed_from=" ".join(name.split()))
    components = list(
        dict.fromkeys(
            part
            for one in found
            for part in (one.combination.components if one.combination else (one.generic,))
        )
    )
    if len(components) == 1 or (len(found) == 1 and found[0].combination is not None):
        return found[0]
    rank = {klass: i for i, klass in enumerate(_JUDGED_FIRST)}
    judged = min(found, key=lambda one: rank.get(one.medicine.klass, len(rank)))
    combination = Combination(
        name=" ".join(name.split()),
        maps_to=judged.generic,
        components=tuple(components),
        source=judged.medicine.source,
    )
    return Match(judged.medicine, combination.name, combination)


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment), or
    ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2]:
                if a[i - 2] == b[j - 1]:
                    current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return row[-1]


def _allowed_typos(length: int) -> int:
    """Letters that may be wrong in a name of this length: none below 5 letters (too
    many short names are a letter apart), one up to 10 (fluoxetine is two from
    duloxetine), two from 11."""
    return 0 if length < 5 else 1 if length < 11 else 2


@lru_cache(maxsize=4096)
def _guess_packaged(words: tuple[str, ...]) -> Match | None:
    return _guess(words, load_medicines())


def _guess(words: tuple[str, ...], vocabulary: Vocabulary) -> Match | None:
    """The one medicine whose name a run of the words misspells, else None.

    Ambiguity (two medicines equally close) gives no guess.
    """
    index = vocabulary.index
    best: dict[str, tuple[int, Match]] = {}
    for start in range(len(words)):
        for length in range(1, min(index.longest, len(words) - start) + 1):
            written = "".join(words[start : start + length])
            if written.isdigit():
                continue
            limit = _allowed_typos(len(written))
            for known, one in index.by_joined.items():
                if limit == 0 or _allowed_typos(len(known)) == 0:
                    continue
                distance = _distance(written, known, min(limit, _allowed_typos(len(known))))
                if distance <= min(limit, _allowed_typos(len(known))):
                    seen = best.get(one.generic)
                    if seen is None or distance < seen[0]:
                        best[one.generic] = (distance, one)
    if not best:
        return None
    closest = min(distance for distance, _ in best.values())
    winners = [one for distance, one in best.values() if distance == closest]
    return winners[0] if len(winners) == 1 else None


def _every(words: list[str], index: _Index) -> list[Match]:
    """Every known name in the line, leftmost-longest first, not overlapping."""
    found: list[Match] = []
    start = 0
    while start < len(words):
        for length in range(min(index.longest, len(words) - start), 0, -1):
            run = tuple(words[start : start + length])
            one = index.by_words.get(run) or index.by_joined.get("".join(run))
            if one is not None:
                found.append(one)
                start += length
                break
        else:
            start += 1
    return found


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
