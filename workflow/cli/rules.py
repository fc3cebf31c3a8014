"""``ivig rules``: show the active review policy's rules (thin: the data comes from review)."""

from __future__ import annotations

import json

import typer

from workflow.cli.common import wants_json
from workflow.review import Policy, describe_rules, load_policy

app = typer.Typer(help="Show the medical-necessity rules of the active review policy.")


@app.callback()
def rules() -> None:
    """Show the medical-necessity rules of the active review policy."""
    # A callback keeps `list` a sub-command even while it is the only one.


POLICY_HELP = "A policy YAML file or a packaged policy id (default: IVIG_POLICY, else 'default')."


@app.command("list")
def list_rules(
    policy: str | None = typer.Option(None, "--policy", metavar="REF", help=POLICY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List each rule: id, severity, thresholds and the statement it rests on."""
    active = load_policy(policy)
    if wants_json(as_json):
        typer.echo(json.dumps(_document(active), ensure_ascii=False, indent=2))
        return
    typer.echo(f"Policy {active.id} version {active.version}: {active.title}")
    for rule in describe_rules(active):
        severities = " / ".join(dict.fromkeys(str(s) for s in rule.severities.values()))
        state = "" if rule.enabled else " (disabled)"
        applies = "all" if rule.applies_to is None else ", ".join(rule.applies_to) or "none"
        typer.echo(f"\n{rule.id}  [{severities}]{state}  applies to: {applies}")
        typer.echo(f"  when:   {rule.when}")
        if rule.thresholds:
            typer.echo(f"  limits: {json.dumps(rule.thresholds, ensure_ascii=False)}")
        typer.echo(f"  source: {rule.source}")
    _echo_limits("dosing", active.dosing.model_dump(mode="json"))
    _echo_limits("safety", active.safety.model_dump(mode="json"))


def _echo_limits(name: str, section: dict[str, object]) -> None:
    """A policy section that is not a rule (checks on the course): limits and source."""
    sources = {k: section.pop(k) for k in list(section) if k == "source"}
    nested = {k: section.pop(k) for k in list(section) if isinstance(section[k], dict)}
    typer.echo(f"\n{name}  (policy section)")
    typer.echo(f"  limits: {json.dumps(section, ensure_ascii=False)}")
    if sources.get("source"):
        typer.echo(f"  source: {sources['source']}")
    for key, value in nested.items():
        if isinstance(value, dict) and "source" in value:
            inner = dict(value)
            inner_source = inner.pop("source")
            typer.echo(f"  {key}: {json.dumps(inner, ensure_ascii=False)}")
            typer.echo(f"    source: {inner_source}")


def _document(policy: Policy) -> dict[str, object]:
    return {
        "policy_id": policy.id,
        "policy_version": policy.version,
        "title": policy.title,
        "dosing": policy.dosing.model_dump(mode="json"),
        "safety": policy.safety.model_dump(mode="json"),
        "rules": [rule.model_dump(mode="json") for rule in describe_rules(policy)],
    }
