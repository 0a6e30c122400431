"""Common random numbers: every uniform the simulator uses is a fixed function of
(world seed, stream, week, index), where the index names a shopper, a (shopper, category)
pair or a (shopper, visit) slot.

So a world with personal offers and the same world without them see exactly the same
luck, whatever subset of shoppers is simulated and in whatever order — offers change
prices, never the draws. A counter-based hash does this; a sequential generator could
not give the draws of 30,000 chosen shoppers without drawing everyone's.
"""

from __future__ import annotations

import numpy as np

# Streams: one per kind of decision, so adding a decision never shifts another's luck.
VISITS = 1
CONSUMPTION = 2
NEED = 3
WHERE = 4
QUANTITY = 5
BRAND = 6
SKU = 7
VISIT_CHOICE = 8
VARIETY = 9
SECOND_BRAND = 10
SECOND_SKU = 11
PANTRY = 12
VISIT_DAY = 13
VISIT_HOUR = 14
VISIT_MINUTE = 15
VISIT_STORE = 16
VISIT_CARD = 17

_GOLDEN = np.uint32(0x9E3779B9)
WEEK_OFFSET = 1 << 16  # so that the weeks played before the history have keys too
_TO_UNIT = np.float32(2.0 ** -24)


def uniform(seed: int, stream: int, week: int, index: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1) as float32, one per index (non-negative integers below 2**32);
    `week` may be negative, down to -WEEK_OFFSET."""
    first, second = np.random.SeedSequence([seed, stream, week + WEEK_OFFSET]).generate_state(2)
    x = index.astype(np.uint32) * _GOLDEN
    x += first
    _mix(x)
    x ^= second
    _mix(x)
    x >>= np.uint32(8)
    result = x.astype(np.float32)
    result *= _TO_UNIT
    return result


def poisson(rate: np.ndarray, uniform_draw: np.ndarray, most: int) -> np.ndarray:
    """Poisson counts (capped at `most`) by inverting the distribution at the given
    uniforms, so a count moves only when its uniform does."""
    probability = np.exp(-rate)
    cumulative = probability.copy()
    count = np.zeros(len(rate), dtype=np.int64)
    for k in range(1, most + 1):
        count += uniform_draw >= cumulative
        probability = probability * rate / k
        cumulative = cumulative + probability
    return count


def _mix(x: np.ndarray) -> None:
    """Chris Wellons' "lowbias32" integer hash, in place."""
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x21F0AAAD)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0xD35A2D97)
    x ^= x >> np.uint32(15)
