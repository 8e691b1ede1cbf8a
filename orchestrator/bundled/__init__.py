"""The playbooks and roles that ship inside the package (`pip install cardano-fleet` carries them).

In a checkout, `playbooks/` and `roles/` at the top of the repository are the files; the entries here
are links to them, and the wheel holds copies (setup.cfg package_data).
"""
