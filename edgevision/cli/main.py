"""``edgevision`` entry point: parses the sub-command, configures logging, maps errors to exit 2.

Each sub-command lives in ``edgevision/cli/<name>.py`` and provides ``add_parser(subparsers)``,
which registers its arguments and sets ``func`` to a ``run(args) -> int`` callable. Modules are
imported lazily inside ``run`` where they need torch, so ``live`` and ``bench`` start without it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from edgevision import __version__
from edgevision.errors import EdgevisionError

COMMANDS = ("train", "eval", "export", "live", "bench", "report", "models")

logger = logging.getLogger("edgevision")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="edgevision",
        description="Train an image classifier, export a verified bundle, run it live, bench it.",
    )
    parser.add_argument("--version", action="version", version=f"edgevision {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"edgevision.cli.{name}").add_parser(subparsers)
    return parser


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record, not at set-up.

    Test runners and callers that redirect stderr around ``main()`` would otherwise leave the
    handler pointing at a closed stream.
    """

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Send library log records to stderr as short lines."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname).1s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party libraries are chatty at INFO; keep them to warnings unless asked.
    for noisy in ("nncf", "onnxruntime", "PIL", "matplotlib", "urllib3", "timm", "torch"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that the same clean-up runs; exit code 143."""


def _raise_interrupt(signum: int, frame: object) -> None:
    raise Terminated


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt_on_sigterm() -> object:
    """Treat SIGTERM like Ctrl-C so that every command's clean-up (staged bundles removed,
    recordings finalised) runs when a service manager or ``kill`` stops it.

    Returns:
        The handler it replaced, for :func:`main` to put back (None if none was set).
    """
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread (main() called from a worker thread)
        return None
    return previous


# A child forked from this process without exec (a library's helper process, a DataLoader
# worker) must stay killable by SIGTERM: if it blocks on a lock some other thread held at the
# fork, a Python-level handler never runs, and the parent's terminate() would wait forever.
os.register_at_fork(after_in_child=_default_sigterm)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed, for results to record
    configure_logging(verbose=args.verbose, quiet=args.quiet)
    previous = _interrupt_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except EdgevisionError as err:
        print(f"edgevision {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as stop:
        print(f"edgevision {args.command}: interrupted", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130  # 128 + SIGTERM / SIGINT
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
