"""Ansible Vault: decrypt `!vault` values and vault-encrypted files with the operator's vault password.

Why the `cryptography` package and not ansible-core's vault code: `cryptography` is already installed
(paramiko needs it), it is the library ansible-core itself calls for the same primitives, and the
format is small and documented (Ansible docs, "Vault format": envelope `$ANSIBLE_VAULT;1.1;AES256`
or `;1.2;AES256;LABEL`, then hex of `hex(salt)\\n hex(hmac)\\n hex(ciphertext)`; PBKDF2-HMAC-SHA256 with
10 000 iterations derives 80 bytes = AES-256 key, HMAC-SHA256 key, CTR nonce; PKCS#7 padding). Pulling
in ansible-core (tens of megabytes, its own YAML and templating stack) for 40 lines would make every
install carry Ansible. The oracle test (tests/unit/test_ansible_oracle.py) decrypts the same data
with ansible-core's own VaultLib, so a divergence from Ansible fails the test suite.

Passwords are taken the way Ansible takes them: `--vault-password-file FILE` (an executable file is
run and its stdout is the password), `--vault-id [LABEL@]FILE|prompt`, `ANSIBLE_VAULT_PASSWORD_FILE`,
and a prompt when stdin is a terminal and nothing else was given. Decrypted values are registered
with `orchestrator.load.secrets` so that no output, journal or report ever shows them.
"""

from __future__ import annotations

import binascii
import getpass
import hmac
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.padding import PKCS7

__all__ = [
    "HEADER",
    "VaultError",
    "VaultSecret",
    "VaultSecrets",
    "decrypt",
    "encrypt",
    "is_encrypted",
    "secrets_from_options",
]

HEADER = "$ANSIBLE_VAULT"
_ITERATIONS = 10_000  # Ansible's VaultAES256 key derivation
_KEY_BYTES = 32
_IV_BYTES = 16
DEFAULT_ID = "default"


class VaultError(Exception):
    """Vault data cannot be decrypted (no password, wrong password, damaged envelope)."""


@dataclass(frozen=True)
class VaultSecret:
    """One vault password and the id it was given for (`default` when no label)."""

    vault_id: str
    password: bytes = field(repr=False)
    source: str = ""  # "FILE", "prompt", … for messages (never the password)


def is_encrypted(text: str | bytes) -> bool:
    """Whether `text` is a vault envelope (what Ansible's is_encrypted checks: the header prefix)."""
    head = text.lstrip()[: len(HEADER)]
    return (head.decode("ascii", "replace") if isinstance(head, bytes) else head) == HEADER


def _envelope(text: str) -> tuple[str, str, bytes]:
    """(version, vault id, the inner hex bytes) of a vault envelope; raises VaultError."""
    lines = text.strip().splitlines()
    header = [part.strip() for part in lines[0].strip().split(";")]
    if len(header) < 3 or header[0] != HEADER:
        raise VaultError("not a vault envelope (expected $ANSIBLE_VAULT;1.1;AES256)")
    version, cipher = header[1], header[2]
    if version not in ("1.1", "1.2"):
        raise VaultError(f"unsupported vault format version {version!r} (1.1 and 1.2 are supported)")
    if cipher != "AES256":
        raise VaultError(f"unsupported vault cipher {cipher!r} (only AES256 exists)")
    vault_id = header[3] if version == "1.2" and len(header) > 3 else DEFAULT_ID
    body = "".join(line.strip() for line in lines[1:]).encode("ascii", "replace")
    return version, vault_id, body


