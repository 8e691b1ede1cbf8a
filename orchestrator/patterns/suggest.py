"""'Did you mean ...?' for a name the operator mistyped (variables, groups, hosts, playbook keys)."""

from __future__ import annotations

from collections.abc import Iterable


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: a transposed pair of letters counts as one typo."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` is most likely a typo of: distance ≤ 2 (≤ 1 for names of ≤ 4 letters)."""
    best: tuple[int, str] | None = None
    lowered = name.lower()
    for candidate in sorted(known):
        if candidate == name:
            return None
        limit = 1 if len(candidate) <= 4 else 2
        d = edit_distance(lowered, candidate.lower())
        if d <= limit and (best is None or d < best[0]):
            best = (d, candidate)
    return best[1] if best else None
