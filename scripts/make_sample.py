"""Cut the small real sample shipped in data/01_raw from the shared dataset.

For each capture: a contiguous slice of `--rows` data rows starting `--lead` rows before the
first attack frame (or at the start for attack-free captures), so attack segments and the normal
traffic around them are kept. Lines are copied byte for byte, header included.

    python scripts/make_sample.py ../shared/data/can-train-and-test data/01_raw/can-train-and-test

With `--profiles VEHICLES_FOLDER`, also the first `--profile-rows` rows of one attack-free recording
of each `--vehicles` car into `data/01_raw/vehicle_profiles/<car>/` (the default run's profiles):

    python scripts/make_sample.py ../shared/data/can-train-and-test data/01_raw/can-train-and-test \
        --profiles ../shared/data/vehicle_profiles --vehicles B
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np


def cut(lines: list[bytes], rows: int, lead: int) -> list[bytes]:
    header, body = lines[0], lines[1:]
    labels = np.array([line.rstrip().rsplit(b",", 1)[-1] == b"1" for line in body])
    first = int(np.argmax(labels)) if labels.any() else 0
    start = min(max(first - lead, 0), max(len(body) - rows, 0))
    return [header, *body[start : start + rows]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--lead", type=int, default=6_000)
    parser.add_argument("--profiles", type=Path, help="vehicle_profiles folder to slice too")
    parser.add_argument("--vehicles", default="B", help="comma-separated cars to slice")
    parser.add_argument("--profile-rows", type=int, default=130_000)
    parser.add_argument("--profile-recording", default="accessory-2.csv.gz")
    args = parser.parse_args()
    if args.profiles:
        for car in args.vehicles.split(","):
            src = args.profiles / car / args.profile_recording
            with gzip.open(src, "rb") as f:
                lines = f.read().splitlines(keepends=True)[: args.profile_rows + 1]
            dst = args.target.parent / "vehicle_profiles" / car / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            with gzip.GzipFile(dst, "wb", mtime=0) as f:
                f.writelines(lines)
            print(f"{dst}: {len(lines) - 1} rows")
    for src in sorted(args.source.glob("*/*/*.csv*")):
        opener = gzip.open if src.name.endswith(".gz") else open
        with opener(src, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        sample = cut(lines, args.rows, args.lead)
        dst = args.target / src.relative_to(args.source)
        dst.parent.mkdir(parents=True, exist_ok=True)
        name = dst.name if dst.name.endswith(".gz") else dst.name + ".gz"
        with gzip.GzipFile(dst.with_name(name), "wb", mtime=0) as f:
            f.writelines(sample)
        attacks = sum(line.rstrip().endswith(b",1") for line in sample[1:])
        print(f"{dst.relative_to(args.target)}: {len(sample) - 1} rows, {attacks} attack frames")


if __name__ == "__main__":
    main()
