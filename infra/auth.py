"""The dev token issuer: RS256 tokens shaped like the ID tokens Cognito issues (see infra/devlogins.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "kontakt-dev"
AUDIENCE = "kontakt"
ROLES = ("admin", "manager", "user")
DEFAULT_TTL = 12 * 3600
KEY_FILE = Path(".kontakt") / "dev-signing-key.pem"


class DevIssuer:
    """Mints and verifies dev tokens with a key kept in `<project>/.kontakt/`."""

    def __init__(self, project_root: Path) -> None:
        self.key_path = Path(project_root) / KEY_FILE
        self._private_key: Any = None

    @property
    def private_key(self) -> Any:
        if self._private_key is None:
            self._private_key = serialization.load_pem_private_key(_load_or_create(self.key_path), password=None)
        return self._private_key

    @property
    def key_id(self) -> str:
        """The key's RFC 7638 thumbprint: the `kid` of its tokens and of its entry in the key set."""
        jwk = self._public_jwk()
        canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()

    def jwks(self) -> dict[str, Any]:
        """The issuer's key set, as Cognito publishes its pool's at `<issuer>/.well-known/jwks.json`
        (served by the local gateway at /dev/jwks.json for the functions, which verify the tokens)."""
        return {"keys": [{**self._public_jwk(), "kid": self.key_id, "alg": "RS256", "use": "sig"}]}

    def _public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return jwk

    def mint(
        self, tenant: str, user: str, role: str = "admin", groups: Iterable[str] = (), ttl: int = DEFAULT_TTL
    ) -> str:
        """A token with these claims as given, for a stack without a pre-token-generation trigger.

        `LocalRuntime.token` asks the template's trigger for the claims instead (`sign`).
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        claims = {"sub": user, "user_id": user, "tenant_id": tenant, "role": role, "groups": list(groups)}
        return self.sign(claims, ttl)

    def sign(self, claims: dict[str, Any], ttl: int = DEFAULT_TTL) -> str:
        """Sign an ID token's claims (those of the trigger and the login's `sub`) as this issuer."""
        now = int(time.time())
        document = {**claims, "iss": ISSUER, "aud": AUDIENCE, "token_use": "id", "iat": now, "exp": now + ttl}
        return jwt.encode(document, self.private_key, algorithm="RS256", headers={"kid": self.key_id})

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; raises jwt.InvalidTokenError when it is not a valid dev token."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.private_key.public_key(),
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
        return claims


def _load_or_create(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Write aside and link into place: concurrent first uses agree on one key.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(pem)
    os.chmod(temporary, 0o600)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def mint_token(
    tenant: str,
    user: str,
    role: str,
    groups: Iterable[str] = (),
    ttl: int = DEFAULT_TTL,
    project_root: Path | None = None,
) -> str:
    from infra.template import find_project_root

    return DevIssuer(project_root or find_project_root()).mint(tenant, user, role, groups, ttl)


def verify(token: str, project_root: Path | None = None) -> dict[str, Any]:
    from infra.template import find_project_root

    return DevIssuer(project_root or find_project_root()).verify(token)
