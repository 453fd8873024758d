"""`pycallcenter prompts build DIR`: generate the prompt set with espeak-ng."""
from pycallcenter.ivr import promptset


def register(subparsers):
    p = subparsers.add_parser("prompts", help="generate the IVR prompt set (espeak-ng)")
    p.add_argument("action", choices=["build", "list"])
    p.add_argument("folder", nargs="?", default="data/prompts")
    p.set_defaults(func=run)


def run(args):
    if args.action == "list":
        for name, (voice, text) in sorted(promptset.all_prompts().items()):
            print(f"{name}\t{voice}\t{text}")
        return 0
    written = promptset.build(args.folder)
    print(f"{len(written)} prompts written to {args.folder} ({len(promptset.all_prompts())} in the set)")
    return 0
