"""Parameters of the evaluation stage (`params:evaluation`)."""

from __future__ import annotations

from pydantic import Field

from kd_gat.params.base import Strict


class EvaluationParams(Strict):
    """Thresholds come from validation windows only and apply unchanged to every test scenario.

    `normal_quantile`: the threshold when validation holds no attack window. `batch_size` and
    `latency_windows`: how CPU speed is measured (batched, and one window at a time).
    Field metrics (`kd_gat.field_metrics`): attack frames less than `event_gap_s` apart are one
    attack event; flagged benign windows less than `alarm_merge_s` apart are one false alarm;
    `confidence` is the level of the one-sided upper bound on the false-alarm rate.
    Localisation (`kd_gat.localisation`): a node is implicated when its score reaches the
    `node_quantile` of the node scores on attack-free traffic (the training car's benign
    validation windows, or the matched profile's recording).
    `deployment_tolerance`: validation MCC a smaller deployable detector may give up to the best
    one and still be the one deployed (`kd_gat.deployment`).
    `min_injected_recall`: a deployable detector that detects less of an attack injected into a
    profiled car's recording, at the car's threshold, is passed over while another does not.
    """

    normal_quantile: float = Field(0.99, gt=0, lt=1)
    batch_size: int = Field(256, ge=1)
    latency_windows: int = Field(100, ge=1)
    event_gap_s: float = Field(1.0, gt=0)
    alarm_merge_s: float = Field(1.0, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    node_quantile: float = Field(0.999, gt=0, lt=1)
    deployment_tolerance: float = Field(0.01, ge=0, le=1)
    min_injected_recall: float = Field(0.5, ge=0, le=1)
