"""`pycallcenter sip`: parse a SIP message, answer SIP on a UDP port, or place one SIP call (see docs/sip.md)."""
import asyncio
import json
import ssl
import sys

from pycallcenter.errors import DecodeError
from pycallcenter.media import g722
from pycallcenter.sip import sdp as S
from pycallcenter.sip import ua as U
from pycallcenter.sip.message import MAX_HEADER_BYTES, Request, parse_message
from pycallcenter.sip.transport import open_stream_endpoint
from pycallcenter.sip.udp import open_endpoint


def register(subparsers):
    p = subparsers.add_parser("sip", help="parse a SIP message, answer SIP calls on UDP, or place one call")
    sub = p.add_subparsers(dest="sip_command", metavar="ACTION", required=True)
    parse = sub.add_parser("parse", help="parse one SIP message from a file ('-' for stdin) and print it as JSON")
    parse.add_argument("file")
    serve = sub.add_parser("serve", help="answer OPTIONS and calls (INVITE/ACK/BYE, SDP answer) on a UDP port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5060)
    serve.add_argument("--advertise", default=None,
                       help="address to put in Via, Contact and SDP (needed when --host is 0.0.0.0)")
    serve.add_argument("--rtp-port", type=int, default=40000, help="the RTP port our SDP answers name")
    serve.add_argument("--ring", type=float, default=0.0, help="seconds a call rings (180) before we answer")
    serve.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    serve.add_argument("--transport", choices=("udp", "tcp", "tls"), default="udp")
    serve.add_argument("--cert", help="TLS: our certificate chain (PEM)")
    serve.add_argument("--key", help="TLS: its private key (PEM)")
    serve.add_argument("--account", action="append", default=[], metavar="USER:PASSWORD",
                       help="challenge INVITEs with digest and register phones with these credentials (repeatable)")
    call = sub.add_parser("call", help="place one call (INVITE, ACK), hang up after --talk seconds (BYE)")
    call.add_argument("uri", help="target, e.g. sip:agent@192.0.2.7:5060 (a literal address: no DNS)")
    call.add_argument("--host", default="127.0.0.1", help="local address to bind")
    call.add_argument("--port", type=int, default=0, help="local port (0: any free port)")
    call.add_argument("--talk", type=float, default=1.0, help="seconds to stay in the call once answered (default 1)")
    call.add_argument("--timeout", type=float, default=40.0,
                      help="seconds to wait for an answer or an ending (default 40)")
    for action in (serve, call):
        action.add_argument("--codecs", default=None, metavar="NAMES",
                            help="voice codecs to offer and take, preferred first, comma-separated, as [sip] codecs: "
                                 "PCMU, PCMA, G722 (default PCMU,PCMA; G722 needs the g722 extra)")
    p.set_defaults(func=run)


def summary(message):
    """Return the JSON-able fields of a parsed message."""
    out = {"method": message.method, "uri": str(message.uri)} if isinstance(message, Request) else \
        {"status": message.status, "reason": message.reason}
    out["headers"] = [[name, value] for name, value in message.headers]
    out["body_bytes"] = len(message.body)
    return out


def codecs_option(text):
    """Return our SDP codecs for a --codecs value (names as [sip] codecs takes them); ValueError says what is
    wrong in one line."""
    names = [n.strip().upper() for n in text.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise ValueError(f"--codecs {text}: must name each of PCMU, PCMA, G722 at most once")
    try:
        codecs = S.codecs_named(names)
    except ValueError as exc:
        raise ValueError(f"--codecs {text}: {exc}") from None
    if "G722" in names and not g722.AVAILABLE:
        raise ValueError(f"--codecs {text}: {g722.MISSING}")
    return codecs


def _event_line(event, codecs):
    fields = {k: v for k, v in vars(event).items() if isinstance(v, (str, int, float))}
    # the voice codec of the call: what our answer puts first (a call we take), or the callee's (one we place)
    sdp = event.offer if isinstance(event, U.IncomingCall) else \
        event.answer if isinstance(event, U.CallAnswered) else None
    agreed = sdp is not None and S.negotiated(sdp, {c.name for c in codecs} & set(S.VOICE_CODECS))
    if agreed:
        fields["codec"] = agreed[1]
    return json.dumps({"event": type(event).__name__, **fields})


async def _serve(args):
    options = {"rtp_port": args.rtp_port, "answer_after": args.ring, "codecs": args.codecs}
    if args.account:
        options["credentials"] = dict(a.partition(":")[::2] for a in args.account).get
    if args.transport == "udp":
        endpoint = await open_endpoint(args.host, args.port, args.advertise, **options)
    else:
        tls = {}
        if args.transport == "tls":
            if not (args.cert and args.key):
                raise ValueError("--transport tls needs --cert and --key")
            server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server.load_cert_chain(args.cert, args.key)
            tls = {"server_ssl": server, "client_ssl": ssl.create_default_context()}
        endpoint = await open_stream_endpoint(args.host, args.port, args.transport, advertise=args.advertise,
                                              **tls, **options)
    print(f"listening on {args.transport} {endpoint.local_addr[0]}:{endpoint.local_addr[1]}", flush=True)
    loop = asyncio.get_running_loop()
    stop = None if args.duration is None else loop.time() + args.duration
    try:
        while stop is None or loop.time() < stop:
            wait = None if stop is None else max(0.0, stop - loop.time())
            try:
                event = await asyncio.wait_for(endpoint.events.get(), wait)
            except asyncio.TimeoutError:
                break
            print(_event_line(event, args.codecs), flush=True)
    finally:
        endpoint.close()
    return 0


async def _call(args):
    endpoint = await open_endpoint(args.host, args.port, codecs=args.codecs)
    try:
        call_id = endpoint.call(args.uri)
        while True:
            event = await asyncio.wait_for(endpoint.events.get(), args.timeout)
            print(_event_line(event, args.codecs), flush=True)
            if isinstance(event, U.CallAnswered):
                await asyncio.sleep(args.talk)
                endpoint.hang_up(call_id)
            elif isinstance(event, U.CallFailed):
                return 1
            elif isinstance(event, U.CallEnded):
                return 0
    except asyncio.TimeoutError:
        print(json.dumps({"event": "Timeout", "seconds": args.timeout}), flush=True)
        return 1
    finally:
        endpoint.close()


# One message: the largest header block the parser takes and a megabyte of body (what a stream framer allows).
# Reading the whole input made `sip parse /dev/zero` run out of memory.
MAX_MESSAGE_BYTES = MAX_HEADER_BYTES + (1 << 20)


def _read_message(name):
    """Return the bytes of one SIP message from a file or '-' (stdin); ValueError naming it when it is longer
    than a message can be."""
    if name == "-":
        data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
    else:
        with open(name, "rb") as fh:
            data = fh.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValueError(f"{name}: more than {MAX_MESSAGE_BYTES} bytes, longer than one SIP message can be")
    return data


def run(args):
    if args.sip_command == "parse":
        data = _read_message(args.file)
        try:
            message = parse_message(data)
        except DecodeError as err:
            raise DecodeError(str(err).split(": ", 1)[-1], element=f"{args.file}: {err.element}",
                              offset=err.offset) from None
        print(json.dumps(summary(message), ensure_ascii=False))
        return 0
    args.codecs = S.OUR_CODECS if args.codecs is None else codecs_option(args.codecs)
    return asyncio.run(_serve(args) if args.sip_command == "serve" else _call(args))
