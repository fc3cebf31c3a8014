"""``ivig patient list [--search TEXT]``: MRN prefix or part of a name, any case,
a page at a time."""

from __future__ import annotations

from tests.conftest import Ivig
from tests.factories import register


def test_search_matches_an_mrn_prefix_or_a_name_in_any_case(ivig: Ivig) -> None:
    register(ivig, "AB-100")
    register(ivig, "AB-200")
    register(ivig, "ZZ-1")

    assert [p["mrn"] for p in ivig.ok("patient", "list", "--search", "ab-")] == [
        "AB-100",
        "AB-200",
    ]
    assert [p["mrn"] for p in ivig.ok("patient", "list", "--search", "TEST pat")] == [
        "AB-100",
        "AB-200",
        "ZZ-1",
    ]
    assert ivig.ok("patient", "list", "--search", "1") == []  # a prefix, not a part


def test_pages_say_how_many_and_where_the_next_starts(ivig: Ivig) -> None:
    for n in range(5):
        register(ivig, f"M{n}")

    first = ivig("patient", "list", "--limit", "2")
    assert first.code == 0
    assert "showing 1-2 of 5 patients" in first.out
    cursor = first.out.split("--cursor ")[1].split()[0]
    second = ivig.ok("patient", "list", "--limit", "2", "--cursor", cursor)
    assert [p["mrn"] for p in second] == ["M2", "M3"]
    assert ivig("patient", "list", "--cursor", "nonsense").code == 2
    assert ivig("patient", "list", "--limit", "0").code == 2
