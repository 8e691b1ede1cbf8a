"""The pip-installed tool carries its playbooks: build the wheel, install it into a fresh virtualenv
outside the checkout, and run `plan`/`run --check` by playbook name against a lab fleet.

No network: the wheel is built without build isolation (setuptools and wheel come from the test
extras), and the fresh virtualenv gets only the wheel; its dependencies (fabric, paramiko, …) are
reached through a .pth line naming this checkout's site-packages — the package itself comes only
from the wheel, which the test asserts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.integration.conftest import Lab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
_SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".lab*", ".cardano-fleet",
                               ".mypy_cache", ".ruff_cache", ".pytest_cache", "bench")  # fmt: skip


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_SKIP)  # never build inside the checkout
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source)],
                   check=True, timeout=600, cwd=work)  # fmt: skip
    (wheel,) = dist.glob("cardano_fleet-*.whl")
    env_dir = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    env_python = env_dir / "bin" / "python"
    subprocess.run([*pip, "--python", str(env_python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=600, cwd=work)  # fmt: skip
    purelib = subprocess.run([str(env_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    Path(purelib, "zz-checkout-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def fleet(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["COLUMNS"] = "200"
    return subprocess.run([str(venv / "bin" / "cardano-fleet"), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)  # fmt: skip


def test_the_wheel_carries_playbooks_and_roles(venv: Path, tmp_path: Path) -> None:
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import orchestrator; print(orchestrator.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout  # fmt: skip
    assert where.startswith(str(venv)), f"orchestrator imported from {where}, not from the installed wheel"
    listed = fleet(venv, "playbooks", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    playbooks = {p["name"]: p for p in json.loads(listed.stdout)}
    assert {"upgrade-8.9.0", "enable-p2p"} <= set(playbooks)
    assert playbooks["upgrade-8.9.0"]["path"].startswith(str(venv))
    assert "sync_gate" in playbooks["upgrade-8.9.0"]["roles"]


def test_installed_tool_plans_and_checks_by_playbook_name(venv: Path, lab: Lab, tmp_path: Path) -> None:
    inventory = str(lab.inventory_path)
    plan = fleet(venv, "plan", "-i", inventory, "upgrade-8.9.0", cwd=tmp_path)
    assert plan.returncode in (0, 2), plan.stderr + plan.stdout
    assert "Plan:" in plan.stdout and "relay1" in plan.stdout
    check = fleet(venv, "run", "-i", inventory, "upgrade-8.9.0.yml", "--check", cwd=tmp_path)
    assert check.returncode == plan.returncode, check.stderr + check.stdout
    assert "--check: nothing was changed on any host." in check.stdout
    own = tmp_path / "mine.yml"  # a path still works
    own.write_text((venv / "lib").joinpath(*_bundled_parts(venv), "playbooks", "upgrade-8.9.0.yml").read_text())
    by_path = fleet(venv, "plan", "-i", inventory, str(own), cwd=tmp_path)
    assert by_path.returncode == plan.returncode, by_path.stderr + by_path.stdout
    unknown = fleet(venv, "plan", "-i", inventory, "upgrade-9.9.9", cwd=tmp_path)
    assert unknown.returncode == 1 and "bundled: enable-p2p, upgrade-8.9.0" in unknown.stderr


def test_an_operators_roles_directory_overrides_the_bundled_role(venv: Path, lab: Lab, tmp_path: Path) -> None:
    steps = tmp_path / "roles" / "sync_gate" / "steps.yml"
    steps.parent.mkdir(parents=True)
    steps.write_text("- no_such_action: {}\n")
    plan = fleet(venv, "plan", "-i", str(lab.inventory_path), "upgrade-8.9.0", cwd=tmp_path)
    assert plan.returncode == 1
    assert str(steps) in plan.stderr and "no_such_action" in plan.stderr


def _bundled_parts(venv: Path) -> tuple[str, ...]:
    (site,) = (venv / "lib").glob("python3*/site-packages")
    return (*site.relative_to(venv / "lib").parts, "orchestrator", "bundled")
