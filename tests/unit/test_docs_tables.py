"""The docs' tables say what the code does (issue 29 item 7): exit codes (README, docs/audit.md,
--help), the settings and their defaults (docs/playbooks.md vs roles/*/defaults.yml), the stages of
the bundled upgrade playbook (README), the audit rules and the audit JSON schema (docs/audit.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.audit.checks import RULES
from orchestrator.commands import _exit
from orchestrator.report.audit_json import AUDIT_JSON_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
PLAYBOOKS_MD = (ROOT / "docs" / "playbooks.md").read_text()
AUDIT_MD = (ROOT / "docs" / "audit.md").read_text()


def _rows(text: str, header: str) -> list[list[str]]:
    """The cells of the markdown table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows


def test_readme_exit_codes_are_the_codes() -> None:
    rows = _rows(README, "| command | code | meaning |")
    want = [[f"`{cmd}`", "*" if code < 0 else str(code), meaning]
            for cmd, codes in _exit.EXIT_CODES.items() for code, meaning in codes]
    want += [["every command", str(code), meaning] for code, meaning in _exit.COMMON]
    assert rows == want


def test_audit_md_exit_codes_are_the_audit_codes() -> None:
    rows = _rows(AUDIT_MD, "| code | meaning |")
    assert [int(r[0]) for r in rows] == [code for code, _ in _exit.EXIT_CODES["audit"]]


def test_audit_md_rules_table_is_the_rule_set() -> None:
    rows = _rows(AUDIT_MD, "| id | applies to |")
    want = [[f"`{r.id}`", r.applies_to.value, r.severity.value, r.category, r.description] for r in RULES]
    assert rows == want


def test_audit_md_json_schema_is_the_codes() -> None:
    block = AUDIT_MD[AUDIT_MD.index("## JSON schema"):]
    text = block[block.index("```json") + len("```json"):]
    text = text[: text.index("```")]
    assert json.loads(text) == AUDIT_JSON_SCHEMA


def _role_defaults() -> dict[str, dict[str, Any]]:
    yaml = YAML(typ="safe", pure=True)
    return {d.name: dict(yaml.load((d / "defaults.yml").read_text()) or {})
            for d in sorted((ROOT / "roles").iterdir()) if (d / "defaults.yml").exists()}


def _settings_table() -> list[tuple[list[str], str, str]]:
    """(setting names, role, default cell) per row of docs/playbooks.md's settings table."""
    out = []
    for row in _rows(PLAYBOOKS_MD, "| setting (role) |"):
        names = re.findall(r"`([a-z_0-9]+)`", row[0].split("(")[0])
        role = re.search(r"\(([a-z_0-9]+)\)\s*$", row[0])
        assert role, row[0]
        out.append((names, role.group(1), row[2]))
    return out


def test_every_setting_in_the_table_is_a_role_default_and_every_default_is_in_the_table() -> None:
    defaults = _role_defaults()
    documented = {(name, role) for names, role, _ in _settings_table() for name in names}
    actual = {(name, role) for role, values in defaults.items() for name in values}
    assert documented - actual == set(), "documented, but no role has this default"
    assert actual - documented == set(), "a role default the settings table does not document"


def _literal(cell: str) -> Any:
    """The value a default cell starts with, or a sentinel when it is prose only."""
    token = cell.strip().strip("`").split("`")[0].split(":")[0].strip()
    token = re.sub(r"\s*s$", "", token)  # "120 s"
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    return {"null": None, "true": True, "false": False, "[]": [], "auto": "auto"}.get(token, ...)


@pytest.mark.parametrize("row", _settings_table(), ids=lambda r: ",".join(r[0]))
def test_each_documented_default_is_the_roles_default(row: tuple[list[str], str, str]) -> None:
    names, role, cell = row
    defaults = _role_defaults()[role]
    parts = [p.strip() for p in cell.split(",")] if len(names) > 1 else [cell]
    if len(parts) < len(names):
        pytest.skip(f"prose default for {names}")
    for name, part in zip(names, parts, strict=False):
        value = _literal(part)
        if value is ...:
            continue  # prose (e.g. "the host itself"): not a literal to compare
        assert defaults[name] == value, f"{name}: docs say {part!r}, roles/{role}/defaults.yml says {defaults[name]!r}"


def test_readme_names_the_upgrade_playbooks_stages() -> None:
    yaml = YAML(typ="safe", pure=True)
    stages = [s["name"] for s in yaml.load((ROOT / "playbooks" / "upgrade-8.9.0.yml").read_text())["stages"]]
    said = re.search(r"`upgrade-8\.9\.0` \(([^)]*)\)", README)
    assert said, "README no longer names upgrade-8.9.0's stages"
    assert [s.strip().replace(" ", "_") for s in said.group(1).split(",")] == stages
