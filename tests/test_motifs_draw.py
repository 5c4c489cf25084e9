"""Motif drawings: synapse labels are placed clear of the neurons, and time constants are
written under the neurons when asked."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from evo_circuits.motifs.draw import _label_point, draw_motif, layout
from evo_circuits.motifs.named import named_motifs

RADIUS = 0.22  # the drawing's node radius


@pytest.mark.parametrize("name", sorted(named_motifs()))
def test_synapse_labels_are_not_under_neurons(name):
    c = named_motifs()[name]
    pos = layout(c)
    n_in = c.n_inputs
    for r, post in zip(*np.nonzero(c.weights)):
        src = f"in{r}" if r < n_in else f"n{r - n_in}"
        if src == f"n{post}":
            continue
        for rad in (0.0, 0.18, 0.35):
            mx, my = _label_point(pos[src], pos[f"n{post}"], rad, pos.values(), RADIUS)
            assert min(math.hypot(mx - x, my - y) for x, y in pos.values()) > RADIUS, (name, src, post, rad)


def test_time_constants_are_drawn_when_asked(tmp_path):
    c = named_motifs()["feedforward-inhibition"]
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, so it can be read back
        plain = draw_motif(c, tmp_path / "plain.svg").read_text()
        taus = draw_motif(c, tmp_path / "taus.svg", show_taus=True).read_text()
    tau_m = c.params[0, 0]
    assert "τm" not in plain and f"τm {tau_m:.3g}" in taus
