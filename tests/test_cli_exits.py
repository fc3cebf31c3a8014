"""Every command's refusal reaches the shell as its exit code, one sentence on stderr."""

from __future__ import annotations

import json

from tests.conftest import Ivig
from tests.factories import request_doc


def test_an_unknown_policy_exits_2_naming_it(ivig: Ivig) -> None:
    result = ivig("rules", "list", "--policy", "nope")
    assert result.code == 2
    assert result.err.startswith("ivig: policy:") and "nope" in result.err
    assert result.out == ""


def test_a_bad_policy_in_the_environment_refuses_a_request(ivig: Ivig) -> None:
    ivig.monkeypatch.setenv("IVIG_POLICY", "nope")
    result = ivig("course", "request", "--file", "-", stdin=json.dumps(request_doc()))
    assert result.code == 2 and "IVIG_POLICY" in result.err


def test_global_json_flag_applies_to_rules(ivig: Ivig) -> None:
    document = json.loads(ivig("--json", "rules", "list").out)
    assert document["policy_id"] == "default"
