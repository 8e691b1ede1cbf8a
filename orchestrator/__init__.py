"""cardano-fleet: rolling upgrades of cardano-node fleets to 8.9.0 with P2P, gated on sync health."""

__version__ = "0.1.0"
