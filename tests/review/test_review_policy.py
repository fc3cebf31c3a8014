"""Loading, validating and replacing policies; the rules page and ``ivig rules list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_helpers import build_context, build_request
from typer.testing import CliRunner

from workflow.cli import main
from workflow.cli.rules import app
from workflow.errors import InvalidInput
from workflow.review import Policy, evaluate, load_policy, packaged_policies
from workflow.review.catalog import render_markdown
from workflow.schemas import Severity

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_policies_load() -> None:
    assert {"default", "restricted-dlrpn"} <= set(packaged_policies())
    for policy_id in packaged_policies():
        assert load_policy(policy_id).id == policy_id


def test_without_ref_the_default_unless_ivig_policy_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IVIG_POLICY", raising=False)
    assert load_policy().id == "default"
    monkeypatch.setenv("IVIG_POLICY", "restricted-dlrpn")
    assert load_policy().id == "restricted-dlrpn"


def test_ivig_policy_may_name_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "programme.yaml"
    path.write_text('extends: default\nid: programme-x\nversion: "3"\n', encoding="utf-8")
    monkeypatch.setenv("IVIG_POLICY", str(path))
    policy = load_policy()
    assert (policy.id, policy.version) == ("programme-x", "3")


def test_unknown_policy_names_ivig_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_POLICY", "no-such-policy")
    with pytest.raises(InvalidInput, match=r"^IVIG_POLICY: 'no-such-policy' is neither"):
        load_policy()


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InvalidInput, match="cannot read policy file .*absent.yaml"):
        load_policy(str(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a list\n", "must be a YAML mapping"),
        ("id: [unclosed\n", "is not valid YAML"),
        (
            "extends: default\nrules:\n  dose.daily:\n    tolerance: 1.5\n",
            r"rules\.dose\.daily\.tolerance: Input should be less than 1",
        ),
        (
            "extends: default\nrules:\n  glycemic.target:\n    max_hba1c_percent: -1\n",
            r"rules\.glycemic\.target\.max_hba1c_percent",
        ),
        (
            "extends: default\nrules:\n  severity.grade:\n    recommendations: ['Grade {nope}']\n",
            "unknown threshold",
        ),
        ("extends: default\nrules:\n  no.such.rule: {}\n", r"rules\.no\.such\.rule"),
        ("extends: default\nversion: 2\n", "version"),
        ("extends: elsewhere\n", "not a packaged policy"),
    ],
)
def test_invalid_policies_are_refused_in_one_sentence(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=expected) as caught:
        load_policy(str(path))
    assert str(path) in caught.value.message
    assert caught.value.message.endswith(".") and "\n" not in caught.value.message


def test_thresholds_come_from_the_policy(tmp_path: Path) -> None:
    """A programme with a lower pregabalin threshold changes the finding, not the code."""
    path = tmp_path / "lenient.yaml"
    path.write_text(
        "extends: default\nid: lenient\nversion: '1'\nrules:\n  therapy.first_line:\n"
        "    adequate_mg_per_day: {pregabalin: 150, gabapentin: 900, duloxetine: 60}\n",
        encoding="utf-8",
    )
    request = build_request(medications=[{"name": "pregabalin", "mg_per_day": 150}])
    context = build_context(diabetes="none", prior=None)
    request = build_request(
        indication="ici_neuropathy",
        severity_grade=2,
        medications=[{"name": "pregabalin", "mg_per_day": 150}],
    )
    default = evaluate(request, context, load_policy("default"))
    lenient = evaluate(request, context, load_policy(str(path)))
    assert [f.rule for f in default.findings] == ["severity.grade", "therapy.first_line"]
    assert [f.rule for f in lenient.findings] == ["severity.grade"]
    assert lenient.policy_id == "lenient"


def test_a_rule_can_be_disabled(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "extends: default\nrules:\n  safety.thrombosis_risk: {enabled: false}\n", encoding="utf-8"
    )
    request = build_request(thromboembolic_risk_factors=["prior_thrombosis"])
    result = evaluate(request, build_context(), load_policy(str(path)))
    assert "safety.thrombosis_risk" not in {f.rule for f in result.findings}


def test_restricted_policy_blocks_dlrpn_without_code_change(
    policy: Policy, restricted: Policy
) -> None:
    request, context = build_request(indication="dlrpn"), build_context()
    assert evaluate(request, context, policy).outcome == "supported"

    result = evaluate(request, context, restricted)
    assert result.outcome == "not_supported"
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("indication.not_funded", Severity.BLOCK)
    ]
    assert (result.policy_id, result.policy_version) == ("restricted-dlrpn", restricted.version)


def test_restricted_policy_leaves_other_indications_alone(
    policy: Policy, restricted: Policy
) -> None:
    request = build_request(indication="ici_neuropathy")
    assert evaluate(request, build_context(), restricted).findings == []


def test_docs_rules_md_is_up_to_date() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == render_markdown(load_policy("default")), "run: python scripts/gen_rules_doc.py"


def test_docs_list_every_rule_with_its_source() -> None:
    policy = load_policy("default")
    page = render_markdown(policy)
    for rule_id, config in policy.rules:
        assert f"`{rule_id}`" in page
        assert " ".join(config.source.split()) in page


def test_docs_give_the_course_safety_limits_with_their_sources() -> None:
    policy = load_policy("default")
    page = render_markdown(policy)
    for source in (policy.dosing.source, policy.safety.source, policy.safety.followup.source):
        assert " ".join(source.split()) in page
    assert "valid for 90 days" in page and "lapsing within 14 days" in page
    assert "more than 3 days apart" in page and "grade 3 or more" in page
    assert "under 18 years" in page and "below 152 cm" in page and "pregnancy" in page
    assert "creatinine clearance below 60 mL/min, age 65 or more, or diabetes" in page


def test_rules_list_gives_the_safety_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVIG_POLICY", raising=False)
    document = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert document["safety"]["approval_valid_days"] == 90
    assert document["safety"]["followup"]["min_age"] == 65
    assert document["safety"]["source"] and document["dosing"]["source"]
    people = runner.invoke(app, ["list"]).stdout
    assert '"approval_valid_days": 90' in people and "renal dysfunction" in people


runner = CliRunner()


def test_rules_list_json_is_one_document() -> None:
    result = runner.invoke(app, ["list", "--json", "--policy", "restricted-dlrpn"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["policy_id"] == "restricted-dlrpn"
    rules = {rule["id"]: rule for rule in document["rules"]}
    assert rules["indication.not_funded"]["applies_to"] == ["dlrpn"]
    assert rules["dose.daily"]["thresholds"] == {"target_g_per_kg_per_day": 0.4, "tolerance": 0.1}
    assert rules["retreatment.prior_response"]["severities"] == {
        "default": "block",
        "when_responded": "info",
        "when_not_assessed": "warn",
    }
    assert all(rule["source"] for rule in document["rules"])


def test_rules_list_for_people(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVIG_POLICY", raising=False)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "Policy default version" in result.stdout
    assert "therapy.renal_adjustment  [warn]" in result.stdout
    assert "seed 003" in result.stdout


def test_rules_list_with_a_bad_policy_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # Through the console script's entry point, which maps errors to exit codes.
    with pytest.raises(SystemExit) as exited:
        main(["rules", "list", "--policy", "nope", "--json"])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "'nope' is neither a policy file nor a packaged policy" in err
