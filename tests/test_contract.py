"""``/openapi.json`` is the exact contract: schemathesis reads it from a real ``hubbub serve`` and
drives every operation with requests the schema allows and requests it forbids, once with a
machine key (and ``X-Hubbub-Agent``) and once with the admin key.

Every answer must be documented for its operation and match its schema; no answer is a 5xx; a
request the schema forbids never succeeds; and one it allows is refused (422, 413) only for a
reason JSON Schema cannot state, each named in ``docs/api.md`` (:data:`SCHEMA_EXCEPTIONS`).

The run is bounded by examples, not time, and seeded, so it is the same run every time. The
event stream (``GET /events``) never ends, so it is left out; its query and header rules are
checked in ``tests/test_bad_input.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as builtin

from tests.live import LiveHub, running_hub
from tests.postgres import Cluster

pytestmark = pytest.mark.e2e

SEED = 20_260_101
MAX_EXAMPLES = 15
"""Per operation and phase: enough for every rule to be tried, small enough for the whole
module to run in minutes on two cores."""
AGENT = "lap-contract"
DOCS = Path(__file__).parent.parent / "docs" / "api.md"
SCHEMA_EXCEPTIONS = {
    "content_too_large": "a text over its limit in UTF-8 bytes",
    "metadata_too_large": "metadata over its limit as compact JSON",
    "result_too_large": "a result over its limit as compact JSON",
    "bad_metadata": "metadata holding an integer beyond ±2^53",
    "bad_result": "a result holding an integer beyond ±2^53",
    "bad_idempotency_key": "an Idempotency-Key with unprintable characters no pattern names",
    "bad_dedupe_key": "a dedupe_key with unprintable characters no pattern names",
    "bad_status": "a channel status with unprintable characters no pattern names",
    "bad_webhook_url": "a webhook URL without a host",
    "forbidden_destination": "a webhook or callback URL without a host, or to an address the "
    "hub does not send to",
    "bad_range": "query parameters that contradict each other",
    "bad_wait": "a wait on a channel read without after",
    "bad_target": "a DM or a task to yourself",
    "bad_reply_to": "a reply to a message of another channel",
    "too_many_recipients": "a send or offer that would reach more than 500 agents",
    "empty_file": "an upload with no bytes",
    "file_too_large": "an upload over max_file_bytes",
    "hash_mismatch": "an upload whose sha256 is not that of its bytes",
    "bad_branch": "a channel branch git would refuse as a ref name",
    "quota_exceeded": "an upload past its machine's file quota",
    "a2a_card_unreadable": "a remote A2A agent whose Agent Card cannot be fetched or read",
}
"""The codes a schema-valid request may still be refused with (``422`` or ``413``), each for a
rule JSON Schema cannot say; ``docs/api.md`` lists the same."""


@dataclass
class Contract:
    """A hub to drive, and who drives it."""

    hub: LiveHub
    machine_key: str
    admin_key: str
    spared_keys: set[int]
    throwaway: int

    def headers(self, kind: str) -> dict[str, str]:
        key = self.machine_key if kind == "machine" else self.admin_key
        return {"Authorization": f"Bearer {key}", "X-Hubbub-Agent": AGENT}


def _start(home: Path, db: str | None) -> Iterator[Contract]:
    env = {
        "HUBBUB_RATE_LIMIT": "0",  # schemathesis sends bursts; the limiter has its own tests
        "HUBBUB_MAX_WAIT_SECONDS": "0.2",  # waits are bounded by this setting, in the schema
        "HUBBUB_CHANNEL_CREATES_PER_HOUR": "100000",
    }
    with running_hub(home, db=db, env=env) as hub:
        config = hub.config()
        machine_key, admin_key = config["key"], config["admin_key"]
        headers = {"Authorization": f"Bearer {machine_key}", "X-Hubbub-Agent": AGENT}
        assert hub.request("GET", "/api/v1/me", headers=headers).status_code == 200
        keys = hub.request("GET", "/api/v1/admin/keys", key=admin_key).json()
        made = hub.request("POST", "/api/v1/admin/keys", key=admin_key, json={"machine": "spare"})
        throwaway = made.json()["info"]["id"]
        yield Contract(hub, machine_key, admin_key, {k["id"] for k in keys}, throwaway)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def contract(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Contract]:
    """A real hub on each engine, with an agent to act as and a key that may be revoked."""
    db = None
    if request.param == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        db = cluster.url(cluster.new_database())
    yield from _start(tmp_path_factory.mktemp("contract"), db)


def _config(base_url: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "with-security-parameters": False,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            # The event stream never ends: read a few events, and stop waiting on a quiet one.
            "max-stream-events": 5,
            "request-timeout": 3,
            "checks": {
                # A request the schema forbids may be refused as too large, too.
                "negative_data_rejection": {
                    "expected-statuses": [
                        "400",
                        "401",
                        "403",
                        "404",
                        "405",
                        "409",
                        "413",
                        "415",
                        "422",
                        "429",
                    ]
                },
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "422", "429"]
                },
            },
        }
    )


def _schema(contract: Contract) -> Any:
    url = contract.hub.url
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=_config(url))


@pytest.fixture(scope="module")
def machine_schema(contract: Contract) -> Any:
    return _schema(contract)


@pytest.fixture(scope="module")
def admin_schema(contract: Contract) -> Any:
    return _schema(contract)


def refused_only_for_what_json_schema_cannot_say(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A schema-valid request refused with 413 or 422 names one of the documented
    exceptions."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code in (413, 422):
        code = response.json().get("code")
        if code not in SCHEMA_EXCEPTIONS:
            raise AssertionError(
                f"a request the schema allows was refused: {response.status_code} {code}: "
                f"{response.json().get('detail')} ({meta.phase.name}: "
                f"{meta.phase.data.description})"
            )
    return None


CHECKS = [
    not_a_server_error,
    builtin.status_code_conformance,
    builtin.content_type_conformance,
    builtin.response_schema_conformance,
    builtin.response_headers_conformance,
    builtin.negative_data_rejection,
    builtin.positive_data_acceptance,
    refused_only_for_what_json_schema_cannot_say,
]


def _call(case: Case[Any], contract: Contract, kind: str) -> None:
    # Revoking the keys this run acts with would end it: those ids revoke a throwaway instead.
    params = case.path_parameters or {}
    if case.path == "/api/v1/admin/keys/{key_id}" and params.get("key_id") in contract.spared_keys:
        params["key_id"] = contract.throwaway
    case.call_and_validate(headers=contract.headers(kind), checks=CHECKS)


machine = schemathesis.pytest.from_fixture("machine_schema")
admin = schemathesis.pytest.from_fixture("admin_schema")


@pytest.mark.timeout(900)
@machine.parametrize()
def test_the_api_keeps_its_contract_with_a_machine_key(case: Case[Any], contract: Contract) -> None:
    _call(case, contract, "machine")


@pytest.mark.timeout(900)
@admin.parametrize()
def test_the_api_keeps_its_contract_with_the_admin_key(case: Case[Any], contract: Contract) -> None:
    _call(case, contract, "admin")


def test_the_documented_exceptions_are_these() -> None:
    """``docs/api.md`` lists exactly the codes a schema-valid request may be refused with."""
    text = DOCS.read_text()
    section = text.split("### What the schema cannot say", 1)[1].split("\n#", 1)[0]
    assert set(re.findall(r"`(?:413|422) (\w+)`", section)) == set(SCHEMA_EXCEPTIONS)
