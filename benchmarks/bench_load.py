"""How fast perfkit reads and validates a big table file, against a plain ``pandas.read_csv`` of it.

    .venv/bin/python benchmarks/bench_load.py [--scales 10 100 1000] [--repeat 5]

For each scale, writes the demo city's cost records ``scale`` times over (new record ids, the same
units and directions) as one UTF-8 CSV, then times, in one run: ``pandas.read_csv`` of the file, and
``perfkit.read_table`` (decoding, typing every cell, every check of the schema, the key) of the same
file. A clean file takes perfkit's fast path (Arrow's parser and kernels); ``--careful`` also times
the careful path, the one that names every problem of a bad file with its line.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

import perfkit
from _timing import timed  # benchmarks/_timing.py, beside this script
from perfkit.datasets import make_demo, write_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--careful", action="store_true", help="also time the careful path")
    args = parser.parse_args()
    records = make_demo(seed=0)["cost_records"]
    print(f"median of {args.repeat} runs; seconds")
    print(f"{'cost records':<14}{'rows':>11}{'MiB':>8}{'read_csv':>10}{'perfkit':>9}{'ratio':>8}"
          + (f"{'careful':>9}{'ratio':>8}" if args.careful else ""))
    for scale in args.scales:
        big = pd.concat([records.assign(record_id=records["record_id"] + f"-{i}") for i in range(scale)],
                        ignore_index=True)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cost_records.csv"
            write_csv(big, path)
            size = path.stat().st_size
            plain = timed(lambda: pd.read_csv(path), args.repeat)
            checked = timed(lambda: perfkit.read_table(path, "cost_records"), args.repeat)
            line = (f"{'×' + str(scale):<14}{len(big):>11,}{size / 2**20:>8.1f}{plain:>10.3f}{checked:>9.3f}"
                    f"{checked / plain:>7.1f}×")
            if args.careful:
                careful = timed(lambda: _careful(path), args.repeat)
                line += f"{careful:>9.3f}{careful / plain:>7.1f}×"
        print(line, flush=True)


def _careful(path: Path) -> pd.DataFrame:
    """The careful path alone: every cell read as text, coerced and located (what a bad file gets)."""
    from perfkit.io import _read_raw, validate_frame
    from perfkit.schema import spec

    raw, rows = _read_raw(path, encoding=None, sheet=None, table="cost_records")
    return validate_frame(raw, spec("cost_records"), source=path.name, rows=rows)


if __name__ == "__main__":
    main()
