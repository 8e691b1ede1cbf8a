"""Slot and epoch arithmetic of cardano/networks.py (the lab node's `query tip` reads it from here)."""

from __future__ import annotations

import pytest

from orchestrator.cardano.networks import BYRON_EPOCH_SLOTS, network


@pytest.mark.parametrize(
    ("net", "slot", "epoch"),
    [
        ("mainnet", 0, (0, 0, BYRON_EPOCH_SLOTS)),
        ("mainnet", 4492799, (207, 21599, 1)),  # the last Byron slot
        ("mainnet", 4492800, (208, 0, 432000)),  # Shelley's first epoch is 208 (docs: mainnet hard forks)
        ("mainnet", 4492800 + 432000 + 5, (209, 5, 431995)),
        ("preprod", 86400, (4, 0, 432000)),  # 4 Byron epochs, then Shelley
        ("preview", 86400 * 3 + 5, (3, 5, 86395)),  # no Byron era, one-day epochs
    ],
)
def test_epoch_of(net: str, slot: int, epoch: tuple[int, int, int]) -> None:
    assert network(net).epoch_of(slot) == epoch


@pytest.mark.parametrize("net", ["mainnet", "preprod", "preview"])
def test_slot_start_is_the_inverse_of_the_wall_clock_slot(net: str) -> None:
    n = network(net)
    for slot in (n.shelley_slot_offset, n.shelley_slot_offset + 1, n.shelley_slot_offset + 10**8):
        assert n.expected_slot(n.slot_start_unix(slot)) == slot
    if n.shelley_slot_offset:
        assert n.slot_start_unix(1) - n.slot_start_unix(0) == 20  # Byron slots last 20 s
        assert n.slot_start_unix(n.shelley_slot_offset) == n.shelley_start_unix
    assert n.slot_start_unix(0) == n.system_start_unix


def test_mainnet_magic_is_carried_in_the_protocol_but_not_given_to_the_cli() -> None:
    assert network("mainnet").magic is None  # cardano-cli takes --mainnet
    assert network("mainnet").protocol_magic == 764824073
    assert network("preview").protocol_magic == 2
