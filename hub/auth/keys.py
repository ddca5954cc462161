"""The hub's signing keys: RSA keys kept as JWK files under ``<data dir>/keys`` (mode 600).

The newest key signs ID tokens, access tokens and audit checkpoints; older ones stay published
in the JWKS so that what they signed still verifies until it expires. ``salon keys rotate``
adds a key and keeps the previous :data:`KEEP` ones.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey

from hub.ids import new_id

ALGORITHM = "RS256"
KEEP = 3


def _write_private(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


class KeyRing:
    """The signing keys of one data directory."""

    def __init__(self, folder: Path, *, create: bool = True) -> None:
        """The keys in ``folder``; with ``create`` (the hub) a first key is made when there is
        none, without it (a verifier) the folder is only read."""
        self.folder = folder
        self._lock = threading.Lock()
        self._keys: list[RSAKey] = []
        self.reload()
        if not self._keys and create:
            self.rotate()

    def reload(self) -> None:
        files = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        keys = [RSAKey.import_key(json.loads(path.read_text())) for path in files]
        with self._lock:
            self._keys = keys  # kids are UUIDv7, so file order is age order

    def rotate(self) -> str:
        """Add a new signing key; drop all but the newest :data:`KEEP`. Returns its kid."""
        kid = new_id()
        key = RSAKey.generate_key(
            2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM}, private=True
        )
        _write_private(self.folder / f"{kid}.json", key.as_dict(private=True))
        for old in sorted(self.folder.glob("*.json"))[:-KEEP]:
            old.unlink()
        self.reload()
        return kid

    @property
    def signing_key(self) -> RSAKey:
        with self._lock:
            return self._keys[-1]

    @property
    def key_set(self) -> KeySet:
        with self._lock:
            return KeySet(list(self._keys))

    def jwks(self) -> dict[str, Any]:
        """The public keys, as served at the JWKS endpoint."""
        return dict(self.key_set.as_dict(private=False))

    def sign_jwt(self, claims: Mapping[str, Any], typ: str = "JWT") -> str:
        key = self.signing_key
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": typ}, dict(claims), key)

    def sign_bytes(self, payload: bytes) -> str:
        """A compact JWS over ``payload`` (for audit checkpoints)."""
        key = self.signing_key
        return jws.serialize_compact({"alg": ALGORITHM, "kid": key.kid}, payload, key)

    def verify_bytes(self, compact: str) -> bytes:
        """The payload of a compact JWS made by :meth:`sign_bytes`; raises on a bad signature."""
        return jws.deserialize_compact(compact, self.key_set, algorithms=[ALGORITHM]).payload
