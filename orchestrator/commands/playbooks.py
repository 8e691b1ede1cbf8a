"""`cardano-fleet playbooks`: the playbooks the package carries, to run by name (`plan -i INV NAME`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list the bundled playbooks (plan/run take them by name) and the roles they use"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable list (name, path, title, roles)")


def run(args: argparse.Namespace) -> int:
    """Exit 0; an unreadable bundled playbook is reported as an error (exit 1)."""
    from orchestrator.load.bundled import bundled_playbooks, bundled_root, roles_dirs
    from orchestrator.load.playbook import PlaybookError, load_playbook
    from orchestrator.report.terminal import keep_headers, make_console

    rows: list[dict[str, Any]] = []
    status = 0
    for playbook in bundled_playbooks():
        try:
            loaded = load_playbook(playbook.path, roles_dir=roles_dirs(playbook.path))
            roles = sorted({r.name for stage in loaded.stages for r in stage.roles})
            stages = [s.name for s in loaded.stages]
        except PlaybookError as exc:
            roles, stages, status = [f"error: {exc}"], [], 1
        rows.append({"name": playbook.name, "path": str(playbook.path), "title": playbook.title,
                     "summary": playbook.summary, "stages": stages, "roles": roles})  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return status
    from rich.table import Table

    console = make_console()
    table = Table(title=f"Bundled playbooks ({bundled_root()})", title_justify="left", show_lines=True)
    for column in ("name", "what it does", "stages", "roles"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], f"{row['title']}\n{row['summary']}".strip(), ", ".join(row["stages"]),
                      ", ".join(row["roles"]))  # fmt: skip
    console.print(keep_headers(table), crop=False)
    console.print("Run one by name: cardano-fleet plan -i INVENTORY NAME (a path to your own playbook works too; "
                  "your own roles/ overrides a bundled role of the same name).", highlight=False, soft_wrap=True)  # fmt: skip
    return status
