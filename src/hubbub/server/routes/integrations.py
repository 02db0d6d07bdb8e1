"""Integrations: scoped tokens (admin), the events they send, and webhook deliveries."""

from __future__ import annotations

from hubbub.core.integrations import IntegrationEvent
from hubbub.core.models import (
    Integration,
    IntegrationEventResult,
    NewIntegration,
    WebhookDelivery,
)
from hubbub.server import guards
from hubbub.server.bodies import (
    AgentName,
    DeliveriesQuery,
    IntegrationBody,
    IntegrationEventBody,
)
from hubbub.server.endpoints import Call, Reply, Routes

routes = Routes("integrations")


@routes.get("/admin/integrations", summary="Every integration (never tokens)", auth="admin")
async def list_integrations(call: Call) -> list[Integration]:
    return await call.hub.integrations.list()


@routes.post(
    "/admin/integrations",
    summary="Create an integration (token and webhook secret shown once)",
    auth="admin",
    status=201,
    errors={409: "The name is taken"},
)
async def create_integration(call: Call, body: IntegrationBody) -> NewIntegration:
    """The integration acts as its own agent, of kind `integration`, named `name`. With
    `allow_private`, its webhook may reach addresses the hub otherwise refuses."""
    return await call.hub.integrations.create(
        body.name,
        scopes=body.scopes,
        targets=body.targets,
        channels=body.channels,
        rate_limit=body.rate_limit,
        rate_burst=body.rate_burst,
        webhook_url=body.webhook_url,
        allow_private=body.allow_private,
    )


@routes.get("/admin/integrations/{name}", summary="One integration", auth="admin")
async def get_integration(call: Call, name: AgentName) -> Integration:
    return await call.hub.integrations.get(name)


@routes.delete("/admin/integrations/{name}", summary="Revoke an integration", auth="admin")
async def revoke_integration(call: Call, name: AgentName) -> Integration:
    """Its token stops working at once; its pending webhook deliveries are dropped."""
    return await call.hub.integrations.revoke(name)


@routes.get(
    "/admin/integrations/{name}/deliveries",
    summary="An integration's webhook deliveries, newest first",
    auth="admin",
)
async def integration_deliveries(
    call: Call, name: AgentName, query: DeliveriesQuery
) -> list[WebhookDelivery]:
    return await call.hub.integrations.deliveries(
        name, status=query.status, before=query.before, limit=query.limit
    )


@routes.post(
    "/integrations/events",
    summary="Trigger, update or resolve a task from an alert, build or ticket",
    auth="integration",
    responses={
        201: "A trigger created a new task",
    },
    errors={404: "No such target or channel", 409: "The task's channel is archived"},
)
async def integration_event(
    call: Call, body: IntegrationEventBody
) -> IntegrationEventResult | Reply:
    """Needs an integration token: `tasks:create` to trigger (and the target allowed),
    `tasks:update` to update or resolve. Safe to repeat: the `dedupe_key` names the task."""
    assert call.grant is not None
    result = await call.hub.integrations.ingest(
        call.agent, call.grant, IntegrationEvent(**body.model_dump())
    )
    return Reply(result, 201) if result.outcome == "created" else result


@routes.get(
    "/tasks/{task_id}/deliveries",
    summary="Deliveries to a task's callback URL, newest first (its creator)",
    scope="tasks:read",
    guard=guards.task_param(),
)
async def task_deliveries(
    call: Call, task_id: int, query: DeliveriesQuery
) -> list[WebhookDelivery]:
    return await call.hub.integrations.task_deliveries(
        call.agent,
        task_id,
        admin=call.credential is not None and call.credential.is_admin,
        status=query.status,
        before=query.before,
        limit=query.limit,
    )
