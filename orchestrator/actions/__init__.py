"""Built-in actions, one module each (stage_release, install_release, migrate_config, convert_topology,
restart_node, sync_gate, drain_node, return_node), and their registry. See base.py for what an action
is: its arguments declared once in a frozen dataclass, and what the rest of the tool asks of it as
methods of `Operation`."""
