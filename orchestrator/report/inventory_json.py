"""`inventory --json`: each selected host as it resolves (stable keys), its groups and the warnings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from orchestrator.cardano.layouts import PATH_VARIABLES
from orchestrator.load.secrets import redact
from orchestrator.model import Host, Inventory


def host_to_json(host: Host) -> dict[str, Any]:
    """A host as JSON-ready data with stable keys; the inventory command prints this."""
    layout = {k: getattr(host.layout, k) for k in ("name", *PATH_VARIABLES)}
    # A standby producer also has "standby_for": the block producer it stands by (only on standbys).
    standby = {"standby_for": host.standby_for} if host.standby_for else {}
    return {
        "name": host.name,
        "role": host.role.value,
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "key_file": host.key_file,
        "known_hosts_file": host.known_hosts_file,
        "proxy_jump": host.proxy_jump,
        "become": host.become,
        "become_password_env": host.become_password_env,
        "node_address": host.peer_address,
        "node_port": host.peer_port,
        "network": host.network,
        "layout": layout,
        "groups": list(host.groups),
        "vars": dict(host.vars),
        **standby,
    }


def inventory_document(inventory: Inventory, hosts: Sequence[Host]) -> dict[str, Any]:
    """The `inventory --json` document for the hosts `--limit` selected (groups keep only those)."""
    selected = {h.name for h in hosts}
    return {
        "source": inventory.source,
        "hosts": [host_to_json(h) for h in hosts],
        "groups": {
            group: [name for name in members if name in selected]
            for group, members in inventory.groups.items()
            if any(name in selected for name in members)
        },
        "warnings": list(inventory.warnings),
        # hosts with no node (cardano_role: helper): only drain/return hooks run there
        "helpers": [{"name": h.name, "ssh": f"{h.user}@{h.address}:{h.port}"} for h in inventory.helpers],
        # hosts listed and left alone: a control host (ansible_connection: local), hosts of other services
        "skipped": [{"name": name, "reason": why} for name, why in inventory.skipped.items()],
    }


def render_inventory_json(inventory: Inventory, hosts: Sequence[Host]) -> str:
    """What `inventory --json` prints (vault-decrypted values stay secret)."""
    return redact(json.dumps(inventory_document(inventory, hosts), indent=2, sort_keys=True))
