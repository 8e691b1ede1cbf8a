"""Release tarballs for the lab's release server, in the real releases' layouts.

8.7.3: `./cardano-node`, `./cardano-cli` at the top level and `./configuration/cardano/mainnet-*.json`
(the book's 8.7.3 mainnet config and P2P topology, renamed as the node repository names them,
with the config's *GenesisFile entries pointing at those names).
8.9.0: `./bin/cardano-node`, `./bin/cardano-cli` and `./share/{mainnet,preprod,preview}/` with
config.json, topology.json and the four genesis files, byte-for-byte from the package data.
10.5.3 also ships `./bin/snapshot-converter` (lab/converter_standin.py).
10.6.4, 11.0.1: `./bin/` and `./share/{mainnet,preprod}/` (nix/binary-release.nix; the boundaries doc
§c): mainnet holds the node repository's `configuration/cardano/mainnet-{config,topology,peer-snapshot}.json`
and mainnet-conway-genesis.json at the tag, unchanged and under those names (byron/shelley/alonzo
genesis, which the config names too, from 8.9.0: hash-equal to what the config pins);
preprod the book's (10.6.4) or Mithril's (11.0.1) copies of the release's share/preprod/ files
(tests/fixtures/cardano-reference/SOURCES.txt). The release's `checkpoints.json` is not in the
reference snapshot and is not shipped (the lab's node does not read it; a real one would).

The binaries are Python zipapps (`#!/usr/bin/python3 -IS`) holding the simulated node and the
modules it imports (stdlib only, found by walking the imports), with empty `__init__.py` files
instead of the package's own. One third-party package is bundled whole, as the real binary links
libyaml: ruamel.yaml (pure Python), which reads a YAML config.json the way the node does
(cardano/node_yaml.py); it is imported only when a config is not plain JSON.
Each module also ships as unchecked hash-based bytecode: zipimport
cannot cache compiled code, and compiling the node on every `cardano-cli query tip` made each call
cost ~0.2 s of CPU (the real binaries answer in milliseconds; the facts probe runs three of them).
An interpreter with another bytecode magic number ignores the .pyc and compiles the .py.
Everything is deterministic (fixed mtimes, owners and order, gzip
without a timestamp), so the same sources give the same sha256: the operator pins it.
"""

from __future__ import annotations

import ast
import base64
import functools
import gzip
import hashlib
import importlib.util
import io
import json
import shlex
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.cardano.releases import (
    BINARY_SUBDIR,
    FROM_VERSION,
    TARGET_VERSION,
    VERSIONS,
    is_catalogued,
    known_versions,
    release_filename,
    sha256sums_filename,
)

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../orchestrator
DATA_DIR = PACKAGE_ROOT / "cardano" / "data"
ENTRY_MODULE = "orchestrator.lab.simnode"
CLI_MODULE = "orchestrator.lab.cli_standin"  # the light cardano-cli (bundled: simnode imports it)
CONVERTER_MODULE = "orchestrator.lab.converter_standin"  # snapshot-converter, where the release ships one
FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
NETWORKS_8_9_0 = ("mainnet", "preprod", "preview")
GENESIS = ("byron", "shelley", "alonzo", "conway")
# Third-party packages bundled whole into the zipapps (top-level import name → dotted package).
VENDORED: dict[str, str] = {"ruamel": "ruamel.yaml"}
# Each binary is a zip with a few lines of sh in front (a zip is read from its end, so the interpreter
# and zipimport skip the prefix; sh stops at `exec` and never reads the archive): the version forms
# are answered by sh itself (~2 ms, where the interpreter alone costs ~8), cardano-cli starts its
# light module (cli_standin) straight from the archive (`-c`: no runpy, ~4 ms less than running the
# zip as a script) and cardano-node runs the archive's __main__. `-I -S`: isolated, no site:
# everything the binaries need is inside the archive. The facts probe runs cardano-node and
# cardano-cli three times per host; real binaries answer in a few ms.
PYTHON = "/usr/bin/python3"
SHEBANG = b"#!/bin/sh\n"
# cardano-cli's bootstrap: the archive ($0) first on the path, then the light module.
_CLI_BOOT = (
    "import sys\n"
    "sys.path.insert(0, sys.argv.pop(1))\n"
    "from orchestrator.lab.cli_standin import main\n"
    "sys.exit(main({version!r}, {text!r}, sys.argv[1:]))\n"
)


