"""Command line: `speclab-collect demo --out traces/demo [--seed 0]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="speclab-collect", description="Write SpecLab MoE routing trace sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="write the demo trace set (tiny random-initialised Mixtral-architecture model, bundled texts)",
        description="Write the demo trace set; replaces a trace set already in --out.",
    )
    demo.add_argument("--out", type=Path, required=True, help="output folder, e.g. traces/demo")
    demo.add_argument("--seed", type=int, default=0, help="torch seed for the random weights (default 0)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        # Imported here so `--help` does not pay for importing torch and transformers.
        from .demo import write_demo

        writer = write_demo(args.out, seed=args.seed)
        size = sum((args.out / s["file"]).stat().st_size for s in writer.shards)
        print(
            f"wrote {writer.tokens_written} tokens in {len(writer.shards)} shards ({size / 1e6:.2f} MB) to {args.out}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
