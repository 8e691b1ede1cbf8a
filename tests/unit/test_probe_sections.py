"""The gate's light probe: only the health sections, so sampling every second reads no files."""

from __future__ import annotations

import re

from orchestrator.cardano.layouts import IOG
from orchestrator.facts.probe import HEALTH_SECTIONS, build_probe
from orchestrator.model import Host, Role

BP = Host("bp1", Role.BLOCK_PRODUCER, "203.0.113.21", IOG)


def sections_of(script: str) -> set[str]:
    return set(re.findall(r"@@cf-begin ([a-z_]+)@@", script))


def test_full_probe_has_every_section_including_key_metadata():
    assert sections_of(build_probe(BP)) >= HEALTH_SECTIONS | {"config", "topology", "genesis", "keys", "releases"}


def test_health_probe_ships_no_files_and_reads_no_keys():
    script = build_probe(BP, HEALTH_SECTIONS)
    assert sections_of(script) == set(HEALTH_SECTIONS)
    assert IOG.keys_dir not in script
    # config.json is consulted on the host only for its scribes (where the node logs), never shipped
    assert "base64" not in script and "sha256sum" not in script and "b2sum" not in script
