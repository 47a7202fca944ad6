"""What a matched vehicle profile tells the graph builder about each capture.

A capture matched to a profile (`kd_gat.profiles.match_captures`) knows the car's CAN-ID set and
each ID's period from `matched_from` on (its first seconds: a window that ends later may use the
profile; earlier windows, and unmatched captures, cannot). These node features read it
(`FEATURE_GROUPS["profile"]` in the builder):

- `unknown_id`: the ID is neither in the matched profile's ID set nor seen `known_after` times
  earlier in the capture. Without a profile only the capture's own past counts. Fuzzing sends
  one-off IDs once or twice each: every pass is unknown, where `new_id` marks only the first.
- `profile_count_ratio`: the node's frames against the count the profile's period expects over
  the window's span; the running period (`count_ratio`) where the profile has no period for the
  ID. From a capture's first windows on, where the running period knows little, or has learnt an
  attack's rate.
- `missing_share`: the share of the profile's IDs expected at least twice in the window (period
  ≤ half its span) that the window lacks: an ID suppressed from the capture's first frame has no
  node, and no history, to show it. 0 without a profile.
- `profile_iat_ratio_mean/min/max`: each frame's gap since its ID's previous frame against the
  profile's period for the ID (log2, clipped), over the node's frames; `iat_ratio_*` (against the
  ID's running period) where the profile has no period for it.
- `profile_load_ratio`: the window's frame rate against the profile's (log2); `bus_load_ratio`
  (against the capture's running rate) without a profile.

Why references from the profile as well as the capture's running ones: a running mean over the
capture remembers an attack for the rest of it (measured on set_01's DoS-3: after the first
flood the capture's running frame rate and ID periods stay inflated, and benign windows 70 s
later still score as anomalous); the profile's references are set before the capture starts.

Per-frame lookups are one `searchsorted` per capture (a loop over captures, not frames).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ProfilePrior:
    """The matched profile of each capture of a window plan, resolved per frame.

    Per capture (capture-table order): `matched_from` (inf when unmatched), the profile's frame
    rate (frames per second; NaN when unmatched) and the sorted finite periods of its IDs. Per
    frame: whether its ID is in the capture's profile, and the profile's period for it (NaN
    when not, or unknown). `known_after`: earlier frames of an ID in its capture that make it
    known without a profile.
    """

    matched_from: np.ndarray
    rate: np.ndarray
    sorted_periods: tuple[np.ndarray, ...]
    in_profile: np.ndarray
    period: np.ndarray
    known_after: int = 3

    @classmethod
    def build(
        cls,
        capture_names: pd.Series | np.ndarray,
        first_frame: np.ndarray,
        n_frames: np.ndarray,
        can_id: np.ndarray,
        matches: pd.DataFrame | None = None,
        profiles: dict[str, Any] | None = None,
        known_after: int = 3,
    ) -> ProfilePrior:
        """Resolve `matches` (`capture`, `profile`, `matched_from`; None or no row: unmatched)
        against `profiles` (`{vehicle: profile}` with `can_ids` and `periods`) for the captures
        of a capture table (`capture_names`, `first_frame`, `n_frames`) over frames `can_id`."""
        n = len(can_id)
        in_profile = np.zeros(n, dtype=bool)
        period = np.full(n, np.nan)
        matched_from = np.full(len(first_frame), np.inf)
        rate = np.full(len(first_frame), np.nan)
        sorted_periods: list[np.ndarray] = []
        by_capture = {}
        if matches is not None and len(matches):
            rows = matches[matches["profile"].notna()]
            pairs = zip(rows["profile"], rows["matched_from"], strict=True)
            by_capture = dict(zip(rows["capture"].astype(str), pairs, strict=True))
        for c, (name, first, count) in enumerate(  # a loop over captures
            zip(np.asarray(capture_names).astype(str), first_frame, n_frames, strict=True)
        ):
            vehicle, since = by_capture.get(name, (None, np.inf))
            if vehicle is None or profiles is None or vehicle not in profiles:
                sorted_periods.append(np.zeros(0))
                continue
            ids, periods = profile_periods(profiles[vehicle])
            matched_from[c] = float(since)
            rate[c] = profile_rate(profiles[vehicle])
            sorted_periods.append(np.sort(periods[np.isfinite(periods)]))
            frames = slice(int(first), int(first + count))
            in_profile[frames], period[frames] = profile_lookup(ids, periods, can_id[frames])
        return cls(matched_from, rate, tuple(sorted_periods), in_profile, period, known_after)

    @classmethod
    def unmatched(cls, n_captures: int, n_frames: int, known_after: int = 3) -> ProfilePrior:
        """No capture matched: the features fall back on each capture's own past."""
        return cls(
            np.full(n_captures, np.inf),
            np.full(n_captures, np.nan),
            tuple(np.zeros(0) for _ in range(n_captures)),
            np.zeros(n_frames, dtype=bool),
            np.full(n_frames, np.nan),
            known_after,
        )

    def expected_ids(self, capture: np.ndarray, half_span: np.ndarray) -> np.ndarray:
        """Per window (its capture index, half its span): the profile IDs with a period ≤ half
        the span, i.e. expected at least twice in it (0 without a profile)."""
        out = np.zeros(len(capture), dtype=np.int64)
        for c in np.unique(capture):  # a loop over the captures of a chunk
            at = capture == c
            out[at] = np.searchsorted(self.sorted_periods[c], half_span[at], side="right")
        return out


def profile_periods(profile: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A profile's sorted CAN IDs and each one's period (NaN when unknown); JSON keys may be
    strings."""
    ids = np.sort(np.asarray(profile["can_ids"], dtype=np.int64))
    periods = pd.Series(profile.get("periods", {}), dtype=np.float64)
    periods.index = periods.index.astype(np.int64)
    values = periods.reindex(ids).to_numpy(dtype=np.float64)
    return ids, np.where(np.isfinite(values) & (values > 0), values, np.nan)


def profile_lookup(
    ids: np.ndarray, periods: np.ndarray, can_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: whether its ID is among a profile's sorted `ids`, and the profile's period
    for it (NaN when not, or unknown)."""
    if len(ids) == 0:
        return np.zeros(len(can_id), dtype=bool), np.full(len(can_id), np.nan)
    at = np.minimum(np.searchsorted(ids, can_id), len(ids) - 1)
    hit = ids[at] == can_id
    return hit, np.where(hit, periods[at], np.nan)


def profile_rate(profile: dict[str, Any]) -> float:
    """A profile's frames per second over its recordings (NaN when unknown)."""
    seconds = 60.0 * float(profile.get("minutes", 0.0) or 0.0)
    return float(profile.get("frames", 0)) / seconds if seconds > 0 else np.nan
