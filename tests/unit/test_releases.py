"""Release tarballs: the real layouts, runnable zipapps, a stable sha256."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from orchestrator.cardano import node_rules
from orchestrator.cardano.releases import known_versions
from orchestrator.lab import releases, simnode

DATA = Path(releases.__file__).resolve().parents[1] / "cardano" / "data"


def members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {info.name: info for info in tar.getmembers()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, releases.Release]:
    """Each release tarball built once for this module (a build takes most of a second); tests that
    extract one do it into their own directory."""
    out = tmp_path_factory.mktemp("releases")
    return {version: releases.build_release(version, out / version) for version in ("8.7.3", "8.9.0")}


def test_8_9_0_layout_and_stable_sha(tmp_path: Path, built: dict[str, releases.Release]) -> None:
    first = built["8.9.0"]
    second = releases.build_release("8.9.0", tmp_path / "b")  # a second build: byte for byte the same
    assert first.sha256 == second.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.path.read_bytes() == second.path.read_bytes()
    # ... and not only because a process builds each release once: a fresh build gives the same bytes,
    # whatever the process did meanwhile (marshal's output depends on reference counts: the .pyc files
    # are compiled in a fresh interpreter; CI once failed here after the lab tests had run)
    import importlib
    import pkgutil

    import orchestrator

    for m in pkgutil.walk_packages(orchestrator.__path__, "orchestrator."):
        if not m.name.endswith(("__main__", "demo")):
            importlib.import_module(m.name)
    fresh = releases._build_tarball.__wrapped__("8.9.0")
    assert hashlib.sha256(fresh).hexdigest() == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert (first.filename, first.binary_subdir) == ("cardano-node-8.9.0-linux.tar.gz", "bin")
    entries = members(first.path)
    names = list(entries)
    assert names == sorted(names)
    for program in ("cardano-node", "cardano-cli"):
        info = entries[f"./bin/{program}"]
        assert info.mode == 0o755 and info.isfile()
    for network in ("mainnet", "preprod", "preview"):
        for name in (
            "config.json",
            "topology.json",
            *(f"{e}-genesis.json" for e in ("byron", "shelley", "alonzo", "conway")),
        ):
            assert entries[f"./share/{network}/{name}"].mode == 0o644
    assert {info.mtime for info in entries.values()} == {releases.FIXED_MTIME}
    with tarfile.open(first.path) as tar:
        extracted = tar.extractfile("./share/preprod/conway-genesis.json")
        assert extracted is not None
        assert extracted.read() == (DATA / "8.9.0" / "preprod" / "conway-genesis.json").read_bytes()


def test_8_7_3_layout_is_self_consistent(tmp_path: Path, built: dict[str, releases.Release]) -> None:
    release = built["8.7.3"]
    assert release.binary_subdir == ""
    entries = members(release.path)
    assert entries["./cardano-node"].mode == 0o755 and entries["./cardano-cli"].mode == 0o755
    assert not any(name.startswith("./bin") for name in entries)
    with tarfile.open(release.path) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    conf = tmp_path / "x" / "configuration" / "cardano"
    config = json.loads((conf / "mainnet-config.json").read_text())
    assert config["ConwayGenesisFile"] == "mainnet-conway-genesis.json"
    # The shipped files pass the 8.7.3 node's own checks (the Conway hash included).
    check = node_rules.check_node_files("8.7.3", str(conf / "mainnet-config.json"), str(conf / "mainnet-topology.json"))
    assert check.ok, check.errors


def test_zipapps_run_under_bare_python(tmp_path: Path, built: dict[str, releases.Release]) -> None:
    for version, subdir in (("8.7.3", ""), ("8.9.0", "bin")):
        release = built[version]
        with tarfile.open(release.path) as tar:
            tar.extractall(tmp_path / version / "x", filter="tar")
        binary = tmp_path / version / "x" / subdir / "cardano-node"
        assert binary.read_bytes().startswith(b"#!/bin/sh\n")  # sh answers the version forms, then exec python3 -IS
        # -I: isolated, nothing from this checkout or the venv on the path; the archive's __main__
        # answers as the sh in front of it does (python3 reads a zip from its end).
        expected = f"cardano-node {version} - linux-x86_64 - ghc-8.10\ngit rev "
        for argv in (["/usr/bin/python3", "-I", str(binary)], [str(binary)]):
            for form in (["--version"], ["version"], ["-v"], ["+RTS", "-N", "-RTS", "--version"]):
                done = subprocess.run([*argv, *form], capture_output=True, check=True)
                assert done.stdout.decode().startswith(expected), (argv, form)
        cli = binary.with_name("cardano-cli")
        for argv in (["/usr/bin/python3", "-I", str(cli)], [str(cli)]):
            for form in (["--version"], ["version"], ["+RTS", "-N", "-RTS", "version"]):
                done = subprocess.run([*argv, *form], capture_output=True, check=True)
                assert done.stdout.decode() == simnode.version_text("cardano-cli", version) + "\n", (argv, form)
        # Not a version form: the interpreter answers (usage error, exit 1), not the sh in front.
        done = subprocess.run([str(binary), "--version", "extra"], capture_output=True, check=False)
        assert done.returncode == 1 and b"Usage: cardano-node" in done.stderr


def test_launcher_quotes_what_it_prints() -> None:
    """The sh in front of each binary prints the version text verbatim, quotes and all (a release
    whose CLI version is not catalogued says so with an apostrophe)."""
    for version in releases.LAB_VERSIONS:
        for program in ("cardano-node", "cardano-cli"):
            script = releases.launcher(version, program)
            done = subprocess.run(["/bin/sh", "-c", script.decode(), program, "--version"], capture_output=True,
                                  check=True)  # fmt: skip
            assert done.stdout.decode() == simnode.version_text(program, version) + "\n"


def test_zipapp_contents() -> None:
    data = releases.build_zipapp("8.9.0", "cardano-node")
    assert data == releases.build_zipapp("8.9.0", "cardano-node")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert archive.read("orchestrator/__init__.py") == b""
        assert "node_main('8.9.0'" in archive.read("__main__.py").decode()
    assert {
        "orchestrator/lab/simnode.py",
        "orchestrator/cardano/node_rules.py",
        "orchestrator/cardano/networks.py",
    } <= set(names)
    assert names == sorted(names)


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8.9.1 is not a release this tool knows"):
        releases.build_release("8.9.1", tmp_path)


def test_the_lab_boots_what_it_can_and_names_the_rest() -> None:
    """A catalogued release the lab cannot impersonate yet is refused by name, not booted on the
    8.x files; an unknown one is refused with the catalogue's list."""
    # every tagged release of the catalogue (the provisional 11.1.0 is not booted: its facts are a branch's)
    assert set(releases.LAB_VERSIONS) == set(known_versions(include_provisional=False))
    assert set(releases.LAB_VERSIONS) <= set(known_versions())
    for version in releases.LAB_VERSIONS:
        assert releases.lab_version(version) == version
    with pytest.raises(ValueError, match=r"cannot boot cardano-node 11\.1\.0 yet \(it is catalogued"):
        releases.lab_version("11.1.0")  # provisional
    unknown = r"9\.9\.9 is not a release this tool knows \(known: .*10\.1\.4.*\); the lab boots .*11\.0\.1"
    with pytest.raises(ValueError, match=unknown):
        releases.lab_version("9.9.9")
