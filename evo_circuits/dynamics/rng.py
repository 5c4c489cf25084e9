"""SplitMix64 random streams, one per (seed, individual, trial) (or per sample and draw).

Stochastic release in the simulator and rate coding of data sets draw from here, so
results depend on the seed and the identity of the individual/trial/sample only, never
on batching or the number of workers (Steele, Lea & Flood 2014, "Fast splittable
pseudorandom number generators").
"""

from __future__ import annotations

from numba import njit, uint64

GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z: uint64) -> uint64:
    """SplitMix64's output function (a bijection of 64-bit integers)."""
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(cache=True)
def stream_seed(seed: int, individual: int, trial: int) -> uint64:
    """Initial state of the stream of one (individual, trial)."""
    s = mix64(uint64(seed) + GOLDEN)
    s = mix64(s + uint64(individual) + GOLDEN)
    return mix64(s + uint64(trial) + GOLDEN)


@njit(cache=True, inline="always")
def next_unit(state: uint64) -> tuple:
    """Advance a stream: ``(new state, uniform float in [0, 1))`` with 53 random bits."""
    state += GOLDEN
    return state, (mix64(state) >> uint64(11)) * _TO_UNIT
