"""Read-only facts about hosts: what the probe runs and how each section is parsed."""
