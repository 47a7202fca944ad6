"""Fingerprints: where an artifact comes from, as a short string `<dataset>:<hash>`.

The vocabulary's fingerprint hashes the training frames it was learnt from; the feature
statistics' fingerprint hashes the vocabulary's and the graph parameters; every normalised graph
store and every model trained on such stores carries the statistics' fingerprint. Scoring,
evaluation and inference refuse a model whose fingerprint differs from the graphs they score,
and a resumed fit refuses a checkpoint of other data or parameters.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd


def digest(*parts: Any) -> str:
    """16 hex digits of SHA-256 over the JSON of `parts` (keys sorted, so dict order is moot)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def table_digest(table: pd.DataFrame) -> str:
    """Content hash of a table (values and column names, row order included), vectorised."""
    rows = pd.util.hash_pandas_object(table, index=False).to_numpy()
    h = hashlib.sha256(np.ascontiguousarray(rows).tobytes())
    h.update(json.dumps(list(map(str, table.columns))).encode())
    return h.hexdigest()[:16]


def fingerprint(dataset: str, *parts: Any) -> str:
    return f"{dataset}:{digest(*parts)}"


def dataset_of(fp: str) -> str:
    return fp.rsplit(":", 1)[0] if fp else "?"


class FingerprintMismatch(ValueError):
    """An artifact built from other data or parameters than the ones it is used with."""


def check_same(what: str, fp: str, other_what: str, other_fp: str) -> None:
    """Raise `FingerprintMismatch` naming both artifacts when their fingerprints differ."""
    if fp != other_fp:
        raise FingerprintMismatch(
            f"{what} comes from {fp or 'unknown data'} but {other_what} from "
            f"{other_fp or 'unknown data'}: they were not built from the same frames and "
            "parameters. Re-run the stages that build them for this dataset (e.g. `kedro run "
            f"--params dataset={dataset_of(other_fp)}`), or use the matching models."
        )