def _keys(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    derived = PBKDF2HMAC(
        algorithm=SHA256(), length=2 * _KEY_BYTES + _IV_BYTES, salt=salt, iterations=_ITERATIONS
    ).derive(password)
    return derived[:_KEY_BYTES], derived[_KEY_BYTES : 2 * _KEY_BYTES], derived[2 * _KEY_BYTES :]


def _decrypt_with(body: bytes, password: bytes) -> bytes | None:
    """Plaintext, or None when the HMAC says this is not the password; raises VaultError if damaged."""
    try:
        inner = binascii.unhexlify(body)
        salt_hex, mac_hex, cipher_hex = inner.split(b"\n", 2)
        salt = binascii.unhexlify(salt_hex)
        mac = binascii.unhexlify(mac_hex)
        ciphertext = binascii.unhexlify(cipher_hex.strip())
    except (binascii.Error, ValueError):
        raise VaultError("the vault data is damaged (not the hex Ansible writes)") from None
    key, mac_key, iv = _keys(password, salt)
    if not hmac.compare_digest(hmac.new(mac_key, ciphertext, sha256).digest(), mac):
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise VaultError("the vault data is damaged (bad padding)") from None


def decrypt(text: str, secrets: Sequence[VaultSecret]) -> str:
    """The plaintext of a vault envelope; tries the secret whose id matches the envelope first.

    Raises VaultError: no password given, none of them decrypts it, or the envelope is damaged.
    """
    _version, vault_id, body = _envelope(text)
    if not secrets:
        raise VaultError("no vault password was given")
    ordered = sorted(secrets, key=lambda s: s.vault_id != vault_id)
    for secret in ordered:
        plaintext = _decrypt_with(body, secret.password)
        if plaintext is not None:
            try:
                return plaintext.decode("utf-8")
            except UnicodeDecodeError:
                raise VaultError("the decrypted vault data is not UTF-8 text") from None
    tried = ", ".join(sorted({s.vault_id for s in secrets}))
    raise VaultError(f"none of the vault passwords given (ids: {tried}) decrypts it")


def encrypt(plaintext: str, secret: VaultSecret, salt: bytes | None = None) -> str:
    """A vault 1.1 envelope (1.2 with the secret's label): what `ansible-vault encrypt_string` writes."""
    salt = salt if salt is not None else os.urandom(32)
    key, mac_key, iv = _keys(secret.password, salt)
    padder = PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    mac = hmac.new(mac_key, ciphertext, sha256).digest()
    inner = b"\n".join(binascii.hexlify(part) for part in (salt, mac, ciphertext))
    body = binascii.hexlify(inner).decode("ascii")
    header = f"{HEADER};1.2;AES256;{secret.vault_id}" if secret.vault_id != DEFAULT_ID else f"{HEADER};1.1;AES256"
    return "\n".join([header, *(body[i : i + 80] for i in range(0, len(body), 80))]) + "\n"


# --- where passwords come from ---------------------------------------------------------------------


def _password_from_file(path: str, vault_id: str) -> bytes:
    file = Path(path).expanduser()
    try:
        if file.is_file() and os.access(file, os.X_OK):
            command = [str(file)]
            if file.stem.endswith("-client"):  # Ansible's vault-id client script protocol
                command += ["--vault-id", vault_id]
            done = subprocess.run(command, capture_output=True, timeout=60, check=False)
            if done.returncode != 0:
                raise VaultError(f"vault password script {path} exited {done.returncode}")
            password = done.stdout.strip(b"\r\n")
        else:
            password = file.read_bytes().strip()
    except OSError as exc:
        raise VaultError(f"cannot read vault password file {path}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise VaultError(f"vault password script {path} did not finish within 60 s") from None
    if not password:
        raise VaultError(f"vault password file {path} is empty")
    return password


def _prompt(vault_id: str) -> bytes:
    label = "Vault password" if vault_id == DEFAULT_ID else f"Vault password ({vault_id})"
    try:
        password = getpass.getpass(f"{label}: ").encode("utf-8")
    except EOFError:  # stdin closed mid-prompt: one line, never a traceback
        raise VaultError(f"no vault password for '{vault_id}': the prompt got end of input") from None
    if not password:
        raise VaultError("an empty vault password was entered")
    return password


@dataclass
class VaultSecrets:
    """The vault passwords of one command; a prompt is asked at most once, and only when needed."""

    given: list[VaultSecret] = field(default_factory=list)
    prompt_ids: list[str] = field(default_factory=list)  # `--vault-id LABEL@prompt`
    prompt_if_tty: bool = True  # ask when nothing was given and stdin is a terminal
    ask: Callable[[str], bytes] = _prompt
    isatty: Callable[[], bool] = lambda: sys.stdin.isatty()
    _asked: bool = False

    def all(self) -> list[VaultSecret]:
        """Every password, asking the prompts the first time vault data is met."""
        if not self._asked:
            self._asked = True
            for vault_id in self.prompt_ids:
                if not self.isatty():  # cron, a systemd timer, CI: nobody can answer
                    raise VaultError(
                        f"--vault-id {vault_id}@prompt needs a terminal to ask the vault password, and stdin is not "
                        f"one: give --vault-password-file FILE or --vault-id {vault_id}@FILE in scheduled runs"
                    )
                self.given.append(VaultSecret(vault_id, self.ask(vault_id), "prompt"))
            if not self.given and self.prompt_if_tty and self.isatty():
                self.given.append(VaultSecret(DEFAULT_ID, self.ask(DEFAULT_ID), "prompt"))
        return list(self.given)

    def decrypt(self, text: str) -> str:
        """Raises VaultError (the caller adds file:line and the word 'vault-encrypted')."""
        return decrypt(text, self.all())


def secrets_from_options(
    password_files: Sequence[str] = (),
    vault_ids: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> VaultSecrets:
    """`--vault-password-file`, `--vault-id [LABEL@]SOURCE` and ANSIBLE_VAULT_PASSWORD_FILE/IDENTITY_LIST.

    Raises VaultError when a named password file cannot be read.
    """
    env = os.environ if environ is None else environ
    out = VaultSecrets()
    ids = list(vault_ids)
    identity_list = env.get("ANSIBLE_VAULT_IDENTITY_LIST", "")
    ids += [item.strip() for item in identity_list.split(",") if item.strip()]
    files = list(password_files)
    if not files and env.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        files.append(env["ANSIBLE_VAULT_PASSWORD_FILE"])
    for spec in ids:
        label, sep, source = spec.partition("@")
        if not sep:
            label, source = DEFAULT_ID, spec
        if source == "prompt":
            out.prompt_ids.append(label)
        else:
            out.given.append(VaultSecret(label, _password_from_file(source, label), source))
    for path in files:
        out.given.append(VaultSecret(DEFAULT_ID, _password_from_file(path, DEFAULT_ID), path))
    return out


class VaultText(str):
    """A vault envelope read from an inventory (`!vault`), not yet decrypted."""
