"""`pycallcenter reload`: tell a running centre (`pycallcenter run`) to read its configuration file again
and apply queue membership, penalties, agents' skills and queue strategies without a restart."""
import os
import signal

from pycallcenter.commands._status_file import read_status
from pycallcenter.errors import ConfigError

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the reload command to the CLI."""
    p = subparsers.add_parser("reload", help="apply a running centre's changed queues, members, skills live")
    p.add_argument("--data", default="data", help="the running centre's data folder (its status.json names it)")
    p.set_defaults(func=run)


def run(args):
    """Send SIGHUP to the centre whose status file is in the data folder; return 0."""
    from pycallcenter.apps.settings import load_settings

    path = os.path.join(args.data, "status.json")
    try:
        status = read_status(args.data)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no running centre's status here ({exc})", path=path) from None
    pid, config = status.get("pid"), status.get("config")
    if status.get("state") not in ("running", "starting") or not isinstance(pid, int):
        raise ConfigError(f"the centre is {status.get('state', 'unknown')}, not running", path=path)
    if config:
        load_settings(config)  # a file that does not check is refused here, with its line, before the signal
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ConfigError(f"the centre's process {pid} is gone", path=path) from None
    print(f"asked process {pid} to reload {config}; it prints and logs what changed")
    return 0
