"""Ansible's host patterns (`--limit`, a play's `hosts:`), with Ansible's semantics exactly.

The rules, read from ansible-core 2.19 `lib/ansible/inventory/manager.py` (split_host_pattern,
order_patterns, InventoryManager.subset/_evaluate_patterns/_match_one_pattern/_split_subscript/
_apply_subscript/_enumerate_matches/_match_list) and `lib/ansible/parsing/utils/addresses.py`
(which strings are one address), and checked against ansible-core itself by tests/oracle/test_host_patterns.py:

- A pattern is split on `,`; without a comma, a string that is one address (`host:22`, an IPv6
  address, `web[1:3]`) is one term, otherwise it is split on `:` outside brackets. Blanks are dropped.
- In `--limit` (not in a play's `hosts:`), a term `@FILE` is replaced by FILE's lines, one term each.
- Terms are applied in the order: plain ones (union, in order), then `&` ones (intersection), then `!`
  ones (exclusion); with no plain term, `all` is the plain term.
- One term (its `&`/`!` stripped) is `~REGEX` (Python `re.match`: anchored at the start only) or a shell
  glob (`fnmatch`, case-sensitive, whole name) matched against group names — `all` and `ungrouped`
  included — giving every host of each matched group and its descendant groups; host names are
  matched too when no group matched or the term is a regex or contains `.`, `?`, `*` or `[`.
- A non-regex term may end in a subscript, `[i]` (negative counts from the end), `[i:j]` (inclusive)
  or `[i:]`, applied to that term's host list in Ansible's order (duplicates included); an index out
  of range is an error.

Where cardano-fleet differs on purpose: a role group (relays, block_producers, passive_nodes) also
holds the hosts that took the role from `cardano_role` (so a play's `hosts: relays` means every
relay); and a selection that is empty is an error in every command (Ansible warns and does nothing),
naming the terms that matched nothing, with a "did you mean" for a close group or host name.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.patterns.suggest import did_you_mean


class HostPatternError(ValueError):
    """A pattern Ansible would refuse too (a bad regex, a subscript out of range, a missing @file),
    or one that selects no host."""


@dataclass(frozen=True)
class HostUniverse:
    """What a pattern is matched against: every host name in inventory order, and every group (in the
    inventory's order, `all` and `ungrouped` first) with its hosts in Ansible's order — the group's own
    hosts, then its child groups' breadth first, each host once."""

    hosts: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]]


# --- splitting --------------------------------------------------------------------------------------

_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = rf"(?:[\w]|{_RANGE})(?:[\w-]|{_RANGE})*(?<![_-])"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
_IPV4_PART = r"(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|\[[0-9]+:[0-9]+(?::[0-9]+)?\])"
_IPV4 = re.compile(rf"^(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}$")
_HOSTPORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_BRACKETED_HOSTPORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_COLON_TERMS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")


def _is_address(text: str) -> bool:
    """True when `text` is one host identifier (name with ranges, IPv4, IPv6), with an optional port."""
    for form in (_BRACKETED_HOSTPORT, _HOSTPORT):
        m = form.match(text)
        if m:
            text = m.group(1)
    if _IPV4.match(text) or _HOSTNAME.match(text):
        return True
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def split_host_pattern(pattern: str) -> list[str]:
    """`a,b[1], c[2:3] , d` → ['a', 'b[1]', 'c[2:3]', 'd']; `a:&b:!c` → ['a', '&b', '!c']."""
    if "," in pattern:
        parts = pattern.split(",")
    elif _is_address(pattern):
        parts = [pattern]
    else:
        parts = _COLON_TERMS.findall(pattern)
    return [p.strip() for p in parts if p.strip()]


def limit_terms(pattern: str, base: Path | None = None) -> list[str]:
    """The terms of a `--limit`: `@FILE` terms replaced by FILE's lines (relative to `base` or the
    current directory). Raises HostPatternError for a missing file or a directory."""
    terms: list[str] = []
    for term in split_host_pattern(pattern):
        if not term.startswith("@"):
            terms.append(term)
            continue
        path = Path(term[1:])
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.exists():
            raise HostPatternError(f"--limit {term}: no such file {str(path)!r}")
        if not path.is_file():
            raise HostPatternError(f"--limit {term}: {str(path)!r} is a directory, not a file of host patterns")
        terms.extend(line.strip() for line in path.read_text(encoding="utf-8").split("\n"))
    return terms


# --- matching ---------------------------------------------------------------------------------------


def _compile(term: str) -> re.Pattern[str]:
    try:
        return re.compile(term[1:]) if term.startswith("~") else re.compile(fnmatch.translate(term))
    except re.error as exc:
        kind = "regex" if term[0] == "~" else "glob"
        raise HostPatternError(f"host pattern {term!r} is not a valid {kind}: {exc}") from None


