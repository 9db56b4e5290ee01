"""SASL mechanisms: SCRAM-SHA-256/512 (RFC 5802, RFC 7677) and PLAIN (RFC 4616), server side.

Credentials are stored the SCRAM way (salt, iterations, StoredKey, ServerKey), never as passwords, in
the internal journal; PLAIN is verified by deriving StoredKey from the offered password with the stored
salt, so no plaintext password exists at rest for either mechanism. Unknown users get a fake but stable
salt and the same failure as a wrong password, so user names cannot be probed. Every exchange uses a
fresh server nonce, so a replayed client-final message (from this or another session) fails.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.store import KeyedJournal
from evtctl.kafka.scram import client_key, server_key, stored_key, xor
from evtctl.kafka.scram import hmac_digest as _hmac
from evtctl.kafka.scram import salted_password as salted_password

MECHANISMS: dict[str, tuple[int, str]] = {  # name -> (Kafka ScramMechanism id, hashlib name)
    "SCRAM-SHA-256": (1, "sha256"),
    "SCRAM-SHA-512": (2, "sha512"),
}
MECHANISM_BY_ID = {mid: name for name, (mid, _) in MECHANISMS.items()}
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384
DEFAULT_ITERATIONS = 8192
FAILED = "Authentication failed: Invalid username or password"
_BAD_PLAIN = "Authentication failed: invalid PLAIN message"


class SaslError(Exception):
    """The exchange failed; ``code`` is the Kafka error, ``message`` is safe to send to the client."""

    def __init__(self, code: Err, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ScramCredential:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def credential_from_salted(
    algo: str, salt: bytes, iterations: int, salted_password: bytes
) -> ScramCredential:
    return ScramCredential(
        salt,
        iterations,
        stored_key(algo, client_key(algo, salted_password)),
        server_key(algo, salted_password),
    )


def new_credential(mechanism: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> ScramCredential:
    algo = MECHANISMS[mechanism][1]
    salt = os.urandom(24)
    return credential_from_salted(algo, salt, iterations, salted_password(algo, password, salt, iterations))


class CredentialStore:
    """SCRAM credentials per (user, mechanism), durable."""

    def __init__(self, data_dir: Path | None) -> None:
        self._journal = KeyedJournal(data_dir / "__scram" / "credentials.journal") if data_dir else None
        self._creds: dict[tuple[str, str], ScramCredential] = {}
        # A per-broker secret for fake salts of unknown users (stable, so probes see no difference).
        self._secret = secrets.token_bytes(32)
        if self._journal is not None:
            secret = self._journal.get("secret")
            if secret is None:
                self._journal.put("secret", self._secret.hex())
            else:
                self._secret = bytes.fromhex(secret)
            for key, v in self._journal.items("c"):
                user, mech = json.loads(key[1:])
                self._creds[(user, mech)] = ScramCredential(
                    base64.b64decode(v[0]), v[1], base64.b64decode(v[2]), base64.b64decode(v[3])
                )

    def get(self, user: str, mechanism: str) -> ScramCredential | None:
        return self._creds.get((user, mechanism))

    def users(self) -> dict[str, list[tuple[str, int]]]:
        out: dict[str, list[tuple[str, int]]] = {}
        for (user, mech), cred in sorted(self._creds.items()):
            out.setdefault(user, []).append((mech, cred.iterations))
        return out

    def put(self, user: str, mechanism: str, cred: ScramCredential) -> None:
        self._creds[(user, mechanism)] = cred
        if self._journal is not None:
            value = [
                base64.b64encode(cred.salt).decode(),
                cred.iterations,
                base64.b64encode(cred.stored_key).decode(),
                base64.b64encode(cred.server_key).decode(),
            ]
            self._journal.put("c" + json.dumps([user, mechanism]), value)

    def delete(self, user: str, mechanism: str) -> bool:
        if self._creds.pop((user, mechanism), None) is None:
            return False
        if self._journal is not None:
            self._journal.delete("c" + json.dumps([user, mechanism]))
        return True

    def set_password(self, user: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> None:
        for mech in MECHANISMS:
            self.put(user, mech, new_credential(mech, password, iterations))

    def fake_salt(self, user: str) -> bytes:
        return _hmac("sha256", self._secret, user.encode())[:24]

    def check_password(self, user: str, password: str) -> bool:
        """PLAIN: verify against the SCRAM-SHA-256 (else -512) credential, in constant time."""
        for mech in MECHANISMS:
            cred = self.get(user, mech)
            if cred is None:
                continue
            algo = MECHANISMS[mech][1]
            derived = credential_from_salted(
                algo, cred.salt, cred.iterations, salted_password(algo, password, cred.salt, cred.iterations)
            )
            return hmac.compare_digest(derived.stored_key, cred.stored_key)
        return False

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()


def _attrs(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise SaslError(Err.ILLEGAL_SASL_STATE, "Invalid SCRAM message")
        out.setdefault(part[0], part[2:])
    return out


def _decode_username(raw: str) -> str:
    if "=" in raw.replace("=2C", "").replace("=3D", ""):
        raise SaslError(Err.ILLEGAL_SASL_STATE, "Invalid SCRAM user name encoding")
    return raw.replace("=2C", ",").replace("=3D", "=")


class ScramServer:
    """One SCRAM exchange: client-first -> server-first, client-final -> server-final."""

    def __init__(self, store: CredentialStore, mechanism: str) -> None:
        self.store = store
        self.mechanism = mechanism
        self.algo = MECHANISMS[mechanism][1]
        self.step = 0
        self.user: str | None = None
        self.complete = False

    def evaluate(self, token: bytes) -> bytes:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise SaslError(Err.ILLEGAL_SASL_STATE, "Invalid SCRAM message encoding") from None
        if self.step == 0:
            self.step = 1
            return self._first(text)
        if self.step == 1:
            self.step = 2
            return self._final(text)
        raise SaslError(Err.ILLEGAL_SASL_STATE, "SCRAM exchange already finished")

    def _first(self, text: str) -> bytes:
        parts = text.split(",", 2)
        if len(parts) != 3 or parts[0] not in ("n", "y") or (parts[1] and not parts[1].startswith("a=")):
            raise SaslError(
                Err.ILLEGAL_SASL_STATE,
                "Invalid SCRAM client-first message (channel binding is not supported)",
            )
        self.gs2_header = f"{parts[0]},{parts[1]},"
        self.client_first_bare = parts[2]
        attrs = _attrs(parts[2])
        if "n" not in attrs or "r" not in attrs or not attrs["r"] or "m" in attrs:
            raise SaslError(Err.ILLEGAL_SASL_STATE, "Invalid SCRAM client-first message")
        self.user = _decode_username(attrs["n"])
        authzid = parts[1][2:] if parts[1] else ""
        if authzid and _decode_username(authzid) != self.user:
            raise SaslError(
                Err.SASL_AUTHENTICATION_FAILED,
                "Authentication failed: authorization id must match the user name",
            )
        self.cred = self.store.get(self.user, self.mechanism)
        salt = self.cred.salt if self.cred else self.store.fake_salt(self.user)
        iterations = self.cred.iterations if self.cred else DEFAULT_ITERATIONS
        self.nonce = attrs["r"] + secrets.token_urlsafe(24)
        self.server_first = f"r={self.nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        return self.server_first.encode()

    def _final(self, text: str) -> bytes:
        without_proof, sep, proof_b64 = text.rpartition(",p=")
        if not sep:
            raise SaslError(Err.ILLEGAL_SASL_STATE, "Invalid SCRAM client-final message")
        attrs = _attrs(without_proof)
        expected_cb = base64.b64encode(self.gs2_header.encode()).decode()
        if attrs.get("c") != expected_cb:
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, "Authentication failed: invalid channel binding")
        if attrs.get("r") != self.nonce:
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, "Authentication failed: invalid nonce")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, FAILED) from None
        if self.cred is None:
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, FAILED)
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = _hmac(self.algo, self.cred.stored_key, auth_message)
        if len(proof) != len(signature):
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, FAILED)
        if not hmac.compare_digest(stored_key(self.algo, xor(proof, signature)), self.cred.stored_key):
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, FAILED)
        self.complete = True
        server_sig = _hmac(self.algo, self.cred.server_key, auth_message)
        return b"v=" + base64.b64encode(server_sig)


class PlainServer:
    """PLAIN: one message ``authzid NUL authcid NUL password``."""

    def __init__(self, store: CredentialStore) -> None:
        self.store = store
        self.user: str | None = None
        self.complete = False

    def evaluate(self, token: bytes) -> bytes:
        if self.complete:
            raise SaslError(Err.ILLEGAL_SASL_STATE, "PLAIN exchange already finished")
        parts = token.split(b"\x00")
        if len(parts) != 3:
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, _BAD_PLAIN)
        try:
            authzid, user, password = (p.decode("utf-8") for p in parts)
        except UnicodeDecodeError:
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, _BAD_PLAIN) from None
        if not user or (authzid and authzid != user):
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, FAILED)
        self.user = user
        if not self.store.check_password(user, password):
            raise SaslError(Err.SASL_AUTHENTICATION_FAILED, FAILED)
        self.complete = True
        return b""