@dataclass(frozen=True)
class Release:
    version: str
    path: Path
    sha256: str
    filename: str  # cardano-node-<ver>-linux.tar.gz
    binary_subdir: str  # cardano/releases.py BINARY_SUBDIR: "" (8.7.3) or "bin" (8.9.0)


def _module_path(module: str) -> Path:
    """The source of `module`: `a/b.py`, or `a/b/__init__.py` for a package (cardano/releases/)."""
    base = PACKAGE_ROOT.parent.joinpath(*module.split("."))
    package = base / "__init__.py"
    return package if package.exists() else base.with_suffix(".py")


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(orchestrator modules, other top-level modules) that `module` imports."""
    tree = ast.parse(_module_path(module).read_text(encoding="utf-8"))
    package = module if _module_path(module).name == "__init__.py" else module.rsplit(".", 1)[0]
    ours: set[str] = set()
    others: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [base]
            # `from orchestrator.cardano import networks` names a module, not an attribute.
            names += [f"{base}.{alias.name}" for alias in node.names if _module_path(f"{base}.{alias.name}").exists()]
        for name in names:
            if name == "orchestrator" or name.startswith("orchestrator."):
                if _module_path(name).exists():
                    ours.add(name)
            elif name and name != "__future__":
                others.add(name.split(".")[0])
    return ours, others


def bundled_modules(entry: str = ENTRY_MODULE) -> list[str]:
    """The orchestrator modules the simulated node needs; refuses any non-stdlib import."""
    return list(_bundled_modules(entry))


# Every zipapp (two per release) needs the same module walk and the same vendored files: worked out
# once per process (a walk parses ~20 modules; the vendored files are read and compiled), so a
# build costs its own files only. The files a zipapp carries are read at each build.
@functools.cache
def _bundled_modules(entry: str) -> tuple[str, ...]:
    seen: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        ours, others = _imports(module)
        foreign = sorted(name for name in others if name not in sys.stdlib_module_names and name not in VENDORED)
        if foreign:
            raise ValueError(f"{module} imports non-stdlib modules {foreign}: hosts have a bare python3")
        todo += sorted(ours - seen)
    return tuple(sorted(seen))


def vendored_files() -> dict[str, bytes]:
    """The bundled third-party packages' .py files (and their bytecode), by path in the zipapp."""
    return dict(_vendored_files())


@functools.cache
def _vendored_files() -> tuple[tuple[str, bytes], ...]:
    files: dict[str, bytes] = {}
    sources: dict[str, bytes] = {}
    for dotted in sorted(VENDORED.values()):
        spec = importlib.util.find_spec(dotted)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"{dotted} is not installed: the lab's node needs it to read YAML configs")
        root = Path(next(iter(spec.submodule_search_locations)))
        parts = dotted.split(".")
        for i in range(1, len(parts)):
            files.setdefault("/".join(parts[:i]) + "/__init__.py", b"")
        for source in sorted(root.rglob("*.py")):
            name = "/".join(parts) + "/" + source.relative_to(root).as_posix()
            files[name] = sources[name] = source.read_bytes()
    files.update({name + "c": pyc for name, pyc in compiled_all(sources).items()})
    return tuple(sorted(files.items()))


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


# Compiles in a fresh interpreter: marshal writes a back-reference for an object only when its
# reference count is above one (CPython Python/marshal.c w_ref), so the bytes of a code object
# marshalled in a busy process depend on what else that process holds (measured: a build, then
# importing the package, then a rebuild gave another sha256). A fresh `python -I -S` starts in the
# same state every time, so the same sources give the same .pyc bytes and the tarball the same sha.
_COMPILE_PY = (
    "import importlib.util,marshal,sys,json,base64\n"
    "out=[]\n"
    "for name,src in json.load(sys.stdin):\n"
    " s=base64.b64decode(src)\n"
    " c=compile(s,name,'exec',dont_inherit=True)\n"
    " out.append(base64.b64encode(importlib.util.MAGIC_NUMBER+(1).to_bytes(4,'little')"
    "+importlib.util.source_hash(s)+marshal.dumps(c)).decode())\n"
    "json.dump(out,sys.stdout)\n"
)


