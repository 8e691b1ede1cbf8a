"""What compliant means for one fleet: the policy file, its defaults and its validation.

`load_policy` reads the policy YAML file (the one place with I/O, like `load_inventory`), so that
errors name `file:line:col`. Every field has a documented default (docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from orchestrator.audit.checks import RULES_BY_ID
from orchestrator.audit.findings import REACHABLE, Severity
from orchestrator.audit.registry import Rule
from orchestrator.cardano.health import IN_SYNC_SLOTS, MIN_HOT_PEERS
from orchestrator.cardano.networks import NETWORKS
from orchestrator.cardano.releases import CLI_VERSIONS, TARGET_VERSION, at_least, hard_fork_floor
from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS
from orchestrator.load.inventory import SourceError, did_you_mean, key_loc, load_yaml, node_loc, value_loc

# cardano-cli as shipped with each node release; a policy can pin `pinned_cli_version` explicitly.
CLI_VERSION_FOR_NODE: Mapping[str, str] = MappingProxyType(CLI_VERSIONS)


@dataclass(frozen=True)
class Policy:
    """What compliant means for one fleet; every field has a documented default."""

    pinned_version: str = TARGET_VERSION
    pinned_cli_version: str | None = None  # None: CLI_VERSION_FOR_NODE[pinned_version]
    # min-version: the oldest cardano-node a host may run; None: the release catalogue's hard-fork
    # floor for the host's network (the release a node needs to follow the chain past every
    # catalogued hard fork: cardano/releases/forks.py).
    min_version: str | None = None
    max_slot_lag: int = IN_SYNC_SLOTS
    max_stall_slots: int = 600
    max_clock_skew_seconds: int = MAX_CLOCK_SKEW_SECONDS  # shared with run's refusal (facts/clock.py)
    min_hot_peers: int = MIN_HOT_PEERS
    min_free_disk_bytes: int = 20 * 1024**3
    # kes-expiry: a producer with this many KES periods (36 h each) or fewer left is flagged; three
    # weeks, so that a weekly compliance run warns twice before `run` refuses to restart it (at its own
    # sync_gate setting kes_refuse_restart_periods). Formerly `min_kes_periods` (still read, with a warning).
    kes_expiry_alert_periods: int = 14
    network: str | None = None  # every host must be on this network (None: the inventory's own)
    fail_on: Severity = Severity.ERROR
    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "(defaults)"
    warnings: tuple[str, ...] = ()  # deprecated names read from the file: `file:line:col: ...`
    # the policy file names pinned_version: it wins over each host's inventory pin (node_release)
    pinned_version_given: bool = False

    def severity(self, rule: Rule) -> Severity:
        return self.severities.get(rule.id, rule.severity)

    def enabled(self, rule: Rule) -> bool:
        return rule.id not in self.disabled

    def floor(self, network: str) -> str | None:
        """The min-version floor for a host on `network` (None: none known for that network)."""
        if self.min_version is not None:
            return self.min_version
        try:
            return hard_fork_floor(network)
        except ValueError:
            return None

    @property
    def cli_version(self) -> str | None:
        return self.pinned_cli_version or CLI_VERSION_FOR_NODE.get(self.pinned_version)

    def cli_version_for(self, node_version: str) -> str | None:
        """The cardano-cli version expected beside `node_version` (pinned_cli_version wins)."""
        return self.pinned_cli_version or CLI_VERSION_FOR_NODE.get(node_version)


class PolicyError(SourceError):
    """The policy file is unusable; str is `path:line:col: message`."""


_INT_KEYS: Mapping[str, int] = MappingProxyType({
    "max_slot_lag": 0, "max_stall_slots": 0, "max_clock_skew_seconds": 0, "min_hot_peers": 0,
    "min_free_disk_bytes": 0, "kes_expiry_alert_periods": 0,
})  # fmt: skip  (name → minimum)
# old name → new name: still read, each with a warning naming the file and line, never silently
DEPRECATED_KEYS: Mapping[str, str] = MappingProxyType({"min_kes_periods": "kes_expiry_alert_periods"})
_STR_KEYS = ("pinned_version", "pinned_cli_version", "min_version", "network")
_POLICY_KEYS = (*_INT_KEYS, *_STR_KEYS, "fail_on", "rules")


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file; raises PolicyError naming file:line:col."""
    where = str(path)
    data = load_yaml(Path(path), PolicyError)
    return parse_policy(data, where)


