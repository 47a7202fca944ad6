"""Parameters of the graphs pipeline (`params:graphs`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FeatureGroup = Literal[
    "payload", "timing", "change", "oov", "history", "rates", "novelty", "context", "profile"
]


# The vehicle-agnostic default, chosen by the ablation in both transfer directions
# (docs/benchmarks.md): features relative to the ID's own rates, the capture's IDs and the
# matched profile; whole held-out captures for validation (set_01: accessory-2 and DoS-2;
# set_02: accessory-2).
DEFAULT_GROUPS: tuple[FeatureGroup, ...] = ("rates", "novelty", "profile")
DEFAULT_VAL_CAPTURES: tuple[str, ...] = ("*/accessory-2", "train_02_with_attacks/DoS-2")


class GraphsParams(BaseModel):
    """Window geometry, label rule, short-tail policy and validation share.

    `tail_policy`: `drop` leaves a capture's last frames out when they do not fill a window
    (they are counted in `graphs_report`); `keep` makes them one shorter window.
    Validation: the training captures matching a `val_captures` pattern (fnmatch on the capture
    name, `<folder>/<file stem>`) held out whole, and the last `val_fraction` of each of
    `val_blocks` consecutive time blocks of every other training capture (1 block = the end of
    the capture). The held-out attack-free captures also make the training car's profile.
    `feature_groups`: the node feature groups the stores keep (`kd_gat.graphs.builder.
    FEATURE_GROUPS`): `payload`, `timing`, `change`, `oov` are specific to the training car's
    IDs; `history` (timing), `rates` (payload changes), `novelty` (new IDs) and `context` (bus
    load) measure each frame against its own ID's (the bus's) past in the capture and carry over
    to another car; `profile` reads the capture's matched vehicle profile (`kd_gat.graphs.prior`).
    `max_tracked_ids`: IDs per capture with their own history (later ones share one).
    `known_after`: earlier frames of an ID in its capture that make it known where the matched
    profile does not list it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_size: int = Field(100, ge=2)
    stride: int = Field(100, ge=1)
    min_attack_frames: int = Field(1, ge=1)
    tail_policy: Literal["drop", "keep"] = "drop"
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    val_blocks: int = Field(5, ge=1)
    val_captures: tuple[str, ...] = DEFAULT_VAL_CAPTURES
    feature_groups: tuple[FeatureGroup, ...] = Field(DEFAULT_GROUPS, min_length=1)
    max_tracked_ids: int = Field(1024, ge=1)
    known_after: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _label_is_reachable(self) -> GraphsParams:
        if self.min_attack_frames > self.window_size:
            raise ValueError("min_attack_frames cannot exceed window_size")
        if len(set(self.feature_groups)) != len(self.feature_groups):
            raise ValueError(f"feature_groups lists a group twice: {list(self.feature_groups)}")
        return self