def compiled_all(sources: Mapping[str, bytes]) -> dict[str, bytes]:
    """Unchecked hash-based .pyc (PEP 552) of each source (name → bytes): never re-validated against
    the source, and deterministic — compiled in one fresh interpreter (see _COMPILE_PY)."""
    if not sources:
        return {}
    payload = json.dumps([[name, base64.b64encode(src).decode()] for name, src in sources.items()])
    done = subprocess.run([sys.executable, "-I", "-S", "-c", _COMPILE_PY], input=payload.encode(),
                          capture_output=True, check=True, timeout=120)  # fmt: skip
    return {name: base64.b64decode(pyc) for name, pyc in zip(sources, json.loads(done.stdout), strict=True)}



def launcher(version: str, program: str) -> bytes:
    """The sh in front of the archive (SHEBANG): the version forms, then `exec` of the interpreter."""
    from orchestrator.lab.simnode import VERSION_ARGV, version_text

    text = version_text(program, version)
    forms = "|".join(shlex.quote(form[0]) for form in VERSION_ARGV[program])  # each a single word
    lines = " ".join(shlex.quote(line) for line in text.split("\n"))
    if program == "cardano-cli":
        run = f"exec {PYTHON} -IS -c {shlex.quote(_CLI_BOOT.format(version=version, text=text))} \"$0\" \"$@\""
    else:
        run = f'exec {PYTHON} -IS "$0" "$@"'
    script = (
        f"# {program} {version} (cardano-fleet lab simulation): sh in front of a Python zip archive\n"
        f'if [ "$#" = 1 ]; then case "$1" in {forms}) printf \'%s\\n\' {lines}; exit 0;; esac; fi\n'
        f"{run}\n"
        "exit 127\n"
    )
    return SHEBANG + script.encode()


def build_zipapp(version: str, program: str) -> bytes:
    """The release's `program`: launcher() in front of a zip holding the simulation (stdlib only)
    with `version` baked in; cardano-cli runs the light cli_standin, cardano-node node_main."""
    if program not in ("cardano-node", "cardano-cli"):
        raise ValueError(f"unknown program {program!r}")
    files = _module_files(ENTRY_MODULE)
    files.update(vendored_files())
    from orchestrator.lab.simnode import VERSION_ARGV, version_text

    # `python3 BINARY ARGS` runs this: the same answers as through the launcher.
    if program == "cardano-cli":
        main = f"from {CLI_MODULE} import main\n\nsys.exit(main({version!r}, {version_text(program, version)!r}, sys.argv[1:]))\n"
    else:
        main = (
            f"if sys.argv[1:] in {list(VERSION_ARGV[program])!r}:\n"
            f"    print({version_text(program, version)!r})\n"
            "    sys.exit(0)\n\n"
            f"from {ENTRY_MODULE} import node_main\n\n"
            f"sys.exit(node_main({version!r}, sys.argv[1:]))\n"
        )
    files["__main__.py"] = f'"""{program} {version} (cardano-fleet lab simulation)."""\nimport sys\n\n{main}'.encode()
    return _archive(launcher(version, program), files)


