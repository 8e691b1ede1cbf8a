"""Tests that start local processes (the simulated node, the systemctl stand-in) and wait for them:
no root and no lab, but real time, so they are kept out of the pure unit suite (tests/unit, < 30 s)."""
