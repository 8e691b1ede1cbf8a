"""The repository's playbooks as the unit tests read them: each (playbook, roles) pair parsed once
per session.

They are static files, and reading one parses a dozen YAML files (the playbook, its roles' defaults
and steps) with the pure-Python round-trip parser: that was most of a fake-fleet test's time. The
value is immutable (frozen dataclasses, read-only mappings), so sharing it cannot leak one test's
changes into another; tests about the loader itself (test_playbook.py, test_bundled_playbooks.py)
call load_playbook directly.
"""

from __future__ import annotations

import functools
from pathlib import Path

from orchestrator.load.playbook import load_playbook
from orchestrator.model import Playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


@functools.cache
def _read(path: Path, roles_dir: Path | None) -> Playbook:
    return load_playbook(path, roles_dir)


def read_playbook(path: Path, roles_dir: Path | None = None) -> Playbook:
    """load_playbook(path, roles_dir): a playbook of the repository's playbooks/ parsed once per session
    for each (path, roles_dir); any other file (a test's own, which it may rewrite) read every time."""
    if Path(path).resolve().parent != PLAYBOOKS:
        return load_playbook(path, roles_dir)
    return _read(Path(path).resolve(), None if roles_dir is None else Path(roles_dir).resolve())
