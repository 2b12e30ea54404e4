"""``edgevision report``: merge bench result files from many devices into Markdown, HTML, PNG."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="merge bench results into one table and plot")
    p.add_argument("results", nargs="+", type=Path, help="JSON files written by 'bench --json'")
    p.add_argument("--out", type=Path, default=Path("bench-report"), help="output folder")
    p.add_argument("--force", action="store_true", help="replace report files already in --out")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib needed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgevision.benchmark.report import collect_rows, markdown_table, write_report

    written = write_report(args.results, args.out, plot=not args.no_plot, force=args.force)
    print(markdown_table(collect_rows(args.results)), end="")
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0
