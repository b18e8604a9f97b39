"""`python -m jpegai_fd.cache ls|gc|verify`: list the latent cache's groups, remove the stale ones, check them.

gc and verify: docs/concepts/cache.md."""

import argparse
import sys
import time

from tabulate import tabulate

from jpegai_fd.cache.inventory import collect, list_groups, verify
from jpegai_fd.errors import UserError

DEFAULT_CACHE = "cache/latents.zarr"  # paths.cache's default, relative to where you launch


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def print_groups(groups) -> None:
    header = ("DATASET", "ENCODER", "BPP", "SPLIT", "DONE", "SIZE", "LAST USED", "STATE", "GROUP")
    rows = []
    for g in groups:
        state = ",".join(s for s, on in (("superseded", g.superseded_by), ("in-use", g.in_use)) if on)
        used, size = time.strftime("%Y-%m-%d %H:%M", time.localtime(g.last_used)), human_bytes(g.size_bytes)
        rows.append([g.dataset, g.encoder, g.bpp, g.split, f"{g.done}/{g.images}", size, used, state, g.key])
    print(tabulate(rows, header, tablefmt="plain", disable_numparse=True))
    print(f"{len(groups)} groups, {human_bytes(sum(g.size_bytes for g in groups))}")


def days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more days, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.cache", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    verbs = (("ls", "list the groups"), ("gc", "remove groups no longer referenced"), ("verify", "check every chunk"))
    for name, text in verbs:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--cache", default=DEFAULT_CACHE, help=f"the store (paths.cache; default {DEFAULT_CACHE})")
        if name == "gc":
            help = "also remove groups that no job opened for DAYS days"
            sub.add_argument("--older-than", type=days, default=None, metavar="DAYS", help=help)
            sub.add_argument("--dry-run", action="store_true", help="only say what would be removed")
        if name == "verify":
            sub.add_argument("--repair", action="store_true", help="mark damaged chunks for extraction again")
    args = parser.parse_args(argv)
    try:
        if args.command == "ls":
            print_groups(list_groups(args.cache))
            return 0
        if args.command == "verify":
            states = verify(args.cache, args.repair)
            for key, state in states:
                print(f"{key}: {state}")
            return int(any(state.startswith("damaged") for _, state in states))
        removals = collect(args.cache, args.older_than, args.dry_run)
    except UserError as exc:
        print(f"jpegai_fd.cache: error: {exc}", file=sys.stderr)
        return 2
    for r in removals:
        verb = "kept (in use)" if r.kept_in_use and not args.dry_run else ("removed" if r.done else "would remove")
        busy = ", in use now" if r.kept_in_use and args.dry_run else ""
        print(f"{verb}: {r.group.key} ({human_bytes(r.group.size_bytes)}, {r.reason}{busy})")
    freed = [r.group.size_bytes for r in removals if r.done or (args.dry_run and not r.kept_in_use)]
    print(f"{'would free' if args.dry_run else 'freed'} {human_bytes(sum(freed))} ({len(freed)} groups)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
