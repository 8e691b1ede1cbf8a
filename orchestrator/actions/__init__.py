"""Built-in actions, one module each (stage_release, install_release, migrate_config, convert_topology,
restart_node, sync_gate), and their registry. See base.py for what an action is."""
