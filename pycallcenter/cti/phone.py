"""The browser phone's routes on the CTI server (docs/cti.md "Browser phone"), for logged-in agents and
supervisors only:

- ``GET /phone.js``: the widget (static/phone.js, plain JavaScript), which any page can include;
- ``GET /phone``: a page with nothing but the widget;
- ``POST /phone/offer``: the page's SDP offer, as JSON ``{"sdp": ...}`` with the session cookie and the
  session's CSRF token in the ``X-CSRF-Token`` header (the server's middleware has already refused a
  cross-origin POST); the answer comes back as ``{"sdp": ...}``. The phone registers under the session's
  user name, never a name the page picks.
"""
import asyncio
import hmac
import html
from importlib import resources

from aiohttp import web

from pycallcenter.cti import protocol as P
from pycallcenter.errors import RemoteProtocolError

MAX_BODY = 64 * 1024  # bytes: a browser's offer with its candidates is a few kB
ANSWER_SECONDS = 20.0  # ICE gathering and the DTLS set-up wait no longer than this
ROLES = (P.AGENT, P.SUPERVISOR)


def _static(name):
    return resources.files("pycallcenter.cti").joinpath("static", name).read_text(encoding="utf-8")


def phone_page(user, role, csrf):
    """Return the HTML of the page holding only the browser phone widget."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Phone - {html.escape(user)}'
            f'</title></head><body><h1>Phone of {html.escape(user)}</h1>'
            f'<div id="pycc-phone" data-csrf="{html.escape(csrf)}"></div>'
            f'<script src="/phone.js"></script><script>PyccPhone.mount(document.getElementById("pycc-phone"))'
            f'</script></body></html>')


def phone_routes(server, app):
    """Add the browser phone's routes to the CTI server's aiohttp app."""
    script = _static("phone.js")

    def allowed(request):
        s = server._session(request)
        if s is None or s.role not in ROLES:
            server.guard.refuse(server._source(request), P.FORBIDDEN, f"{request.method} {request.path} "
                                f"without an agent or supervisor session")
            return None
        return s

    async def js(request):
        if allowed(request) is None:
            return web.Response(status=401, text="log in first\n")
        return web.Response(text=script, content_type="application/javascript")

    async def page(request):
        s = allowed(request)
        if s is None:
            raise web.HTTPSeeOther("/")
        return web.Response(text=phone_page(s.name, s.role, s.csrf), content_type="text/html")

    async def offer(request):
        s = allowed(request)
        if s is None:
            return web.json_response({"error": "log in first"}, status=401)
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), s.csrf.encode()):
            server.guard.refuse(server._source(request), "csrf", "POST /phone/offer without its CSRF token")
            return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
        if (request.content_length or 0) > MAX_BODY:
            return web.json_response({"error": f"offer larger than {MAX_BODY} bytes"}, status=413)
        try:
            body = await request.json()
            sdp = body["sdp"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "body must be JSON {\"sdp\": \"...\"}"}, status=400)
        try:
            answer = await asyncio.wait_for(asyncio.wrap_future(server.phones.offer(s.name, sdp)), ANSWER_SECONDS)
        except RemoteProtocolError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except asyncio.TimeoutError:
            return web.json_response({"error": "no answer in time"}, status=504)
        return web.json_response({"sdp": answer})

    app.router.add_get("/phone.js", js)
    app.router.add_get("/phone", page)
    app.router.add_post("/phone/offer", offer)
