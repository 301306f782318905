"""The local issuer's signing key: RSA 2048, RS256, kept in a PEM file when a directory is given
(``cloudqueue dev --state-dir``), so that tokens signed before a restart still verify after it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_FILE = "oidc-signing-key.pem"


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638: the SHA-256 of the key's required members, canonical JSON, base64url."""
    members = {name: public_jwk[name] for name in ("e", "kty", "n")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _write_private(path: Path, data: bytes) -> None:
    """Written whole (a temporary file, then a rename), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


class SigningKey:
    """One RS256 key pair, named by its thumbprint (``kid``)."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        self.public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
        self.kid = _thumbprint(self.public_jwk)

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key pair."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, path: Path | None) -> SigningKey:
        """The key in ``path``, made and saved there first if it is not there; None: a new one."""
        if path is None:
            return cls.generate()
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError(f"{path} holds no RSA private key")
            return cls(loaded)
        key = cls.generate()
        _write_private(path, key.private_pem())
        return key

    def private_pem(self) -> bytes:
        """The private key, PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        """The public key, SubjectPublicKeyInfo PEM."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set the issuer publishes."""
        return {"keys": [self.public_jwk | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def sign(self, claims: dict[str, Any]) -> str:
        """``claims`` as an RS256 JWT naming this key."""
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})
