"""Compliance checks over gathered facts.

- `registry`: Rule, the `@rule(...)` decorator that makes a check function a Rule, and `index`;
- `checks`: every check (one decorated function per rule), pure, and RULES, the explicit table of them;
- `policy`: what compliant means for one fleet (the policy file);
- `findings`: Finding, HostAudit, AuditReport (and the exit code);
- `run`: `audit()` and `audit_host()`.
A new rule is one decorated function in `checks`, its name in `checks.RULES`, and its line in
docs/audit.md. Nothing registers on import.
"""
