"""`pycallcenter wallboard`: a live emulated call centre with the CTI server and the wallboard page."""
from pycallcenter.wallboard import live

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the wallboard command to the CLI."""
    p = subparsers.add_parser("wallboard", help="run a live emulated centre and serve the wallboard and CTI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="HTTP/WebSocket port (0 = any free port)")
    p.add_argument("--agents", type=int, default=6)
    p.add_argument("--calls-per-hour", type=float, default=240.0)
    p.add_argument("--seconds", type=float, help="stop after this much board time (default: until Ctrl-C)")
    p.add_argument("--speed", type=float, default=1.0, help="board seconds per wall second (0 = as fast as possible)")
    p.add_argument("--users", help="CTI users file (docs/cti.md; default: passwords generated and printed)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--people", default="", help="agents left to people at the agent desktop, not simulated "
                                                 "(e.g. 'agent1,agent2'; they start logged in, not ready)")
    p.set_defaults(func=run)


def run(args):
    """Run the live centre; return the exit status."""
    from pycallcenter.errors import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {args.port}")
    if not 1 <= args.agents <= 96:
        raise ConfigError(f"--agents must be from 1 to 96, got {args.agents}")
    if args.calls_per_hour < 0 or args.speed < 0:
        raise ConfigError("--calls-per-hour and --speed must be at least 0")
    users = None
    if args.users:
        from pycallcenter.cti.config import load_users

        users = load_users(args.users)
    people = tuple(n.strip() for n in args.people.split(",") if n.strip())
    return live.run(args.port, args.host, args.agents, args.calls_per_hour, args.seconds, args.speed, args.seed,
                    users, people=people)
