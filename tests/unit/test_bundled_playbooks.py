"""Bundled playbooks by name, a path still works, and an operator's roles override the bundled ones."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.load.bundled import bundled_playbooks, bundled_root, resolve_playbook, roles_dirs
from orchestrator.load.playbook import PlaybookError, load_playbook

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_playbooks_are_the_repositorys() -> None:
    names = {p.name: p for p in bundled_playbooks()}
    assert set(names) == {p.stem for p in (ROOT / "playbooks").glob("*.yml")}
    assert names["upgrade-8.9.0"].title == "Upgrade cardano-node to 8.9.0 with P2P"
    assert (bundled_root() / "roles" / "sync_gate" / "steps.yml").is_file()


@pytest.mark.parametrize("argument", ["upgrade-8.9.0", "upgrade-8.9.0.yml"])
def test_a_name_resolves_to_the_bundled_playbook(argument: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_playbook(argument) == bundled_root() / "playbooks" / "upgrade-8.9.0.yml"


def test_a_path_wins_over_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "upgrade-8.9.0.yml"
    own.write_text("name: mine\n")
    assert resolve_playbook("upgrade-8.9.0.yml") == Path("upgrade-8.9.0.yml")


def test_an_unknown_name_lists_the_bundled_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PlaybookError, match="bundled: enable-p2p, upgrade-8.9.0"):
        resolve_playbook("upgrade-9.9.9")


def test_operators_roles_come_before_the_bundled_ones(tmp_path: Path) -> None:
    (tmp_path / "roles" / "sync_gate").mkdir(parents=True)
    (tmp_path / "roles" / "sync_gate" / "steps.yml").write_text("- no_such_action: {}\n")
    bundled = bundled_root() / "playbooks" / "upgrade-8.9.0.yml"
    dirs = roles_dirs(bundled, cwd=tmp_path)
    assert dirs == ((tmp_path / "roles").resolve(), (bundled_root() / "roles").resolve())
    with pytest.raises(PlaybookError) as err:
        load_playbook(bundled, roles_dir=dirs)
    assert str(tmp_path / "roles" / "sync_gate" / "steps.yml") in str(err.value)
    assert load_playbook(bundled, roles_dir=roles_dirs(bundled, cwd=tmp_path / "elsewhere")).stages


def test_playbooks_command_lists_names_stages_and_roles() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["playbooks", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(out.getvalue())}
    assert rows["upgrade-8.9.0"]["stages"] == ["stage", "relays", "passive_nodes", "block_producers"]
    assert "p2p_topology" in rows["enable-p2p"]["roles"]
