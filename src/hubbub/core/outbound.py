"""Where the hub's own requests (integration webhooks, task callbacks) may go.

Whoever creates a task chooses its ``callback_url``, so without a rule any agent could make
the hub knock on services only the hub can reach: its own loopback, the private network it
sits in, a cloud's metadata service. By default the hub therefore sends only to public
addresses. An admin widens that two ways: ``outbound_allow`` lists networks allowed anyway
(a receiver on the hub's own machine: ``127.0.0.0/8``), and an integration created with
``allow_private`` may send its webhook to any address but a metadata one.

The rule is judged twice. At creation, a URL whose host is an address (in any notation a
resolver accepts: ``2130706433``, ``0x7f000001``, ``0177.1``, ``127.1``, ``[::ffff:7f00:1]``)
or a ``localhost`` name is refused at once. At send time, the adapter that makes the request
resolves the name once, judges every address it got with :meth:`OutboundPolicy.refusal` and
connects only to one that passed, so a name that resolves somewhere else later (DNS
rebinding) cannot get past the check.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from hubbub.core.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORBIDDEN = "forbidden_destination"

# Cloud metadata services. They sit inside networks refused anyway, but stay refused even
# inside an allowed network or for an allow_private integration: a network allowed for a VPN
# (100.64.0.0/10) or a link (169.254.0.0/16) must not open credentials along with it.
METADATA: frozenset[Address] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # most clouds' instance metadata
        "169.254.170.2",  # container task metadata and credentials
        "100.100.100.200",  # instance metadata on another cloud
        "fd00:ec2::254",  # instance metadata over IPv6
    )
)


def _networks(*pairs: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(cidr), what) for cidr, what in pairs)


# Special-purpose ranges (IANA's registries), each with what it is, for the refusal's text.
# IPv6 forms that carry an IPv4 address (see embedded()) are judged by that address instead.
REFUSED: tuple[tuple[Network, str], ...] = _networks(
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a local NAT64 address"),
    ("100::/64", "a discard address"),
    ("2001::/23", "an IETF protocol address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("fc00::/7", "a unique local address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
DECIMAL = frozenset("0123456789")
OCTAL = frozenset("01234567")
HEX = frozenset("0123456789abcdefABCDEF")


def address_of(text: str) -> Address:
    """An address as a resolver or a URL gives it (an IPv6 zone, ``%eth0``, is dropped)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def embedded(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4 or NAT64), if any;
    the hub may end up talking to that address, so it is judged too."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if address in NAT64 or (value >> 32 == 0 and value > 1):  # NAT64, or ::a.b.c.d
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def _kind(address: Address) -> str | None:
    """What ``address`` is, if it is not a public one."""
    for network, what in REFUSED:
        if address in network:
            return what
    if not address.is_global:  # ranges this table lacks and a newer registry added
        return "not a public address"
    return None


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """The networks of a comma-separated list (``127.0.0.0/8, fd00::/8``; a bare address is
    a network of one). Raise :class:`ValueError` saying which entry is wrong and why."""
    found: list[Network] = []
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry))
        except ValueError as error:
            hint = ""
            if "host bits set" in str(error):
                hint = f" (did you mean {ipaddress.ip_network(entry, strict=False)}?)"
            raise ValueError(f"{entry!r} is not a network in CIDR notation{hint}") from None
    return tuple(found)


def ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host names, in any notation a resolver takes: one to four parts,
    each decimal, octal (leading ``0``) or hex (``0x``), the last filling the remaining bytes
    (``127.1``, ``2130706433``, ``0x7f.0.0.1``). ``None`` for a name (its last label is not a
    number); a number that is not a valid address is refused."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # one trailing dot, as in a fully qualified name
    if _number(parts[-1]) is None:
        return None
    numbers = [_number(p) for p in parts]
    valid = [n for n in numbers if n is not None]
    if (
        len(parts) > 4
        or len(valid) != len(parts)
        or any(n > 255 for n in valid[:-1])
        or valid[-1] >= 256 ** (5 - len(valid))
    ):
        raise InvalidInput(f"{host!r} is neither a host name nor an IPv4 address", code=FORBIDDEN)
    value = valid[-1]
    for index, number in enumerate(valid[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    """One part of an IPv4 address in a resolver's notations, or ``None``."""
    if part[:2] in ("0x", "0X"):
        digits, base, allowed = part[2:] or "0", 16, HEX
    elif len(part) > 1 and part.startswith("0"):
        digits, base, allowed = part[1:], 8, OCTAL
    else:
        digits, base, allowed = part, 10, DECIMAL
    if not digits or not set(digits) <= allowed:
        return None
    return int(digits, base)


def _host_of(url: str) -> str:
    """The host of an ``http(s)`` URL, lowercased, as a resolver will see it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"{url[:100]!r}: the hub sends only to http:// and https:// URLs with a host",
            code=FORBIDDEN,
        )
    # Full-width digits and other look-alikes map to what a client sends; a name the codec
    # refuses, the HTTP client refuses too, so there is nothing to judge.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host.lower()


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which addresses the hub may send to: public ones, and those in ``allow``."""

    allow: tuple[Network, ...] = ()

    def refusal(self, address: Address, *, allow_private: bool = False) -> str | None:
        """Why the hub may not connect to ``address`` (e.g. ``127.0.0.1 is a loopback
        address``), or ``None`` if it may. ``allow_private`` (an admin-registered
        destination) lifts the rule for every address but a metadata one. An address that
        carries an IPv4 one is judged as both."""
        inner = embedded(address)
        judged = [address] if inner is None else [address, inner]
        for item in judged:
            if item in METADATA and not any(n.num_addresses == 1 and item in n for n in self.allow):
                return f"{item} is a cloud metadata address"
        if allow_private or any(item in n for item in judged for n in self.allow):
            return None
        if inner is not None:  # the IPv6 form only wraps it: what counts is where it leads
            what = _kind(inner)
            return None if what is None else f"{address} carries {inner}, {what}"
        what = _kind(address)
        return None if what is None else f"{address} is {what}"

    def check_url(self, url: str, *, allow_private: bool = False) -> str:
        """Refuse, at creation, a URL the hub would never send to: a host that is an address
        the policy refuses, or ``localhost`` (and ``*.localhost``), which always means this
        machine. Names are judged when they are resolved, at send time."""
        host = _host_of(url)
        name = host.rstrip(".")
        address: Address | None
        if name == "localhost" or name.endswith(".localhost"):
            address = LOOPBACK  # always this machine, whatever a resolver says
        elif ":" in host:
            try:
                address = address_of(host)
            except ValueError:
                raise InvalidInput(f"{host!r} is not an IPv6 address", code=FORBIDDEN) from None
        else:
            address = ipv4_literal(host)
        why = None if address is None else self.refusal(address, allow_private=allow_private)
        if why is None:
            return url
        shown = why if host == str(address) else f"{host} ({why})"
        raise InvalidInput(
            f"{shown}: the hub sends only to public addresses, unless an admin allows the "
            "network (the outbound_allow setting)",
            code=FORBIDDEN,
        )
