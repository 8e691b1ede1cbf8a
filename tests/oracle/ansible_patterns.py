"""Ask ansible-core which hosts each `--limit` pattern selects (run in a subprocess by the oracle test).

Usage: python ansible_patterns.py INVENTORY PATTERNS_JSON
Prints {pattern: sorted host names} or {pattern: {"error": message}} — what `ansible all --list-hosts
--limit PATTERN` lists (InventoryManager.subset, then get_hosts("all")), one InventoryManager for all
patterns (its pattern caches cleared between them).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    inventory = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
    out: dict[str, object] = {}
    for pattern in json.loads(sys.argv[2]):
        inventory.clear_pattern_cache()
        inventory._hosts_patterns_cache = {}
        try:
            inventory.subset(pattern)
            out[pattern] = sorted(h.name for h in inventory.get_hosts("all"))
        except AnsibleError as exc:
            out[pattern] = {"error": str(exc)}
        finally:
            inventory.subset(None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
