"""``python -m obsscale.bench --scale-child N [METHOD]`` (or ``--json-child N``): one synthetic
size, measured in a fresh process; ``--predict-child DATA_DIR``: the seconds of ``obsscale
predict``'s work, without the process's start-up."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m obsscale.bench")
    p.add_argument("--scale-child", nargs="+", help=argparse.SUPPRESS)  # N [method]
    p.add_argument("--json-child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--predict-child", help=argparse.SUPPRESS)  # the data folder
    args = p.parse_args(argv)
    if args.scale_child:
        from obsscale.bench.scale import scale_child

        n, *method = args.scale_child
        print(json.dumps(scale_child(int(n), *method)))
    if args.json_child:
        from obsscale.bench.speed import json_share_child

        print(json.dumps(json_share_child(args.json_child)))
    if args.predict_child:
        from obsscale.bench.speed import predict_child

        print(json.dumps(predict_child(args.predict_child)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
