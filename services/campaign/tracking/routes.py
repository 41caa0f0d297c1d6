"""HTTP edges of tracking: ``/t/{token}``, outside ``/v1`` and without a login (the signature is the credential).

- an open pixel answers a 1x1 transparent GIF, never cached, and records ``opened``;
- a tracked link records ``clicked`` and redirects (302) to the link's target, which the signature fixes;
- an unsubscribe link answers a page with one button on ``GET`` (mail scanners fetch links: a ``GET``
  changes nothing) and unsubscribes on ``POST``, which is also RFC 8058's one-click request
  (``List-Unsubscribe=One-Click`` in a form body) that mailbox providers send; a second one answers 200 too.

A token that is not one this service signed, or whose message is gone, is a 404: a link either exists or not.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.campaign.tracking import rules, service
from shared.errors import NotFound
from shared.http import DbSession, feature_router

# A followed link or a loaded pixel is a GET that records the response: its unit of work commits.
router = feature_router(tags=["tracking"], commits_reads=True)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}
_FOLLOW_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "An open pixel (image/gif), or an unsubscribe link's confirmation page (text/html).",
          "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}},
                      "text/html": {"schema": {"type": "string"}}}},
    302: {"description": "A tracked link: on to its target.",
          "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}},
}
_UNSUBSCRIBE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Unsubscribed (also when already unsubscribed).",
          "content": {"text/html": {"schema": {"type": "string"}}}},
}


def _token(request: Request, token: str) -> rules.Token:
    read = rules.read(rules.tracking_secret(request.app.state.settings), token)
    if read is None:
        raise NotFound("No such tracking link.")
    return read


@router.get("/t/{token}", response_class=Response, responses=_FOLLOW_ANSWERS,
            summary="Follow a tracked link, load an open pixel, or open an unsubscribe page (no login)")
def follow(token: str, request: Request, db: DbSession) -> Response:
    read = _token(request, token)
    if read.kind == "unsubscribed":
        service.check(db, read)
        return HTMLResponse(_page("Unsubscribe", "<p>Stop receiving these messages?</p>"
                                  f'<form method="post" action="{html.escape(str(request.url.path))}">'
                                  '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                                  '<button type="submit">Unsubscribe</button></form>'), headers=NO_STORE)
    followed = service.follow(db, read)
    if followed.target is not None:
        return RedirectResponse(followed.target, status_code=302, headers=NO_STORE)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.post("/t/{token}", response_class=HTMLResponse, responses=_UNSUBSCRIBE_ANSWERS,
             summary="Unsubscribe by a signed link: the page's button, or RFC 8058 one-click (no login)")
def unsubscribe(token: str, request: Request, db: DbSession) -> HTMLResponse:
    read = _token(request, token)
    if read.kind != "unsubscribed":
        raise NotFound("No such unsubscribe link.")
    service.follow(db, read)
    return HTMLResponse(_page("Unsubscribed", "<p>You will not receive these messages any more.</p>"),
                        headers=NO_STORE)


def _page(title: str, content: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1>{content}</body></html>")
