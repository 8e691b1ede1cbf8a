"""The only code that speaks SSH (fabric/paramiko)."""
