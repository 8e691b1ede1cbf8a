"""Compliance checks over gathered facts.

- `registry`: Rule and the `@rule(...)` decorator that registers a check with its rule;
- `checks`: every check (one decorated function per rule), pure;
- `policy`: what compliant means for one fleet (the policy file);
- `findings`: Finding, HostAudit, AuditReport (and the exit code);
- `run`: `audit()` and `audit_host()`.
A new rule is one decorated function in `checks` plus its line in docs/audit.md.
"""
