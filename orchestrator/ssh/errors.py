"""The transport's exceptions: only for operations that have no per-host result to carry a failure."""

from __future__ import annotations


class TransportError(Exception):
    """A transport operation that has no per-host result object to carry its failure (get)."""


class HostKeyError(TransportError):
    """The server's host key is unknown or changed: we refuse to talk to it."""


class UnsafeDestinationError(TransportError):
    """CARDANO_FLEET_LAB_ONLY=1 and the address is neither loopback nor the lab range."""
