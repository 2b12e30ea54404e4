"""``edgevision models [PATTERN]``: list the torchvision and timm classification architectures."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``models``."""
    p = subparsers.add_parser("models", help="list trainable architectures")
    p.add_argument("pattern", nargs="?", default="*", help="shell pattern, e.g. '*mobilenet*'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one architecture name a line (``source:name``); exit 2 when none matches."""
    from edgevision.errors import ConfigError
    from edgevision.models import list_architectures

    names = list_architectures(args.pattern)
    if not names:
        raise ConfigError(f"no architecture matches {args.pattern!r}; try a wider pattern")
    for name in names:
        print(name)
    return 0
