"""DATA/status.json, the live status a running centre publishes, as the commands that read it see it."""
import json
import os


def read_status(data):
    """Return the status dict of DATA/status.json; FileNotFoundError when there is none, ValueError naming the
    file when it is not a JSON object (a hand-edited or damaged file printed a traceback before)."""
    path = os.path.join(data, "status.json")
    with open(path) as fh:
        try:
            status = json.load(fh)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            raise ValueError(f"{path}: not a status file ({exc})") from None
    if not isinstance(status, dict):
        raise ValueError(f"{path}: not a status file (a JSON {type(status).__name__}, not an object)")
    return status
