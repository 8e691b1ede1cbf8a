"""Load and validate, before any SSH: inventories, variables, playbooks and roles, the run spec."""
