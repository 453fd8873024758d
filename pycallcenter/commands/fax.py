"""``pycallcenter fax``: fax loopback through the emulated board, document conversion to TIFF-F.

Examples::

    pycallcenter fax loopback chart.tif --to-spandsp -o received.tif --sent-tiff sent.tif --modem v29 --no-ecm
    pycallcenter fax loopback price-list.pdf --from-spandsp -o received.tif
    pycallcenter fax convert letter.txt -o letter.tif --standard --g3
"""
import os
import sys
import tempfile

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the fax command."""
    parser = subparsers.add_parser("fax", help="fax loopback through the emulator, convert documents to TIFF-F",
                                   description=__doc__.split("\n")[0].split(": ", 1)[1])
    sub = parser.add_subparsers(dest="fax_command", required=True)

    lb = sub.add_parser("loopback", help="one fax call between our terminal and a spandsp terminal on the emulator")
    lb.add_argument("document", help="PDF, PNG, JPEG, TIFF or text file (converted to TIFF-F first)")
    way = lb.add_mutually_exclusive_group()
    way.add_argument("--to-spandsp", dest="direction", action="store_const", const="to-spandsp",
                     help="we send, a spandsp terminal receives (default)")
    way.add_argument("--from-spandsp", dest="direction", action="store_const", const="from-spandsp",
                     help="a spandsp terminal sends, we receive")
    lb.add_argument("-o", "--output", required=True, help="where the received TIFF is written")
    lb.add_argument("--sent-tiff", help="also write the TIFF-F that was sent")
    lb.add_argument("--ecm", dest="ecm", action="store_true", default=True, help="error correction mode (default)")
    lb.add_argument("--no-ecm", dest="ecm", action="store_false", help="no error correction mode")
    lb.add_argument("--modem", choices=("v17", "v29", "v27ter"), help="allow only this modem (default: all)")
    lb.add_argument("--law", choices=("ulaw", "alaw"), default="ulaw", help="the line's G.711 law (default ulaw)")
    lb.add_argument("--noise", type=float, metavar="DBM0", help="white noise on the line, dBm0")
    lb.add_argument("--loss", type=float, default=0.0, metavar="DB", help="line loss in dB (positive)")
    lb.add_argument("--standard", action="store_true", help="convert at standard resolution (98 lines/inch)")
    lb.set_defaults(direction="to-spandsp")

    cv = sub.add_parser("convert", help="convert a document to TIFF-F")
    cv.add_argument("document")
    cv.add_argument("-o", "--output", required=True)
    cv.add_argument("--standard", action="store_true", help="98 lines/inch instead of 196")
    cv.add_argument("--g3", action="store_true", help="Group 3 (T.4 1-D) instead of Group 4")
    parser.set_defaults(func=run)


def _convert(args):
    from pycallcenter.fax.documents import DocumentError, convert_to_tiff_f

    try:
        pages = convert_to_tiff_f(args.document, args.output, "standard" if args.standard else "fine",
                                  "g3" if args.g3 else "g4")
    except DocumentError as exc:
        print(f"fax convert: {exc}", file=sys.stderr)
        return 1
    print(f"{args.output}: {pages} page(s) TIFF-F")
    return 0


def _loopback(args):
    from pycallcenter.fax.documents import DocumentError, convert_to_tiff_f
    from pycallcenter.apps.fax_loopback import run_loopback

    with tempfile.TemporaryDirectory(prefix="pycc-fax-") as work:
        sent = args.sent_tiff or os.path.join(work, "sent.tif")
        try:
            convert_to_tiff_f(args.document, sent, "standard" if args.standard else "fine", "g4")
        except DocumentError as exc:
            print(f"fax loopback: {exc}", file=sys.stderr)
            return 1
        if os.path.exists(args.output):
            os.unlink(args.output)
        r = run_loopback(sent, direction=args.direction, received=args.output, ecm=args.ecm, modem=args.modem,
                         law=args.law, noise_dbm0=args.noise, level_db=-abs(args.loss) if args.loss else None)
    ours = r.ours
    who = "we sent, spandsp received" if args.direction == "to-spandsp" else "spandsp sent, we received"
    if ours is None:
        print(f"fax loopback: no result after {r.seconds:.1f} s of line time", file=sys.stderr)
        return 1
    print(f"{who}: {ours.text} (code {ours.code}), {ours.pages} page(s) at {ours.bit_rate} bit/s, "
          f"ECM {'on' if ours.ecm else 'off'}, far end {r.far_pages} page(s), {r.seconds:.1f} s of line time")
    for p in ours.page_info:
        print(f"  page {p.page}: {p.width}x{p.length} at {p.x_dpi}x{p.y_dpi} dpi, {p.encoding}, "
              f"{p.bad_rows} bad rows")
    ok = ours.ok and os.path.exists(args.output)
    if ok:
        print(f"received: {args.output}" + (f"; sent: {args.sent_tiff}" if args.sent_tiff else ""))
    return 0 if ok else 1


def run(args):
    """Run the fax subcommand; return the exit status."""
    if args.fax_command == "convert":
        return _convert(args)
    return _loopback(args)
