"""Plan-time values: what a playbook step asks of a host's gate and restart window, decided before any
SSH and read by actions, the planner, the run spec and the engine alike.

A leaf package (issue 24): it imports only the standard library and the leaf packages `cardano` and
`facts.clock`, so every stage package can import it without an import cycle (see README's layout).
"""