def _split_subscript(term: str) -> tuple[str, tuple[int, int | None] | None]:
    if term.startswith("~"):
        return term, None
    m = _SUBSCRIPT.match(term)
    if not m:
        return term, None
    expr, index, start, _sep, end = m.groups()
    if index:
        return expr, (int(index), None)
    return expr, (int(start), int(end) if end else -1)


def _enumerate(expr: str, universe: HostUniverse) -> list[str]:
    matcher = _compile(expr)
    found: list[str] = []
    groups = [g for g in universe.groups if matcher.match(g)]
    for group in groups:
        found.extend(universe.groups[group])
    if not groups or expr.startswith("~") or any(c in expr for c in ".?*["):
        found.extend(h for h in universe.hosts if matcher.match(h))
    return found


def _one_term(term: str, universe: HostUniverse) -> list[str]:
    bare = term[1:] if term[0] in "&!" else term
    expr, subscript = _split_subscript(bare)
    hosts = _enumerate(expr, universe)
    if not hosts or subscript is None:
        return hosts
    start, end = subscript
    try:
        if end is None:
            return [hosts[start]]
        return hosts[start : (len(hosts) - 1 if end == -1 else end) + 1]
    except IndexError:
        raise HostPatternError(f"no host matched the subscripted pattern {bare!r}") from None


def _ordered(terms: Iterable[str]) -> list[str]:
    plain = [t for t in terms if t and t[0] not in "&!"]
    return (plain or ["all"]) + [t for t in terms if t.startswith("&")] + [t for t in terms if t.startswith("!")]


def evaluate(terms: Sequence[str], universe: HostUniverse) -> list[str]:
    """The host names the terms select, each once, in Ansible's order of evaluation."""
    chosen: list[str] = []
    for term in _ordered([t for t in terms if t]):
        matched = [term] if term in universe.hosts else _one_term(term, universe)
        if term[0] == "!":
            drop = set(matched)
            chosen = [h for h in chosen if h not in drop]
        elif term[0] == "&":
            keep = set(matched)
            chosen = [h for h in chosen if h in keep]
        else:
            seen = set(chosen)
            chosen.extend(h for h in matched if h not in seen)
    return list(dict.fromkeys(chosen))


def select(pattern: str, universe: HostUniverse, *, limit_base: Path | None = None, is_limit: bool = True) -> list[str]:
    """The hosts a `--limit` (is_limit: `@FILE` allowed) or a play's `hosts:` pattern selects."""
    terms = limit_terms(pattern, limit_base) if is_limit else split_host_pattern(pattern)
    return evaluate(terms, universe)


def unmatched_terms(pattern: str, universe: HostUniverse, *, limit_base: Path | None = None) -> list[str]:
    """The terms (their `&`/`!` kept) that match no host at all, for an error message."""
    out: list[str] = []
    for term in limit_terms(pattern, limit_base):
        if not term:
            continue
        bare = term[1:] if term[0] in "&!" else term
        if bare in universe.hosts:
            continue
        expr, _subscript = _split_subscript(bare)
        if not _enumerate(expr, universe):
            out.append(term)
    return out


def no_match_message(pattern: str, universe: HostUniverse, *, limit_base: Path | None = None) -> str:
    """Why `pattern` selects nothing: the terms that match nothing (with a close name when there is one),
    or that its terms' combination leaves no host."""
    names = [*(g for g in universe.groups if g not in ("all", "ungrouped")), *universe.hosts]
    parts: list[str] = []
    for term in unmatched_terms(pattern, universe, limit_base=limit_base):
        bare = term.lstrip("&!")
        hint = did_you_mean(bare, names)
        parts.append(f"{term!r} matches no group or host" + (f" (did you mean {hint!r}?)" if hint else ""))
    if parts:
        return f"--limit {pattern!r} selects no host: " + "; ".join(parts)
    return f"--limit {pattern!r} selects no host: each term matches hosts, but their combination leaves none"


def universe_from(hosts: Sequence[str], groups: Mapping[str, Sequence[str]]) -> HostUniverse:
    """A universe from plain group memberships (no Ansible ordering known): `all` is every host in
    order, `ungrouped` the hosts in no group, the rest as given."""
    grouped = {h for g, members in groups.items() if g not in ("all", "ungrouped") for h in members}
    ordered: dict[str, tuple[str, ...]] = {
        "all": tuple(hosts),
        "ungrouped": tuple(h for h in hosts if h not in grouped),
    }
    for name, members in groups.items():
        if name not in ("all", "ungrouped"):
            ordered[name] = tuple(members)
    return HostUniverse(tuple(hosts), ordered)


def limit_selection(pattern: str, universe: HostUniverse, candidates: Sequence[str]) -> list[str]:
    """The `candidates` (node hosts, in order) a `--limit` keeps; HostPatternError when it keeps none,
    naming the terms that matched nothing — every command refuses such a limit the same way."""
    chosen = set(select(pattern, universe))
    kept = [h for h in candidates if h in chosen]
    if not kept:
        raise HostPatternError(no_match_message(pattern, universe))
    return kept
