"""SCRAM key derivation (RFC 5802, RFC 7677), shared by the reference broker's server side and the
cluster backend's raw-socket client side: pure functions of their inputs, standard library only (the
client imports this on every plan against a SCRAM listener)."""

from __future__ import annotations

import hashlib
import hmac

HASHES: dict[str, str] = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}  # hashlib names


def hmac_digest(algo: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, algo).digest()


def salted_password(algo: str, password: str, salt: bytes, iterations: int) -> bytes:
    """Hi(password, salt, i): PBKDF2 with the mechanism's HMAC."""
    return hashlib.pbkdf2_hmac(algo, password.encode(), salt, iterations)


def client_key(algo: str, salted: bytes) -> bytes:
    return hmac_digest(algo, salted, b"Client Key")


def server_key(algo: str, salted: bytes) -> bytes:
    return hmac_digest(algo, salted, b"Server Key")


def stored_key(algo: str, client_key: bytes) -> bytes:
    return hashlib.new(algo, client_key).digest()


def xor(a: bytes, b: bytes) -> bytes:
    """ClientProof = ClientKey XOR ClientSignature, and back; the lengths must match."""
    return bytes(x ^ y for x, y in zip(a, b, strict=True))
