"""`pycallcenter cti passwd NAME`: make a password hash for a CTI users file (or set it in one)."""
import getpass
import os
import sys

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the cti command to the CLI."""
    p = subparsers.add_parser("cti", help="CTI accounts: password hashes for the users file")
    sub = p.add_subparsers(dest="cti_command", required=True)
    pw = sub.add_parser("passwd", help="print a password's scrypt hash, or set it for NAME in a users file")
    pw.add_argument("name", help="the user (for agents, the ACD agent name)")
    pw.add_argument("--users", help="users file to update: NAME's password_hash is set (a new [[user]] is added "
                                    "with --role when NAME is not there)")
    pw.add_argument("--role", choices=("agent", "supervisor"), default="agent", help="role of a new user")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of standard input (scripts)")
    pw.set_defaults(func=passwd)


def _read_password(args):
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ; nothing changed")
    return first


def passwd(args):
    """Print the hash, or write it into the users file; return the exit status."""
    from pycallcenter.cti.auth import hash_password
    from pycallcenter.cti.config import load_users, set_password
    from pycallcenter.errors import ConfigError

    password = _read_password(args)
    if len(password) < 8:
        raise ConfigError("a password has at least 8 characters")
    h = hash_password(password)
    if not args.users:
        print(h)
        return 0
    text = ""
    if os.path.exists(args.users):
        load_users(args.users)  # refuse to edit a file that does not load
        with open(args.users, encoding="utf-8") as f:
            text = f.read()
    tmp = args.users + ".tmp"  # written beside, checked, then moved over: never a half-written users file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(set_password(text, args.name, h, args.role))
    try:
        load_users(tmp)
    except ConfigError:
        os.remove(tmp)
        raise
    os.replace(tmp, args.users)
    print(f"{args.users}: password of {args.name} set")
    return 0
