"""The hub's signing keys: RSA keys as JWKs in the hub's keep (``keys/<kid>.json``: files of
mode 600 under ``<data dir>/keys`` for an embedded hub, rows of the shared database for many).

The newest key signs ID tokens, access tokens and audit checkpoints; older ones stay published
in the JWKS so that what they signed still verifies until it expires. ``salon keys rotate``
adds a key and keeps the previous :data:`KEEP` ones.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey

from hub.ids import new_id
from hub.services.policy.keep import Keep

ALGORITHM = "RS256"
KEEP = 3
PREFIX = "keys/"
RELOAD_SECONDS = 1.0  # a token with a key this hub has not seen reloads at most this often


class KeyRing:
    """The signing keys in one keep."""

    def __init__(self, keep: Keep, *, create: bool = True) -> None:
        """The keys in ``keep``; with ``create`` (the hub) a first key is made when there is
        none, without it (a verifier) the keep is only read."""
        self.keep = keep
        self._lock = threading.Lock()
        self._keys: list[RSAKey] = []
        self._looked_at = 0.0  # when a lookup last reloaded the keys
        self.reload()
        if not self._keys and create:
            self.rotate()

    def reload(self) -> None:
        found = self.keep.named(PREFIX)  # kids are UUIDv7, so name order is age order
        keys = [RSAKey.import_key(json.loads(value)) for name, value in found]
        with self._lock:
            self._keys = keys

    @property
    def kids(self) -> frozenset[str]:
        with self._lock:
            return frozenset(str(key.kid) for key in self._keys)

    def look_for(self, kid: object) -> bool:
        """Whether ``kid`` is one of the keys after reloading them (another hub, or ``salon
        keys rotate``, may have added it). Lookups reload at most once a second, so that
        tokens with made-up kids cost no more than that; a reload for another reason (start,
        the periodic one) does not count, or a key added just after it would wait."""
        with self._lock:
            due = time.monotonic() - self._looked_at >= RELOAD_SECONDS
            if due:
                self._looked_at = time.monotonic()
        if due:
            self.reload()
        return kid in self.kids

    def rotate(self) -> str:
        """Add a new signing key; drop all but the newest :data:`KEEP`. Returns its kid."""
        kid = new_id()
        key = RSAKey.generate_key(
            2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM}, private=True
        )
        self.keep.put(f"{PREFIX}{kid}.json", json.dumps(key.as_dict(private=True)))
        for name, _ in self.keep.named(PREFIX)[:-KEEP]:
            self.keep.remove(name)
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
