"""Named canonical motifs shipped as package data."""

from __future__ import annotations

import itertools
from importlib import resources

import numpy as np
import pytest

from evo_circuits import load
from evo_circuits.motifs import canonical_label, match_named, named_motif, named_motifs, same_motif

REQUIRED = {
    "feedforward-excitation", "coincidence-detector", "jeffress-delay-line", "feedforward-inhibition",
    "feedback-inhibition", "lateral-inhibition", "mutual-inhibition", "winner-take-all",
    "vip-sst-pc-disinhibition", "disinhibitory-gating", "recurrent-excitation-attractor", "ping", "ing",
    "half-center-oscillator", "inhibition-stabilised-pair", "incoherent-feedforward-loop",
    "direction-selectivity", "divisive-normalisation", "reciprocal-ee-pair",
}


def test_all_required_motifs_load_with_metadata() -> None:
    motifs = named_motifs()
    assert REQUIRED <= set(motifs)
    folder = resources.files("evo_circuits.motifs").joinpath("named")
    for name, c in motifs.items():
        assert c.name == name
        assert 2 <= c.n_neurons <= 8 and c.n_inputs >= 1 and len(c.outputs) >= 1
        assert isinstance(c.metadata.get("description"), str) and len(c.metadata["description"]) > 20
        assert isinstance(c.metadata.get("reference"), str) and len(c.metadata["reference"]) > 10
        with resources.as_file(folder.joinpath(f"{name}.json")) as path:
            assert load(str(path)) == c


def test_named_labels_are_pairwise_distinct() -> None:
    motifs = named_motifs()
    labels = {canonical_label(c) for c in motifs.values()}
    assert len(labels) == len(motifs)
    for (a, ca), (b, cb) in itertools.combinations(motifs.items(), 2):
        assert not same_motif(ca, cb), (a, b)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_match_named_on_relabelled_copy(name: str) -> None:
    c = named_motif(name)
    rng = np.random.default_rng(len(name))
    perm = rng.permutation(c.n_neurons)
    in_perm = rng.permutation(c.n_inputs)
    rows = np.concatenate([in_perm, c.n_inputs + perm])
    inv = np.argsort(perm)
    fields = {k: getattr(c, k)[rows][:, perm] for k in ("weights", "delays", "p_release", "std_u", "std_tau_rec")}
    d = c.replace(types=c.types[perm], params=c.params[perm], outputs=inv[c.outputs][::-1], name="copy",
                  metadata={}, **fields)
    assert match_named(d) == name
    # weights do not matter for identity; one synapse less does
    assert match_named(d.replace(weights=d.weights * 2.0)) == name
    rows_, cols_ = np.nonzero(d.weights)
    w = d.weights.copy()
    w[rows_[0], cols_[0]] = 0.0
    assert match_named(d.replace(weights=w)) is None


def test_named_motif_unknown_name() -> None:
    with pytest.raises(KeyError, match="known"):
        named_motif("no-such-motif")
    a = named_motifs()["ping"]
    a.metadata["x"] = 1                     # copies: the cache is not modified
    assert "x" not in named_motif("ping").metadata
