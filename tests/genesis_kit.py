"""Directories holding a config with every genesis file it names, as a node host has them.

The book's 8.7.3 folders ship only the Conway genesis that changed; the Byron, Shelley and Alonzo
files are the same at 8.9.0 (the configs pin the same hashes), so they are taken from there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REF = Path(__file__).resolve().parent / "fixtures" / "cardano-reference"
BOOK = REF / "book-play-environments"
KEPT_ERAS = ("byron", "shelley", "alonzo")


def put_genesis(directory: Path, net: str = "mainnet", conway_version: str = "8.9.0", prefix: str = "") -> None:
    """Copy the four genesis files of `net` into `directory` as `<prefix><era>-genesis.json`."""
    directory.mkdir(parents=True, exist_ok=True)
    for era in KEPT_ERAS:
        shutil.copy(BOOK / "8.9.0" / net / f"{era}-genesis.json", directory / f"{prefix}{era}-genesis.json")
    shutil.copy(BOOK / conway_version / net / "conway-genesis.json", directory / f"{prefix}conway-genesis.json")


def node_dir(directory: Path, net: str = "mainnet", version: str = "8.9.0") -> Path:
    """`directory` with the book's config.json of `version` and all its genesis files; returns the config path."""
    put_genesis(directory, net, version)
    shutil.copy(BOOK / version / net / "config.json", directory / "config.json")
    return directory / "config.json"


def put_kept_genesis(directory: Path, config: dict[str, object], net: str = "mainnet") -> None:
    """The Byron, Shelley and Alonzo files under the names `config` gives them (a migration keeps them)."""
    for era in KEPT_ERAS:
        name = config.get(f"{era.capitalize()}GenesisFile")
        if isinstance(name, str):
            shutil.copy(BOOK / "8.9.0" / net / f"{era}-genesis.json", directory / name)
