"""The lab's one network guard (orchestrator/ssh/guard.py): loopback and 198.18.0.0/15 only, names
never resolved; the transport applies it when CARDANO_FLEET_LAB_ONLY=1, the delay relay always."""

from __future__ import annotations

import pytest

from orchestrator.lab.delay_relay import RelayError, check_listen_address
from orchestrator.ssh.errors import TransportError
from orchestrator.ssh.guard import LAB_ONLY_ENV, AddressKind, check_destination, lab_address, lab_only, lab_only_env


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", AddressKind.LAB), ("::1", AddressKind.LAB), ("198.18.4.11", AddressKind.LAB),
        ("198.19.255.254", AddressKind.LAB), ("198.17.255.255", AddressKind.OUTSIDE), ("198.20.0.1", AddressKind.OUTSIDE),
        ("10.0.0.1", AddressKind.OUTSIDE), ("203.0.113.5", AddressKind.OUTSIDE), ("2001:db8::1", AddressKind.OUTSIDE),
        ("relays-new.cardano-mainnet.iohk.io", AddressKind.NAME), ("localhost", AddressKind.NAME), ("", AddressKind.NAME),
    ],
)  # fmt: skip
def test_lab_address(address: str, kind: AddressKind) -> None:
    assert lab_address(address) is kind


def test_the_transport_guard_is_off_unless_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LAB_ONLY_ENV, raising=False)
    assert not lab_only()
    check_destination("203.0.113.5")  # off: anything goes (an operator's real fleet)
    monkeypatch.setenv(LAB_ONLY_ENV, "1")
    assert lab_only() and lab_only_env({"PATH": "/bin"}) == {"PATH": "/bin", LAB_ONLY_ENV: "1"}
    for ok in ("localhost", "127.0.0.1", "[::1]", "198.18.4.11"):
        check_destination(ok)
    with pytest.raises(TransportError, match=f"{LAB_ONLY_ENV}=1 allows only loopback and 198.18.0.0/15$"):
        check_destination("203.0.113.5")
    with pytest.raises(TransportError, match="no name resolution"):
        check_destination("relay1.example.com")


def test_the_relay_listens_only_inside_the_lab() -> None:
    check_listen_address("198.18.5.1")
    check_listen_address("127.0.0.1")
    with pytest.raises(RelayError, match="refusing to listen on 0.0.0.0"):
        check_listen_address("0.0.0.0")  # noqa: S104 - the point: refused
    with pytest.raises(RelayError, match="not an IP address"):
        check_listen_address("localhost")
