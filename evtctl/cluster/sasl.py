"""SASL client mechanisms for the raw admin socket (evtctl.cluster.wire): PLAIN (RFC 4616) and
SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as Kafka clients speak them.

A mechanism is a conversation: a generator that yields each client token and is sent the broker's
reply to it, so the Kafka framing (SaslHandshake, SaslAuthenticate) stays in wire.py. The password
never appears in an error message.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Generator

from evtctl.kafka import scram

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MIN_ITERATIONS = 4096  # Kafka's ScramMechanism minimum: a server asking for fewer is not trusted


class SaslError(Exception):
    """The raw socket could not authenticate (mechanism refused or unsupported, credentials rejected,
    a malformed exchange): the caller uses the librdkafka path, which reports credential errors the
    usual way."""


class CredentialsRejected(SaslError):
    """The broker answered SaslAuthenticate with SASL_AUTHENTICATION_FAILED: the username or password
    is wrong, whatever client asks. Still a SaslError for the readers (they fall back, as before);
    the capability probe reports it at once, clearly, instead of letting librdkafka time out."""


class ServerProofError(Exception):
    """The broker did not prove it holds the SCRAM credential (foreign nonce, wrong server signature):
    an authentication failure, never a reason to try another way."""


def supports(mechanism: str | None) -> bool:
    return mechanism in MECHANISMS


def conversation(mechanism: str, username: str, password: str) -> Generator[bytes, bytes, None]:
    """Client tokens of ``mechanism``; ``send`` each broker reply. Ends when the client is satisfied."""
    if mechanism == "PLAIN":
        yield b"\0" + username.encode() + b"\0" + password.encode()  # no authzid: act as the user
        return
    if mechanism not in scram.HASHES:
        raise SaslError(f"the raw socket does not speak SASL mechanism {mechanism}")
    client = ScramClient(mechanism, username, password)
    server_first = yield client.first_message()
    server_final = yield client.final_message(server_first)
    client.verify_server_final(server_final)


def escape_username(name: str) -> str:
    """SCRAM's saslname: ``=`` and ``,`` escaped (Kafka applies no further SASLprep)."""
    return name.replace("=", "=3D").replace(",", "=2C")


def _attributes(message: bytes, what: str) -> dict[str, str]:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError(f"malformed SCRAM {what} message") from None
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise SaslError(f"malformed SCRAM {what} message")
        out.setdefault(key, value)
    return out


class ScramClient:
    """One SCRAM exchange, client side: client-first, then client-final from the server-first, then
    the server-final's signature checked. ``nonce`` is for tests (RFC 7677's vector); by default a
    fresh random one."""

    def __init__(self, mechanism: str, username: str, password: str, nonce: str | None = None) -> None:
        self.algo = scram.HASHES[mechanism]
        self._password = password
        self.nonce = nonce or secrets.token_urlsafe(24)  # printable, never a comma
        self.client_first_bare = f"n={escape_username(username)},r={self.nonce}"
        self._server_signature: bytes | None = None

    def first_message(self) -> bytes:
        return ("n,," + self.client_first_bare).encode()  # gs2 header: no channel binding, no authzid

    def final_message(self, server_first: bytes) -> bytes:
        attrs = _attributes(server_first, "server-first")
        if "m" in attrs:  # a mandatory extension we do not know must fail the exchange (RFC 5802)
            raise SaslError("the SCRAM server-first message requires an unsupported extension")
        nonce, salt_b64, iterations_text = attrs.get("r"), attrs.get("s"), attrs.get("i")
        if nonce is None or salt_b64 is None or iterations_text is None:
            raise SaslError("malformed SCRAM server-first message")
        if not nonce.startswith(self.nonce):
            raise ServerProofError("the broker's SCRAM nonce does not extend the client's")
        try:
            salt = base64.b64decode(salt_b64, validate=True)
            iterations = int(iterations_text)
        except (binascii.Error, ValueError):
            raise SaslError("malformed SCRAM server-first message") from None
        if iterations < MIN_ITERATIONS:
            raise SaslError(f"the broker asks for {iterations} SCRAM iterations, fewer than {MIN_ITERATIONS}")
        salted = scram.salted_password(self.algo, self._password, salt, iterations)
        client_key = scram.client_key(self.algo, salted)
        without_proof = f"c=biws,r={nonce}"  # biws: base64 of the gs2 header "n,,"
        auth_message = f"{self.client_first_bare},{server_first.decode()},{without_proof}".encode()
        signature = scram.hmac_digest(self.algo, scram.stored_key(self.algo, client_key), auth_message)
        proof = base64.b64encode(scram.xor(client_key, signature)).decode()
        self._server_signature = scram.hmac_digest(
            self.algo, scram.server_key(self.algo, salted), auth_message
        )
        return f"{without_proof},p={proof}".encode()

    def verify_server_final(self, server_final: bytes) -> None:
        """Raise unless the server-final message carries the expected server signature."""
        if self._server_signature is None:
            raise SaslError("SCRAM server-final before client-final")
        attrs = _attributes(server_final, "server-final")
        if "e" in attrs:  # the server refused the proof in-band
            raise SaslError(f"the broker refused the SCRAM proof: {attrs['e']}")
        try:
            signature = base64.b64decode(attrs.get("v", ""), validate=True)
        except binascii.Error:
            signature = b""
        if not hmac.compare_digest(signature, self._server_signature):
            raise ServerProofError("the broker's SCRAM server signature does not match the credential")
