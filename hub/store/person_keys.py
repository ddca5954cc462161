"""Per-actor keys of the audit trail (crypto-shredding): what the trail records that identifies
a person beyond their pseudonymous id (the address they called from) is stored encrypted with
their key, and the key is destroyed when they are erased. The chain hashes the ciphertext, so
it still verifies afterwards; the address can no longer be read."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable

import duckdb
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.clock import now
from hub.store._rows import among, to_naive

PREFIX = "enc1:"  # an encrypted value: enc1:<base64 of nonce + ciphertext>
ERASED = "(erased)"  # what a value whose key was destroyed reads as


def keys_for(
    cur: duckdb.DuckDBPyConnection,
    actors: Iterable[str],
    create: bool,
    kept: dict[str, bytes] | None = None,
) -> dict[str, bytes]:
    """The keys of these actors; with ``create``, missing ones are made (in the caller's
    transaction, which must hold the write lock: two writers never make two keys for one
    actor, and a transaction begun under the lock sees every key made before it). ``kept``:
    keys read before, asked first and given what is read (never a key made here). The caller
    drops them whenever a transaction that wrote to ``person_keys`` ends, committed or not,
    before another may look (so a key read that the same transaction wrote goes with it)."""
    wanted = sorted(set(actors))
    if not wanted:
        return {}
    if kept is not None:
        known = {actor: kept[actor] for actor in wanted if actor in kept}
        if len(known) == len(wanted):
            return known
    rows = cur.execute(
        f"SELECT actor_id, key FROM person_keys WHERE actor_id IN {among(wanted)}", wanted
    ).fetchall()
    found = {actor: bytes.fromhex(key) for actor, key in rows}
    if kept is not None:
        kept.update(found)
    missing = [actor for actor in wanted if actor not in found]
    if create and missing:
        made = {actor: AESGCM.generate_key(bit_length=256) for actor in missing}
        stamp = to_naive(now())
        cur.executemany(
            "INSERT INTO person_keys VALUES (?, ?, ?)",
            [[actor, key.hex(), stamp] for actor, key in made.items()],
        )
        found.update(made)
    return found


def every_key(cur: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
    """Every actor's key (one per person who used Salon: a small table)."""
    rows = cur.execute("SELECT actor_id, key FROM person_keys").fetchall()
    return {actor: bytes.fromhex(key) for actor, key in rows}


def seal(key: bytes, text: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), None)
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def unseal(key: bytes | None, value: str) -> str:
    """The text of a sealed value (a plain one as it is); ERASED when its key is gone."""
    if not value.startswith(PREFIX):
        return value
    if key is None:
        return ERASED
    raw = base64.b64decode(value[len(PREFIX) :])
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag:
        return ERASED
