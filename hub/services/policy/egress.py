"""Requests the hub makes to addresses people give it (webhooks): never to the hub's own
network.

A URL is refused when its host resolves to a loopback, private, link-local (cloud metadata),
shared, multicast, reserved or unspecified address, unless that address lies in a network an
admin allowed (``SALON_WEBHOOK_ALLOW_NETWORKS``). The check runs when the URL is saved and
again on every connection: the connection goes to the very address that was checked (so a DNS
answer that changes in between cannot redirect it), and redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from hub.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """The destination is not a public address; the message says which and why."""


def networks(text: str) -> tuple[Network, ...]:
    """The allowed networks in a comma-separated list of CIDRs (``127.0.0.1/32,10.0.0.0/8``)."""
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"Not a network in CIDR form: {exc}") from None


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a site's own translators
TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291's deprecated IPv4-compatible form


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: a packet to ``64:ff9b::7f00:1`` (NAT64),
    ``2002:7f00:1::`` (6to4), ``::127.0.0.1`` or ``::ffff:127.0.0.1`` ends at 127.0.0.1, and a
    Teredo address goes through its server to its client."""
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in NAT64 or address in TRANSLATED:
        return [low]
    if address in COMPATIBLE and not (address.is_loopback or address.is_unspecified):
        return [low]  # but ::1 and :: are IPv6's own loopback and unspecified addresses
    return []


def is_public(address: Address) -> bool:
    """Whether ``address`` and every IPv4 address it embeds are globally reachable unicast."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in LOCAL_NAT64:
            return False
        if not all(is_public(inner) for inner in embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


def check_address(address: Address, allowed: Iterable[Network]) -> None:
    if is_public(address) or any(address in network for network in allowed):
        return
    if isinstance(address, ipaddress.IPv6Address):
        inner = [each for each in embedded_ipv4(address) if not is_public(each)]
        if inner:
            address = inner[0]  # named as what it really is: ::ffff:127.0.0.1 is loopback
    kind = (
        "loopback"
        if address.is_loopback
        else "link-local"
        if address.is_link_local
        else "private"
        if address.is_private
        else "multicast"
        if address.is_multicast
        else "reserved or unspecified"
    )
    raise Refused(f"{address} is a {kind} address; webhooks only go to public addresses.")


async def resolve(host: str, port: int, allowed: Iterable[Network]) -> str:
    """The address to connect to for ``host``: every address it resolves to must pass."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"{host} does not resolve ({exc.strerror or exc}).") from None
    addresses = [ipaddress.ip_address(str(item[4][0]).split("%")[0]) for item in found]
    if not addresses:
        raise Refused(f"{host} does not resolve.")
    allowed = tuple(allowed)
    for address in addresses:
        check_address(address, allowed)
    return str(addresses[0])


def check_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a webhook URL, or InvalidInput saying what is wrong."""
    if len(url) > 2000:
        raise InvalidInput("The URL is longer than 2,000 characters.", field="url")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("Give an http:// or https:// URL with a host name.", field="url")
    if parts.username or parts.password:
        raise InvalidInput(
            "Put no user name or password in the URL; deliveries are signed.", field="url"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput("The URL's port is not a number from 1 to 65535.", field="url") from None
    return parts.scheme, parts.hostname, port


class _PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that pass :func:`resolve`, and to exactly those."""

    def __init__(self, allowed: tuple[Network, ...]) -> None:
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await resolve(host, port, self._allowed)
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("Webhooks do not go to local sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def client(allowed: tuple[Network, ...]) -> httpcore.AsyncConnectionPool:
    """A connection pool that only reaches public addresses (and ``allowed`` networks); as an
    httpcore pool it never follows redirects."""
    return httpcore.AsyncConnectionPool(
        network_backend=_PublicOnly(allowed), max_connections=20, keepalive_expiry=30
    )
