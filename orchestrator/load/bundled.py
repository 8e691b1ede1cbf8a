"""Playbooks by name: the ones the package carries, found without a path (`plan -i INV upgrade-8.9.0`).

A PLAYBOOK argument that names an existing file is that file (a path always works). Otherwise it is
the name of a bundled playbook (`upgrade-8.9.0`, with or without `.yml`). Roles are looked up in the
operator's own directories first (`roles/` beside the playbook, one level up, then `./roles`), and
only then in the bundled roles: a role the operator keeps overrides the bundled one of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.load.playbook import PlaybookError

__all__ = ["BundledPlaybook", "bundled_playbooks", "bundled_root", "resolve_playbook", "roles_dirs"]


def bundled_root() -> Path:
    """Where the package's playbooks/ and roles/ are (inside the installed package)."""
    import orchestrator.bundled

    return Path(orchestrator.bundled.__file__).resolve().parent


@dataclass(frozen=True)
class BundledPlaybook:
    name: str  # what `plan`/`run` take
    path: Path
    title: str  # the playbook's `name:`
    summary: str  # its leading comment, joined


def bundled_playbooks() -> list[BundledPlaybook]:
    """Every playbook the package carries, by name."""
    out: list[BundledPlaybook] = []
    directory = bundled_root() / "playbooks"
    for file in sorted(directory.glob("*.y*ml")):
        title, comment = "", []
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") and not title:
                comment.append(line.lstrip("# ").strip())
            elif line.startswith("name:"):
                title = line.split(":", 1)[1].strip().strip("\"'")
                break
            elif line.strip():
                break
        out.append(BundledPlaybook(file.stem, file, title, " ".join(comment)))
    return out


def resolve_playbook(argument: str) -> Path:
    """The playbook file a PLAYBOOK argument means; raises PlaybookError listing the bundled names."""
    given = Path(argument)
    if given.is_file():
        return given
    name = given.name.removesuffix(".yml").removesuffix(".yaml")
    if given.parent == Path(".") and not given.exists():
        for playbook in bundled_playbooks():
            if playbook.name == name:
                return playbook.path
    names = ", ".join(p.name for p in bundled_playbooks())
    raise PlaybookError(argument, 0, 0, f"no such playbook file, and no bundled playbook of that name (bundled: {names})")


def roles_dirs(playbook: Path, cwd: Path | None = None) -> tuple[Path, ...]:
    """Operator's roles first (beside the playbook, one level up, ./roles), the bundled roles last."""
    here = playbook.resolve().parent
    bundled = (bundled_root() / "roles").resolve()
    candidates = [here / "roles", here.parent / "roles", (cwd or Path.cwd()) / "roles"]
    out: list[Path] = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_dir() and resolved not in out and resolved != bundled:
            out.append(resolved)
    return (*out, bundled)
