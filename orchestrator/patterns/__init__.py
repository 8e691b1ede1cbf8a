"""Names the operator types: Ansible's host patterns and "did you mean" for a misspelt name.

A leaf package (issue 24): standard library only, so `model` (Inventory.select) and `load` both use it
without an import cycle.
"""
