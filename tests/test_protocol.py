"""Several datasets, one table: per dataset and scenario, the mean per dataset and overall."""

from __future__ import annotations

import pandas as pd
import pytest

from kd_gat.protocol import combine, latest_metrics, write_combined


def metrics(dataset: str, rows: list[tuple[str, str, float]], point="profile") -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["model", "scenario", "f1"])
    return table.assign(dataset=dataset, operating_point=point)


def test_combined_table_has_every_cell_and_the_means():
    long = pd.concat(
        [
            metrics("set_01", [("a", "test_01", 1.0), ("a", "test_04", 0.5), ("b", "test_01", 0.2),
                               ("b", "test_04", 0.4)]),
            metrics("set_02", [("a", "test_01", 0.9), ("b", "test_01", 0.8)]),
        ]
    )  # fmt: skip
    zero_shot = metrics("set_01", [("a", "test_01", 0.0), ("a", "test_04", 0.0)], "validation")
    both = combine(pd.concat([long, zero_shot]))
    # each operating point is its own row, never mixed into the other's cells
    assert both.set_index(["model", "operating_point"]).loc[("a", "validation"), "mean"] == 0.0
    table = combine(long).set_index("model")
    assert list(table.columns) == [
        "operating_point",
        "set_01/mean",
        "set_01/test_01",
        "set_01/test_04",
        "set_02/mean",
        "set_02/test_01",
        "mean",
    ]
    assert table.loc["a", "set_01/mean"] == pytest.approx(0.75)
    assert table.loc["a", "mean"] == pytest.approx((1.0 + 0.5 + 0.9) / 3)
    assert table.index.tolist() == ["a", "b"]  # ranked by the overall mean


def test_latest_version_is_read_and_a_missing_set_is_named(tmp_path):
    for version, f1 in (("2026-01-01T00.00.00.000Z", 0.1), ("2026-01-02T00.00.00.000Z", 0.7)):
        folder = tmp_path / "data/08_reporting/set_01/metrics.csv" / version
        folder.mkdir(parents=True)
        metrics("set_01", [("a", "test_01", f1)]).drop(columns="dataset").to_csv(
            folder / "metrics.csv", index=False
        )
    assert latest_metrics(tmp_path, "set_01")["f1"].tolist() == [0.7]
    with pytest.raises(FileNotFoundError, match="no metrics for dataset 'set_09'"):
        write_combined(tmp_path, ["set_01", "set_09"], "f1")
    table = write_combined(tmp_path, ["set_01"], "f1")
    assert (tmp_path / "data/08_reporting/protocol/f1.md").read_text().startswith("# f1 per")
    assert table["mean"].tolist() == [0.7]
