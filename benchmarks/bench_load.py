"""How fast perfkit reads and validates a big table file, against a plain ``pandas.read_csv`` of it.

    .venv/bin/python benchmarks/bench_load.py [--scale 10] [--repeat 3]

Writes the demo city's cost records ``scale`` times over (new record ids, the same units and
directions) as one UTF-8 CSV, then times, in one run: ``pandas.read_csv`` of the file, and
``perfkit.read_table`` (decoding, typing every cell, schema checks, key checks) of the same file.
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
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    records = make_demo(seed=0)["cost_records"]
    big = pd.concat([records.assign(record_id=records["record_id"] + f"-{i}") for i in range(args.scale)],
                    ignore_index=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cost_records.csv"
        write_csv(big, path)
        size = path.stat().st_size
        plain = timed(lambda: pd.read_csv(path), args.repeat)
        checked = timed(lambda: perfkit.read_table(path, "cost_records"), args.repeat)
    print(f"cost records ×{args.scale}: {len(big):,} rows, {size / 2**20:,.1f} MiB, median of {args.repeat}")
    print(f"{'pandas.read_csv':<34}{plain:>8.2f} s")
    print(f"{'perfkit.read_table (validated)':<34}{checked:>8.2f} s   {checked / plain:.1f}× read_csv")


if __name__ == "__main__":
    main()