def parse_policy(data: Any, where: str) -> Policy:
    """A round-trip YAML value (positions kept) → Policy; raises PolicyError."""
    top: tuple[str, int, int] = (where, 1, 1)
    if data is None:
        return Policy(source=where)
    if not isinstance(data, Mapping):
        raise PolicyError(*node_loc(data, top), "a policy is a mapping of settings (see docs/audit.md)")
    values: dict[str, Any] = {"source": where}
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for key, value in data.items():
        kloc, vloc = key_loc(data, key, top), value_loc(data, key, top)
        name = str(key)
        if name in DEPRECATED_KEYS:
            new = DEPRECATED_KEYS[name]
            warnings.append(f"{kloc[0]}:{kloc[1]}:{kloc[2]}: '{name}' is deprecated: it is now '{new}' (read as it)")
            name = new
        if name in seen:
            raise PolicyError(*kloc, f"'{name}' is given twice (as '{seen[name]}' and '{key}')")
        seen[name] = str(key)
        if name not in _POLICY_KEYS:
            hint = did_you_mean(name, _POLICY_KEYS)
            tail = f" — did you mean '{hint}'?" if hint else f"; expected one of {', '.join(_POLICY_KEYS)}"
            raise PolicyError(*kloc, f"unknown policy key '{name}'{tail}")
        if name in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_KEYS[name]:
                raise PolicyError(*vloc, f"'{name}' must be a whole number ≥ {_INT_KEYS[name]}, not {value!r}")
            values[name] = int(value)
        elif name in _STR_KEYS:
            if value is None and name != "pinned_version":
                values[name] = None
                continue
            if not isinstance(value, str) or not value.strip():
                raise PolicyError(*vloc, f"'{name}' must be a string (quote versions: \"8.9.0\"), not {value!r}")
            if name == "min_version" and not _is_version(value):
                raise PolicyError(*vloc, f"'min_version' must be a cardano-node version x.y.z, not {value!r}")
            if name == "network" and value not in NETWORKS:
                raise PolicyError(*vloc, f"unknown network {value!r}; expected one of {', '.join(NETWORKS)}")
            values[name] = str(value).strip()
        elif name == "fail_on":
            if value not in ("warning", "error", "critical"):
                raise PolicyError(*vloc, f"'fail_on' must be warning, error or critical, not {value!r}")
            values[name] = Severity(value)
        elif name == "rules":
            values["disabled"], values["severities"] = _parse_rules(value, vloc, where)
    return Policy(**values, warnings=tuple(warnings), pinned_version_given="pinned_version" in values)


def _is_version(value: str) -> bool:
    try:
        at_least(value, value)  # the catalogue's reading of x.y.z
    except ValueError:
        return False
    return True


def _parse_rules(value: Any, loc: tuple[str, int, int], where: str) -> tuple[frozenset[str], Mapping[str, Severity]]:
    if not isinstance(value, Mapping):
        raise PolicyError(*loc, "'rules' must be a mapping of rule id → {enabled: bool, severity: ...}")
    disabled: set[str] = set()
    severities: dict[str, Severity] = {}
    for rule_id, settings in value.items():
        kloc, vloc = key_loc(value, rule_id, loc), value_loc(value, rule_id, loc)
        rid = str(rule_id)
        if rid not in RULES_BY_ID:
            hint = did_you_mean(rid, RULES_BY_ID)
            tail = f" — did you mean '{hint}'?" if hint else " (cardano-fleet audit --list-rules shows them)"
            raise PolicyError(*kloc, f"unknown rule '{rid}'{tail}")
        if isinstance(settings, bool):  # shorthand: `drift: false`
            settings = {"enabled": settings}
        if isinstance(settings, str):  # shorthand: `free-disk: error`
            settings = {"severity": settings}
        if not isinstance(settings, Mapping):
            raise PolicyError(*vloc, f"rule '{rid}': expected a mapping with enabled/severity, not {settings!r}")
        for skey, svalue in settings.items():
            sloc = value_loc(settings, skey, vloc)
            if skey == "enabled":
                if not isinstance(svalue, bool):
                    raise PolicyError(*sloc, f"rule '{rid}': enabled must be true or false, not {svalue!r}")
                if not svalue:
                    if rid == REACHABLE:
                        raise PolicyError(*sloc, f"rule '{REACHABLE}' cannot be disabled: unreachable hosts are "
                                                 "always reported")  # fmt: skip
                    disabled.add(rid)
            elif skey == "severity":
                if svalue not in ("info", "warning", "error", "critical"):
                    raise PolicyError(*sloc, f"rule '{rid}': severity must be info, warning, error or critical, "
                                             f"not {svalue!r}")  # fmt: skip
                severities[rid] = Severity(svalue)
            else:
                raise PolicyError(*key_loc(settings, skey, vloc), f"rule '{rid}': unknown setting '{skey}'; "
                                                                   "expected enabled or severity")  # fmt: skip
    return frozenset(disabled), MappingProxyType(severities)
