"""Compliance checks over gathered facts: rules, policy and the audit itself."""
