"""Outbound calling on a Centre: the callback dialler ([callbacks]) and the campaigns ([[campaign]]).

``attach(centre)`` builds them from ``centre.settings`` and appends them to ``centre.features``
(each has ``on_tick(now_samples)``, ``status()``, ``close()`` and ``leaks()``); ``Centre.__init__``
calls it. docs/outbound.md describes the keys, the pacing and the outcomes.
"""
from pycallcenter.apps.outbound.callbacks import CallbackDialler
from pycallcenter.apps.outbound.campaign import Campaign

__all__ = ["attach", "CallbackDialler", "Campaign", "features"]


def attach(centre):
    """Create the callback dialler (when enabled) and every campaign of centre.settings, add them to
    centre.features; return them."""
    made = []
    if centre.settings.callbacks.enabled:
        made.append(CallbackDialler(centre))
    for i, section in enumerate(centre.settings.campaign):
        made.append(Campaign(centre, section, i))
    centre.features.extend(made)
    return made


def features(centre):
    """Return the outbound features of a centre: {'callbacks': CallbackDialler or None, 'campaigns':
    {name: Campaign}}."""
    found = {"callbacks": None, "campaigns": {}}
    for f in centre.features:
        if isinstance(f, CallbackDialler):
            found["callbacks"] = f
        elif isinstance(f, Campaign):
            found["campaigns"][f.name] = f
    return found
