"""Harness hooks answered by the hub, and news for tool sessions."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from hubbub.core.hooks import EVENTS, HARNESSES
from hubbub.core.models import HookOutput, HookText, News
from hubbub.server.bodies import HookBody, HookWaitQuery, NewsBody, rule
from hubbub.server.endpoints import Call, Routes

routes = Routes("hooks")

Harness = Annotated[str, rule(pattern=f"^(?:{'|'.join(HARNESSES)})$")]
HookEvent = Annotated[str, rule(pattern=f"^(?:{'|'.join(EVENTS)})$")]
NOTHING = "Nothing to say: the hook adds nothing."


def _output(answer: HookOutput | None) -> Response:
    if answer is None:
        return Response(status_code=204)
    return Response(answer.model_dump_json(exclude_none=True), media_type="application/json")


@routes.post(
    "/hooks/{harness}/{event}",
    summary="Answer a harness's hook: what it tells the model, in that harness's words",
    responses={204: NOTHING},
)
async def answer_hook(
    call: Call, harness: Harness, event: HookEvent, body: HookBody
) -> HookOutput | Response:
    data = body.model_dump(by_alias=True, exclude_none=True)
    return _output(await call.hub.hooks.answer(call.agent, harness, event, data))


@routes.get(
    "/hooks/{harness}/wait",
    summary="Wait for a DM, mention or task offer this session was not told of",
    responses={204: "The wait ended with nothing new."},
)
async def wait_hook(call: Call, harness: Harness, query: HookWaitQuery) -> HookText | Response:
    async def listening() -> bool:
        return not await call.request.is_disconnected()

    woke = await call.hub.hooks.wait(call.agent, harness, query.session_id, query.wait, listening)
    return Response(status_code=204) if woke is None else _output(HookOutput(text=woke.text))


@routes.post("/news", summary="Inbox items a tool session was not told of, as one line")
async def news(call: Call, body: NewsBody) -> News:
    return await call.hub.notices.news(call.agent, body.session, body.shown_upto)
