"""Outbound requests never reach the hub's own network unless an admin allowed it.

Task callbacks and integration webhooks to a literal non-public address (in any notation) or
to ``localhost`` are refused at creation; a name that resolves to one is refused when it is
sent, on the address actually connected to, and the delivery is dead at once with the
reason. ``outbound_allow`` opens networks, ``allow_private`` one admin-registered webhook
(never a metadata address). Only the admin sees what a receiver answered. Every request
here goes to loopback: names come from ``/etc/hosts`` or a resolver the test supplies.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hubbub.core.errors import InvalidInput
from hubbub.core.outbound import OutboundPolicy, address_of, parse_networks
from hubbub.server.webhooks import HttpPoster, resolve
from hubbub.settings import Settings
from tests.clients import API, AgentClient, HubFactory, InProcessHub, Json, problem
from tests.realtime import eventually
from tests.receiver import ALLOW_LOOPBACK, receiving

pytestmark = pytest.mark.anyio

FORBIDDEN = "forbidden_destination"
# Retries that never hold a test up.
FAST: dict[str, Any] = {"webhook_backoff_seconds": 0.05, "webhook_backoff_max_seconds": 0.2}

LOOPBACK_FORMS = [
    "http://127.0.0.1:9/hook",
    "http://127.0.0.1./hook",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.0.0.2:8080/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://localhost:7878/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://user:pw@127.0.0.1/",
    "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",  # full-width digits
]
METADATA_FORMS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
]
PRIVATE_FORMS = [
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://[fd12:3456::1]/",
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://224.0.0.251/",
    "http://[ff02::1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://100.64.0.1/",
    "http://240.0.0.1/",
    "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    "http://[::10.0.0.1]/",  # IPv4-compatible
]
FORBIDDEN_FORMS = LOOPBACK_FORMS + PRIVATE_FORMS + METADATA_FORMS
PUBLIC = [
    "https://example.com/hook",
    "http://hooks.example.org:8443/x",
    "http://93.184.215.14/",
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
    "http://1.1/",  # 1.0.0.1
]


def hosts_name() -> str | None:
    """A name ``/etc/hosts`` maps to 127.0.0.1 alone (``localhost`` is refused at creation,
    so not that one); resolving it never leaves the machine."""
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or fields[0] != "127.0.0.1":
            continue
        for name in fields[1:]:
            plain = name.lower().rstrip(".")
            if plain == "localhost" or plain.endswith(".localhost"):
                continue
            found = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
            if found == {"127.0.0.1"}:
                return name
    return None


@pytest.fixture
def loopback_name() -> str:
    """A host name that resolves to 127.0.0.1 on this machine (the machine's own name,
    usually)."""
    name = hosts_name()
    if name is None:
        pytest.skip("no name in /etc/hosts resolves to 127.0.0.1 alone")
    return name


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


# the rule, in the core


@pytest.mark.parametrize("url", FORBIDDEN_FORMS)
def test_every_notation_of_a_forbidden_address_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        OutboundPolicy().check_url(url)
    assert refused.value.code == FORBIDDEN
    assert "public addresses" in refused.value.detail or "metadata" in refused.value.detail


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "http://",
        "http://[::1",
    ],
)
def test_only_http_urls_with_a_host_pass(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        OutboundPolicy().check_url(url)
    assert refused.value.code == FORBIDDEN


@pytest.mark.parametrize("url", PUBLIC)
def test_public_addresses_and_names_pass_at_creation(url: str) -> None:
    assert OutboundPolicy().check_url(url) == url


def test_an_allowed_network_opens_its_addresses_only() -> None:
    policy = OutboundPolicy(parse_networks("127.0.0.0/8"))
    for url in LOOPBACK_FORMS:
        if "[::1]" not in url:
            assert policy.check_url(url) == url
    for url in ["http://[::1]/", "http://10.0.0.1/", "http://169.254.1.1/"]:
        with pytest.raises(InvalidInput):
            policy.check_url(url)


def test_metadata_stays_refused_unless_listed_alone() -> None:
    wide = OutboundPolicy(parse_networks("169.254.0.0/16, 100.64.0.0/10, fd00::/8"))
    assert wide.refusal(address_of("169.254.1.1")) is None
    assert wide.refusal(address_of("100.64.0.1")) is None
    for url in METADATA_FORMS:
        with pytest.raises(InvalidInput, match="metadata"):
            wide.check_url(url)
        with pytest.raises(InvalidInput, match="metadata"):
            OutboundPolicy().check_url(url, allow_private=True)
    alone = OutboundPolicy(parse_networks("169.254.169.254/32"))
    assert alone.check_url("http://169.254.169.254/") == "http://169.254.169.254/"


def test_allow_private_lifts_the_rule_for_all_but_metadata() -> None:
    for url in LOOPBACK_FORMS + PRIVATE_FORMS:
        assert OutboundPolicy().check_url(url, allow_private=True) == url


def test_refusals_say_what_the_address_is() -> None:
    policy = OutboundPolicy()
    assert policy.refusal(address_of("10.1.2.3")) == "10.1.2.3 is a private address"
    assert policy.refusal(address_of("fe80::1%eth0")) == "fe80::1 is a link-local address"
    assert policy.refusal(address_of("2002:a00:1::")) == (
        "2002:a00:1:: carries 10.0.0.1, a private address"
    )
    assert policy.refusal(address_of("100.64.0.1")) == "100.64.0.1 is a carrier-grade NAT address"
    assert policy.refusal(address_of("8.8.8.8")) is None


def test_the_setting_takes_a_list_of_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBBUB_OUTBOUND_ALLOW", "127.0.0.0/8, fd00::/8,10.1.2.3")
    allow = Settings().outbound_policy().allow
    assert allow == tuple(
        ipaddress.ip_network(n) for n in ("127.0.0.0/8", "fd00::/8", "10.1.2.3/32")
    )
    assert Settings(outbound_allow="").outbound_policy().allow == ()
    with pytest.raises(ValidationError, match=r"'127\.0\.0\.1/8'.*did you mean 127\.0\.0\.0/8"):
        Settings(outbound_allow="127.0.0.1/8")
    with pytest.raises(ValidationError, match="'intranet' is not a network"):
        Settings(outbound_allow="10.0.0.0/8, intranet")


# refused at creation (both engines)


async def test_a_forbidden_callback_is_refused_at_creation_and_nothing_is_written(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await hub.agent("lap-beta")
    before = hub.snapshot()
    for url in FORBIDDEN_FORMS:
        body = {"title": "t", "target": "@lap-beta", "callback_url": url}
        found = problem(await alpha.post("/tasks", body), 422, FORBIDDEN)
        assert "the hub sends only to public addresses" in found["detail"] or (
            "metadata" in found["detail"]
        )
    for url in ["ftp://127.0.0.1/", "file:///etc/passwd"]:
        body = {"title": "t", "target": "@lap-beta", "callback_url": url}
        problem(await alpha.post("/tasks", body), 422, "bad_callback")
    assert hub.snapshot() == before


async def test_a_forbidden_webhook_is_refused_unless_the_admin_vouches_for_it(
    hub: InProcessHub,
) -> None:
    def integrations() -> int:
        return int(hub.query("SELECT count(*) FROM integrations")[0][0])

    async def create(index: int, url: str, **extra: Any) -> Any:
        body = {"name": f"hook-{index}", "scopes": ["tasks:create"], "webhook_url": url, **extra}
        return await hub.http.post(
            f"{API}/admin/integrations", json=body, headers=hub.admin_headers
        )

    for index, url in enumerate(FORBIDDEN_FORMS):
        problem(await create(index, url), 422, FORBIDDEN)
    for index, url in enumerate(METADATA_FORMS):
        problem(await create(index, url, allow_private=True), 422, FORBIDDEN)
    problem(await create(0, "ftp://10.0.0.1/"), 422, "bad_webhook_url")
    assert integrations() == 0
    for index, url in enumerate(LOOPBACK_FORMS + PRIVATE_FORMS):
        made = await create(index, url, allow_private=True)
        assert made.status_code == 201, made.text
        assert made.json()["integration"]["allow_private"] is True
    plain = await create(999, PUBLIC[0])
    assert plain.json()["integration"]["allow_private"] is False


# refused, or allowed, when sent (both engines)


async def deliveries(creator: AgentClient, task_id: int, *, admin: str | None = None) -> list[Json]:
    """The task's callback deliveries as its creator sees them, or with the ``admin`` key
    (acting as the creator)."""
    headers = {} if admin is None else {"Authorization": f"Bearer {admin}"}
    response = await creator.get(f"/tasks/{task_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    found: list[Json] = response.json()
    return found


async def finished(fetch: Callable[[], Awaitable[list[Json]]], count: int) -> list[Json]:
    """Poll until ``count`` deliveries exist and none is pending."""

    async def check() -> list[Json] | None:
        found = await fetch()
        done = len(found) >= count and all(d["status"] != "pending" for d in found)
        return found if done else None

    return await eventually(check, within=30)


async def test_a_name_that_resolves_to_loopback_is_refused_when_sent(
    hub_factory: HubFactory, loopback_name: str
) -> None:
    with receiving() as receiver:
        async with hub_factory(**FAST) as hub:
            creator = await hub.agent("lap-boss")
            worker = await hub.agent("lap-worker")
            url = f"http://{loopback_name}:{port_of(receiver.url)}/cb"
            task = await creator.ok(
                "POST", "/tasks", {"title": "t", "target": "@lap-worker", "callback_url": url}
            )
            await worker.ok("POST", f"/tasks/{task['id']}/claim", {})  # a second event

            seen = await finished(lambda: deliveries(creator, task["id"], admin=hub.admin_key), 2)
            assert [d["status"] for d in seen] == ["dead", "dead"]  # neither retried
            assert {d["attempts"] for d in seen} == {1}
            reason = (
                f"forbidden destination: {loopback_name} resolves to 127.0.0.1; "
                "127.0.0.1 is a loopback address"
            )
            assert {d["last_error"] for d in seen} == {reason}
            assert {d["last_status"] for d in seen} == {None}
            mine = await deliveries(creator, task["id"])
            assert {d["last_error"] for d in mine} == {"forbidden destination"}
            assert receiver.all() == []


async def test_a_listed_network_lets_the_name_through_by_its_name(
    hub_factory: HubFactory, loopback_name: str
) -> None:
    with receiving() as receiver:
        async with hub_factory(**FAST, **ALLOW_LOOPBACK) as hub:
            creator = await hub.agent("lap-boss")
            await hub.agent("lap-worker")
            port = port_of(receiver.url)
            task = await creator.ok(
                "POST",
                "/tasks",
                {
                    "title": "t",
                    "target": "@lap-worker",
                    "callback_url": f"http://{loopback_name}:{port}/cb",
                },
            )
            seen = await finished(lambda: deliveries(creator, task["id"]), 1)
            assert [(d["status"], d["last_status"]) for d in seen] == [("delivered", 200)]
            [got] = receiver.all()
            assert got.headers["host"] == f"{loopback_name}:{port}"
            assert got.path == "/cb"


async def test_an_admin_registered_webhook_is_allowed_and_nothing_else(
    hub_factory: HubFactory, loopback_name: str
) -> None:
    with receiving() as receiver:
        async with hub_factory(**FAST) as hub:  # outbound_allow not set
            port = port_of(receiver.url)
            body = {
                "name": "alerts",
                "scopes": ["tasks:create"],
                "targets": ["cap:*"],
                "webhook_url": f"http://{loopback_name}:{port}/hook",
            }
            refused = await hub.http.post(
                f"{API}/admin/integrations",
                json={**body, "webhook_url": receiver.url + "/hook"},
                headers=hub.admin_headers,
            )
            problem(refused, 422, FORBIDDEN)
            made = await hub.http.post(
                f"{API}/admin/integrations",
                json={**body, "allow_private": True},
                headers=hub.admin_headers,
            )
            assert made.status_code == 201, made.text
            token = made.json()["token"]
            fired = await hub.http.post(
                f"{API}/integrations/events",
                json={"action": "trigger", "dedupe_key": "k", "title": "t", "target": "cap:x"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert fired.status_code == 201, fired.text
            # An agent's callback to the very same host and port stays refused.
            creator = await hub.agent("lap-boss")
            task = await creator.ok(
                "POST",
                "/tasks",
                {
                    "title": "t",
                    "target": "cap:x",
                    "callback_url": f"http://{loopback_name}:{port}/cb",
                },
            )
            seen = await finished(lambda: deliveries(creator, task["id"], admin=hub.admin_key), 1)
            assert seen[0]["status"] == "dead"
            assert seen[0]["last_error"].startswith("forbidden destination")

            async def hooked() -> list[Any] | None:
                return receiver.accepted("/hook") or None

            arrived = await eventually(hooked, within=30)
            assert arrived[0].json["type"] == "task.created"
            assert {r.path for r in receiver.all()} == {"/hook"}


async def test_only_the_admin_sees_what_a_receiver_answered(hub_factory: HubFactory) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/cb"
    with receiving() as receiver:
        receiver.status = 500
        receiver.reply = b"db-7 internal error: secret banner"
        async with hub_factory(webhook_max_attempts=1, **FAST, **ALLOW_LOOPBACK) as hub:
            creator = await hub.agent("lap-boss")
            await hub.agent("lap-worker")
            made = [
                await creator.ok(
                    "POST", "/tasks", {"title": "t", "target": "@lap-worker", "callback_url": url}
                )
                for url in (receiver.url + "/cb", nowhere)
            ]
            answered, unreachable = (t["id"] for t in made)

            full = await finished(lambda: deliveries(creator, answered, admin=hub.admin_key), 1)
            assert full[0]["last_error"] == "HTTP 500: db-7 internal error: secret banner"
            shown = await deliveries(creator, answered)
            assert [(d["status"], d["last_status"], d["last_error"]) for d in shown] == [
                ("dead", 500, "HTTP 500")
            ]
            await finished(lambda: deliveries(creator, unreachable, admin=hub.admin_key), 1)
            shown = await deliveries(creator, unreachable)
            assert [d["last_error"] for d in shown] == ["ConnectError"]
            listed = await creator.get(f"/tasks/{answered}/deliveries")
            assert "banner" not in listed.text


# the poster itself: where it connects, and with which name


def resolving(table: dict[str, list[str]], calls: list[str]) -> Any:
    """A resolver that answers from ``table`` (names the system cannot resolve), else as the
    system does (for addresses, which need no lookup), and records each lookup."""

    async def lookup(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host] if host in table else await resolve(host, port)

    return lookup


async def test_the_poster_connects_to_the_checked_address_under_the_name() -> None:
    calls: list[str] = []
    resolver = resolving({"receiver.test": ["::1", "127.0.0.1"]}, calls)
    policy = OutboundPolicy(parse_networks("127.0.0.0/8"))
    with receiving() as receiver:
        port = port_of(receiver.url)
        async with HttpPoster(10, policy, resolver=resolver) as poster:
            result = await poster.post(f"http://receiver.test:{port}/in", b"{}", {})
        assert (result.status, result.error, result.permanent) == (200, None, False)
        [got] = receiver.all()
        assert got.headers["host"] == f"receiver.test:{port}"
        assert calls == ["receiver.test"]  # resolved once, by the check; never again


async def test_the_poster_refuses_when_no_address_passes_and_sends_nothing() -> None:
    calls: list[str] = []
    resolver = resolving({"rebound.test": ["127.0.0.1", "::1"]}, calls)
    with receiving() as receiver:
        port = port_of(receiver.url)
        async with HttpPoster(10, OutboundPolicy(), resolver=resolver) as poster:
            refused = await poster.post(f"http://rebound.test:{port}/in", b"{}", {})
            literal = await poster.post(f"http://2130706433:{port}/in", b"{}", {})
            trusted = await poster.post(
                f"http://rebound.test:{port}/in", b"{}", {}, allow_private=True
            )
            again = await poster.post(f"http://rebound.test:{port}/in", b"{}", {})
        assert refused.permanent
        assert refused.error == (
            "forbidden destination: rebound.test resolves to 127.0.0.1, ::1; "
            "127.0.0.1 is a loopback address"
        )
        assert literal.permanent
        assert "127.0.0.1 is a loopback address" in str(literal.error)
        assert trusted.status == 200
        assert again.permanent  # the admin's allowance stays with the admin's destination
        assert len(receiver.all()) == 1


async def test_tls_is_checked_against_the_name_not_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, authority = tls_for("receiver.test", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))  # the poster trusts this CA alone
    names: list[str | None] = []
    server.sni_callback = lambda sock, name, context: names.append(name)
    resolver = resolving({"receiver.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}, [])
    policy = OutboundPolicy(parse_networks("127.0.0.1/32"))
    with receiving(server) as receiver:
        port = port_of(receiver.url)
        async with HttpPoster(10, policy, resolver=resolver) as poster:
            good = await poster.post(f"https://receiver.test:{port}/in", b"{}", {})
            wrong = await poster.post(f"https://other.test:{port}/in", b"{}", {})
    assert good.status == 200, good.error
    assert names[0] == "receiver.test"
    assert wrong.status is None
    assert not wrong.permanent
    assert "CERTIFICATE_VERIFY_FAILED" in str(wrong.error)
    assert [r.headers["host"] for r in receiver.all()] == [f"receiver.test:{port}"]


def tls_for(name: str, where: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for ``name``, and the file of the CA that
    signed it."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, ca: bool
    ) -> x509.Certificate:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hubbub test CA")])
    ca = build("hubbub test CA", ca_key, ca_name, ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = build(name, leaf_key, ca_name, ca_key, ca=False)
    authority = where / "ca.pem"
    authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = where / "server.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return context, authority
