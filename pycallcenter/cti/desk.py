"""The agent desktop (``/agent``) and the supervisor console (``/console``): plain HTML, CSS and JavaScript
files in ``static/`` (shipped as package data), put together into one page per request with the user's
name and the logout form's CSRF token. No build step and nothing fetched from elsewhere."""
import functools
import html
import re
from importlib import resources


@functools.lru_cache(maxsize=None)
def _static(name):
    return resources.files("pycallcenter.cti").joinpath("static", name).read_text(encoding="utf-8")


def _page(name, user, role, csrf):
    values = {"css": _static("desk.css"), "common": _static("common.js"), "user": html.escape(user),
              "role": html.escape(role), "csrf": html.escape(csrf)}
    # one pass, so nothing substituted (a user's name) is read again as a placeholder
    return re.sub(r"\{(css|common|user|role|csrf)\}", lambda m: values[m.group(1)], _static(name))


def desktop_page(user, role, csrf):
    """Return the agent desktop's HTML for a logged-in agent."""
    return _page("desktop.html", user, role, csrf)


def console_page(user, role, csrf):
    """Return the supervisor console's HTML for a logged-in supervisor."""
    return _page("console.html", user, role, csrf)
