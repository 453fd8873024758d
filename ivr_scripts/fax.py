"""Documents by fax: pycallcenter.fax's fax-on-demand flow over the centre's document library, or
fax_not_available when there is no library (or no fax support installed)."""
from pycallcenter.apps.centre_config import centre_of


async def main(call):
    library = centre_of(call).fax_library
    try:
        from pycallcenter.fax.ivr import fax_on_demand
    except ImportError:  # spandsp binding not built
        fax_on_demand = None
    await call.answer()
    if library is None or fax_on_demand is None:
        await call.play(["fax_not_available", "goodbye"])
        await call.hangup()
        return None
    result = await fax_on_demand(call, library)
    if result["delivery"] == "callback":
        call.set("outcome", "callback")
    elif result["result"] is not None:
        call.set("outcome", "fax_sent" if result["result"].ok else "fax_failed")
    return result
