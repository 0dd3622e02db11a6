"""``python -m obsscale.bench --scale-child N``: one synthetic size, measured in a fresh process."""

from __future__ import annotations

import argparse
import json
import sys

from obsscale.bench.scale import scale_child


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m obsscale.bench")
    p.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.scale_child:
        print(json.dumps(scale_child(args.scale_child)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
