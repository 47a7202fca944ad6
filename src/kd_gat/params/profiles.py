"""Parameters of the profiles stage (`params:profiles`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kd_gat.params.base import Strict


class InjectionParams(Strict):
    """Attacks injected into the profile recordings (`kd_gat.injection`): each detector's
    detection of them on every profiled car, at the threshold the car's profile set.

    `kinds`: the attacks injected (each into its own copy of every recording).
    `start_s`, `every_s`, `duration_s`: the first attack starts `start_s` into a recording (after
    the match and the warm-up), the next every `every_s`, each lasts `duration_s`.
    `dos_gap_s`, `fuzzing_gap_s`: the gap between injected DoS and fuzzing frames.
    `top_ids`, `rate_factor`: spoof and replay target the most frequent IDs in turn, sent
    `rate_factor` times as often as the target is.
    `seed`: fuzzing's IDs and payloads, replay's choice of frames.
    """

    kinds: tuple[Literal["dos", "fuzzing", "spoof", "replay"], ...] = (
        "dos",
        "fuzzing",
        "spoof",
        "replay",
    )
    start_s: float = Field(10.0, ge=0)
    every_s: float = Field(10.0, gt=0)
    duration_s: float = Field(2.0, gt=0)
    dos_gap_s: float = Field(0.0003, gt=0)
    fuzzing_gap_s: float = Field(0.0005, gt=0)
    top_ids: int = Field(10, ge=1)
    rate_factor: float = Field(10.0, gt=0)
    seed: int = 0

    @model_validator(mode="after")
    def _fits(self) -> InjectionParams:
        if self.duration_s >= self.every_s:
            raise ValueError("injection.duration_s must be shorter than every_s (attacks overlap)")
        return self


class ProfilesParams(Strict):
    """Vehicle profiles from attack-free recordings (`calibration_root/<vehicle>/*.csv[.gz]`).

    `min_minutes`: a vehicle's recordings must last this long in all, or it gets no profile.
    `min_count`: an ID belongs to a car's (or a capture start's) ID set when seen this often.
    `match_seconds`, `min_jaccard`: a capture is matched on the IDs of its first `match_seconds`,
    to the profile with the highest Jaccard overlap if at least `min_jaccard` (0.9 separates the
    sibling cars A and B: 0.76–0.79 across, 0.96–1.0 within).
    `false_alarms_per_hour`: each detector's threshold on a profile flags at most this many of
    the recording's windows per hour of it (fewer than one in the recording: above its maximum).
    `warmup_s`: windows ending within a recording's first `warmup_s` seconds set no threshold,
    and windows ending within a capture's first `warmup_s` raise no alarm (threshold +inf, in
    evaluation, batch inference and the exported detector): the history features (each ID
    against its own past) have no past yet (measured: the VGAEs' highest scores on clean
    recordings and on clean test traffic are all there).
    `distillation_share`: the last share of each recording of a car other than the training car
    is kept for distillation (students that learn their teacher's outputs on it, no labels) and
    sets no threshold; the earlier part calibrates every detector. 0: every window calibrates.
    `injection`: the attacks injected into the calibrating part (`InjectionParams`).
    """

    min_minutes: float = Field(1.0, ge=0)
    min_count: int = Field(3, ge=1)
    match_seconds: float = Field(3.0, gt=0)
    min_jaccard: float = Field(0.9, gt=0, le=1)
    false_alarms_per_hour: float = Field(5.0, ge=0)
    warmup_s: float = Field(3.0, ge=0)
    distillation_share: float = Field(0.5, ge=0, lt=1)
    injection: InjectionParams = InjectionParams()
