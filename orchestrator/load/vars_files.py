"""Which files Ansible reads, where a directory is involved: an inventory directory's sources, and the
group_vars/ and host_vars/ files beside an inventory (ansible-core 2.19's DataLoader.find_vars_files
and the inventory directory rules; tests/oracle compares the result with Ansible itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

# Ansible's inventory directory rules: hidden files, group_vars/host_vars, and INVENTORY_IGNORE_EXTS.
INVENTORY_IGNORED = re.compile(
    r"^\.|^host_vars$|^group_vars$|^vars_plugins$|"
    + "|".join(re.escape(ext) + "$" for ext in (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
                                                 ".orig", ".cfg", ".retry"))
)


def inventory_dir_entries(path: Path) -> list[Path]:
    """The entries of an inventory directory Ansible reads as sources, sorted."""
    return [e for e in sorted(path.iterdir()) if not INVENTORY_IGNORED.search(e.name)]


VARS_EXTENSIONS = (".yml", ".yaml", ".json")  # ansible.constants.YAML_FILENAME_EXTENSIONS


def var_files(directory: Path, names: Mapping[str, object]) -> tuple[dict[str, list[Path]], list[tuple[Path, Path]]]:
    """The vars files of each name, as ansible-core 2.19's DataLoader.find_vars_files finds them, and the
    files Ansible leaves unread beside them ((unread, read instead) pairs).

    Ansible takes the first that exists of NAME (a directory or a file), NAME.yml, NAME.yaml,
    NAME.json, and only that one: with both `group_vars/all/` and `group_vars/all.yml`, it reads the
    directory and never the file. A directory is read recursively in sorted order (hidden files,
    `~` backups and files with other extensions skipped; a subdirectory with a dot in its name is not
    entered); symlinked directories and files are followed. Host names often contain dots (DNS names),
    which is why NAME itself is tried first.
    """
    found: dict[str, list[Path]] = {}
    unread: list[tuple[Path, Path]] = []
    for name in names:
        candidates = [directory / name, *(directory / f"{name}{ext}" for ext in VARS_EXTENSIONS)]
        existing = [c for c in candidates if c.exists() and not c.name.startswith(".")]
        if not existing:
            continue
        first = existing[0]
        found[name] = dir_vars_files(first) if first.is_dir() else [first]
        unread.extend((other, first) for other in existing[1:])
    return found, unread


def dir_vars_files(directory: Path, _depth: int = 0) -> list[Path]:
    """DataLoader._get_dir_vars_files: sorted, recursive, symlinks followed (a loop stops at depth 40)."""
    if _depth > 40:
        return []
    out: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir() and not entry.suffix:
            out.extend(dir_vars_files(entry, _depth + 1))
        elif entry.is_file() and (not entry.suffix or entry.suffix in VARS_EXTENSIONS):
            out.append(entry)
    return out
