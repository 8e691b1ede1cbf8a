"""The lab's network guard: tests reach only loopback and the lab's own namespaces, nothing else.

One home for that rule. With CARDANO_FLEET_LAB_ONLY=1 (the lab tests and the benchmark switch it on
through `lab_only_env` / `LAB_ONLY_ENV`) the transport refuses every destination that is not loopback
or in the lab range before it dials (`check_destination`); the lab's delay relay refuses to listen
anywhere else, always (`lab_address`). Names are never resolved here: a name is not an address.
"""

from __future__ import annotations

import enum
import ipaddress
import os
from collections.abc import Mapping

from orchestrator.ssh.errors import UnsafeDestinationError

LAB_ONLY_ENV = "CARDANO_FLEET_LAB_ONLY"
# The lab's bridges are 198.18.N.0/24: the RFC 2544 benchmarking range, never routed on the internet.
LAB_NETWORK = ipaddress.ip_network("198.18.0.0/15")


class AddressKind(enum.Enum):
    LAB = "lab"  # loopback or the lab range
    NAME = "name"  # not an IP literal (would need name resolution)
    OUTSIDE = "outside"  # an IP address outside loopback and the lab range


def lab_address(address: str) -> AddressKind:
    """Where an IP literal points, as far as the guard is concerned (no name resolution)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return AddressKind.NAME
    return AddressKind.LAB if ip.is_loopback or ip in LAB_NETWORK else AddressKind.OUTSIDE


def lab_only(environ: Mapping[str, str] | None = None) -> bool:
    """Is the guard switched on for outgoing connections (CARDANO_FLEET_LAB_ONLY=1)?"""
    return (os.environ if environ is None else environ).get(LAB_ONLY_ENV, "") == "1"


def lab_only_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment (default: this process's) with the guard on, for a child process."""
    return {**(os.environ if environ is None else environ), LAB_ONLY_ENV: "1"}


def check_destination(address: str) -> None:
    """Refuse anything but loopback or the lab range when CARDANO_FLEET_LAB_ONLY=1 (tests set it)."""
    if not lab_only():
        return
    if address == "localhost":
        return
    kind = lab_address(address.strip("[]"))
    if kind is AddressKind.NAME:
        raise UnsafeDestinationError(
            f"refusing to connect to {address!r}: {LAB_ONLY_ENV}=1 allows only loopback and "
            f"{LAB_NETWORK} addresses (no name resolution)"
        )
    if kind is AddressKind.OUTSIDE:
        raise UnsafeDestinationError(
            f"refusing to connect to {address}: {LAB_ONLY_ENV}=1 allows only loopback and {LAB_NETWORK}"
        )