def _module_files(entry: str) -> dict[str, bytes]:
    """The zipapp's files for `entry` and the modules it imports: empty package `__init__.py`s, each
    module's source and its unchecked bytecode (compiled_all), by path in the archive."""
    modules = bundled_modules(entry)
    packages = sorted({".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 1)})
    files: dict[str, bytes] = {f"{p.replace('.', '/')}/__init__.py": b"" for p in packages}
    sources = {}
    for module in modules:
        name = _module_path(module).relative_to(PACKAGE_ROOT.parent).as_posix()
        sources[name] = files[name] = _module_path(module).read_bytes()
    files.update({name + "c": pyc for name, pyc in compiled_all(sources).items()})
    return files


def _archive(prefix: bytes, files: Mapping[str, bytes]) -> bytes:
    """`prefix` (the sh in front) then a deterministic zip of `files`, in name order."""
    buffer = io.BytesIO()
    buffer.write(prefix)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            _zip_entry(archive, name, files[name])
    return buffer.getvalue()


def build_converter(version: str) -> bytes:
    """The release's `snapshot-converter` (lab/converter_standin.py): a few lines of sh, then a zip
    of the stand-in and the modules it needs (stdlib only), `version` baked in. It has no version
    form: the 10.4/10.5 converter's parser has only --help (snapshot-converter.hs @0.25.1.1 L69-74)."""
    files = _module_files(CONVERTER_MODULE)
    files["__main__.py"] = (f'"""snapshot-converter {version} (cardano-fleet lab stand-in)."""\nimport sys\n\n'
                            f"from {CONVERTER_MODULE} import main\n\nsys.exit(main({version!r}, sys.argv[1:]))\n").encode()
    prefix = SHEBANG + (f"# snapshot-converter {version} (cardano-fleet lab stand-in): sh in front of a Python "
                        f'zip archive\nexec {PYTHON} -IS "$0" "$@"\nexit 127\n').encode()  # fmt: skip
    return _archive(prefix, files)


def ships_converter(version: str) -> bool:
    """Whether the lab's tarball of `version` holds a snapshot-converter: the releases whose converter
    is of the syntax family the stand-in models (actions/convert_snapshot.py `family`; 10.5.3)."""
    from orchestrator.actions.convert_snapshot import family
    from orchestrator.cardano.releases import lookup

    return is_catalogued(version) and family(lookup(version)) is not None


def _8_7_3_files() -> dict[str, bytes]:
    source = DATA_DIR / FROM_VERSION / "mainnet"
    config = (source / "config.json").read_text(encoding="utf-8")
    for era in GENESIS:
        config = config.replace(f'"{era}-genesis.json"', f'"mainnet-{era}-genesis.json"')
    files = {
        "mainnet-config.json": config.encode(),
        "mainnet-topology.json": (source / "topology.json").read_bytes(),
        "mainnet-conway-genesis.json": (source / "conway-genesis.json").read_bytes(),
    }
    for era in ("byron", "shelley", "alonzo"):  # unchanged between 8.7.3 and 8.9.0 (data/README.md)
        files[f"mainnet-{era}-genesis.json"] = (DATA_DIR / TARGET_VERSION / "mainnet" / f"{era}-genesis.json").read_bytes()
    return {f"configuration/cardano/{name}": data for name, data in files.items()}


def _current_files(version: str) -> dict[str, bytes]:
    """share/<network>/ of a 10.6+/11.x release (module docstring), from cardano/data/<version>/."""
    files: dict[str, bytes] = {}
    for network, prefix in CURRENT_NETWORKS:
        source = DATA_DIR / version / network
        for path in sorted(source.glob("*.json")):
            files[f"share/{network}/{path.name}"] = path.read_bytes()
        for era in GENESIS[:-1]:  # conway's is the release's own (in its data directory)
            old = DATA_DIR / TARGET_VERSION / network / f"{era}-genesis.json"
            files[f"share/{network}/{prefix}{era}-genesis.json"] = old.read_bytes()
    return files


def _8_9_0_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for network in NETWORKS_8_9_0:
        source = DATA_DIR / TARGET_VERSION / network
        for name in ("config.json", "topology.json", *(f"{era}-genesis.json" for era in GENESIS)):
            files[f"share/{network}/{name}"] = (source / name).read_bytes()
    return files


# The catalogued 10.6+/11.x releases whose shipped files are in the package data (cardano/data/<v>/
# mainnet/mainnet-config.json, the node repository's name), and the prefix their config gives the
# genesis files of each network.
CURRENT_VERSIONS: tuple[str, ...] = tuple(
    v for v in known_versions(include_provisional=False) if (DATA_DIR / v / "mainnet" / "mainnet-config.json").exists()
)
CURRENT_NETWORKS: tuple[tuple[str, str], ...] = (("mainnet", "mainnet-"), ("preprod", ""))
# The catalogued releases the lab can boot: the lab ships these releases' files from the package data
# and its node follows each one's catalogue record (tracing system, metric names, CLI). A catalogued
# release outside this list is refused by name (lab_version), never booted wrongly.
LAB_VERSIONS: tuple[str, ...] = (*VERSIONS, *CURRENT_VERSIONS)


def lab_version(version: str) -> str:
    """`version` when the lab can boot it; ValueError saying what it can boot (and whether the tool
    knows the release at all) otherwise."""
    if version in LAB_VERSIONS:
        return version
    booted = ", ".join(LAB_VERSIONS)
    if is_catalogued(version):
        raise ValueError(f"the lab cannot boot cardano-node {version} yet (it is catalogued; the lab boots {booted})")
    raise ValueError(f"cardano-node {version} is not a release this tool knows (known: {', '.join(known_versions())}); "
                     f"the lab boots {booted}")  # fmt: skip


def release_members(version: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(executables, data files) of the release, by path inside the tarball (without "./"), in the
    catalogue's layout for it: binaries at the top level with `configuration/cardano/` (no binary
    subdirectory, as 8.7.3) or under `bin/` with `share/<network>/`."""
    lab_version(version)
    subdir = f"{BINARY_SUBDIR[version]}/".lstrip("/")
    binaries = {f"{subdir}{program}": build_zipapp(version, program) for program in ("cardano-node", "cardano-cli")}
    if ships_converter(version):
        binaries[f"{subdir}snapshot-converter"] = build_converter(version)
    if version in CURRENT_VERSIONS:
        return binaries, _current_files(version)
    return binaries, _8_9_0_files() if subdir else _8_7_3_files()


def _tar_info(name: str, size: int, mode: int, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.type = kind
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_tarball(version: str) -> bytes:
    """The release tarball's bytes: sorted "./" entries, directories included, gzip mtime 0.
    Built once per process and version (the sources do not change while it runs): every lab boot
    serves every bootable release."""
    return _build_tarball(version)


@functools.cache
def _build_tarball(version: str) -> bytes:
    binaries, data = release_members(version)
    files = {**binaries, **data}
    dirs = {"."} | {"./" + "/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        entries = sorted([(d, None) for d in dirs] + [(f"./{p}", p) for p in files])
        for name, key in entries:
            if key is None:
                tar.addfile(_tar_info(name + "/" if name != "." else "./", 0, 0o755, tarfile.DIRTYPE))
                continue
            content = files[key]
            mode = 0o755 if key in binaries else 0o644
            tar.addfile(_tar_info(name, len(content), mode, tarfile.REGTYPE), io.BytesIO(content))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as zipped:
        zipped.write(raw.getvalue())
    return out.getvalue()


def build_release(version: str, out_dir: Path) -> Release:
    """Write `cardano-node-<ver>-linux.tar.gz` into out_dir (atomically) and describe it."""
    data = build_tarball(version)
    out_dir.mkdir(parents=True, exist_ok=True)
    filename = release_filename(version)
    path = out_dir / filename
    tmp = out_dir / f".{filename}.tmp"
    tmp.write_bytes(data)
    tmp.replace(path)
    return Release(
        version=version,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        filename=filename,
        binary_subdir=BINARY_SUBDIR[version],
    )


def write_sums(out_dir: Path, version: str, filename: str, sha256: str) -> Path | None:
    """Beside the tarball, the sums file a release publishes from 8.12.0-pre on (None for one that
    publishes none): `sha256sum cardano-node-* >> cardano-node-<v>-sha256sums.txt` in the release
    workflow (orchestrator/cardano/releases/sums.py), so one `<hex>␠␠<file name>` line — the lab
    builds only the linux tarball. Called again with another `sha256`, it is the lab's fault "the
    published sums file disagrees with the tarball": `run` must refuse to stage."""
    name = sha256sums_filename(version)
    if name is None:
        return None
    path = out_dir / name
    tmp = out_dir / f".{name}.tmp"
    tmp.write_text(f"{sha256}  {filename}\n")
    tmp.replace(path)
    return path
