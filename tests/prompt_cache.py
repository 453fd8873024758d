"""A module fixture for tests that build centres on the emulator: the generated prompt set in a cache
folder of the test's own (XDG_CACHE_HOME), built once per module by the first try, never in ~/.cache."""
import os

import pytest


@pytest.fixture(scope="module", autouse=True)
def prompt_cache(tmp_path_factory):
    """Point XDG_CACHE_HOME at a temporary folder for the module; return pycallcenter's prompt cache there."""
    from pycallcenter.apps.ivr_try import prompt_cache as folder

    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    try:
        yield folder()
    finally:
        if old is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = old
