"""A module of the top-k evolved motifs of a task: ``motif = "task:NAME"``, ``top = k`` (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from evo_circuits.assemble import AssemblyError, AssemblySpec, assemble
from evo_circuits.motifs import MotifLibrary, named_motif

from test_science import small_spec

RANKED = ("coincidence-detector", "direction-selectivity", "jeffress-delay-line")  # 2 inputs each


@pytest.fixture
def library(tmp_path):
    lib = MotifLibrary(tmp_path / "lib.db")
    ids = [lib.add(named_motif(name), task="order", score=score)[0] for name, score in zip(RANKED, (1.0, 0.9, 0.8))]
    return lib, ids


def test_top_k_assembles_each_ranked_motif_with_the_modules_connections(library):
    lib, ids = library
    spec = small_spec(motif="task:order", top=3)
    spec["connections"].append({"from": "pop.I", "to": "ds.E", "pattern": "all-to-all", "weight": 1.0})
    spec["readout"] = ["readout", "ds.out[0]"]
    asm = assemble(spec, library=lib)
    mods = {m["name"]: m for m in asm.modules}
    assert list(mods) == ["ds_1", "ds_2", "ds_3", "pop", "readout"]             # in the module's place, by rank
    for rank, (mid, name) in enumerate(zip(ids, RANKED), 1):
        assert mods[f"ds_{rank}"]["source"].startswith(f"library:{mid} (task:order#{rank}")
        assert mods[f"ds_{rank}"]["neurons_per_copy"] == named_motif(name).n_neurons
    # the same as writing the three modules and their connections out
    written = small_spec()
    written["modules"] = {**{f"ds_{i}": {"motif": f"task:order#{i}", "copies": 4} for i in (1, 2, 3)},
                          "pop": written["modules"]["pop"], "readout": written["modules"]["readout"]}
    conns = []
    for conn in small_spec()["connections"] + [spec["connections"][-1]]:
        if "ds" in (conn["from"].split(".")[0], conn["to"].split(".")[0]):
            conns += [{**conn, "from": conn["from"].replace("ds", f"ds_{i}"), "to": conn["to"].replace("ds", f"ds_{i}")}
                      for i in (1, 2, 3)]
        else:
            conns.append(conn)
    written["connections"] = conns
    written["readout"] = ["readout", "ds_1.out[0]", "ds_2.out[0]", "ds_3.out[0]"]
    same = assemble(written, library=lib)
    np.testing.assert_array_equal(asm.circuit.weights, same.circuit.weights)
    np.testing.assert_array_equal(asm.mask, same.mask)
    np.testing.assert_array_equal(asm.circuit.outputs, same.circuit.outputs)
    assert len(asm.circuit.outputs) == 2 + 3 * 4                                  # out[0] of every copy
    # the spec as written is what the circuit records; its dict form round-trips
    parsed = AssemblySpec.from_dict(spec)
    assert AssemblySpec.from_dict(parsed.to_dict()).modules == parsed.modules


def test_top_k_between_two_ranked_modules_connects_every_pair(library):
    lib, _ = library
    spec = small_spec(motif="task:order", top=2)
    spec["modules"]["other"] = {"motif": "task:order", "top": 2}
    spec["connections"].append({"from": "ds.out", "to": "other.in", "pattern": "all-to-all", "weight": 1.0})
    spec["connections"].append({"from": "other.out", "to": "other.E", "pattern": "recurrent", "weight": 1.0})
    parsed = AssemblySpec.from_dict(spec)
    pairs = [(c.source.module, c.target.module) for c in parsed.connections if c.target.module.startswith("other")]
    assert pairs == [("ds_1", "other_1"), ("ds_1", "other_2"), ("ds_2", "other_1"), ("ds_2", "other_2"),
                     ("other_1", "other_1"), ("other_2", "other_2")]                    # to itself: rank by rank
    assert [c.label for c in parsed.connections][-3] == "ds_2.out -> other_2.in"


@pytest.mark.parametrize("module, message", [
    ({"motif": "task:order#2", "top": 2}, r"modules\.ds\.top: only with motif = \"task:NAME\""),
    ({"motif": "winner-take-all", "top": 2}, r"modules\.ds\.top: only with motif = \"task:NAME\""),
    ({"motif": "task:order", "top": 0}, r"modules\.ds\.top"),
])
def test_top_k_refusals(module, message):
    spec = small_spec()
    spec["modules"]["ds"] = {"copies": 4, **module}
    with pytest.raises(AssemblyError, match=message):
        AssemblySpec.from_dict(spec)


def test_top_k_name_taken_and_too_few_motifs(library):
    lib, _ = library
    spec = small_spec(motif="task:order", top=2)
    spec["modules"]["ds_2"] = {"neurons": 2}
    with pytest.raises(AssemblyError, match=r"modules\.ds\.top: rank 2 becomes module 'ds_2', which the spec"):
        AssemblySpec.from_dict(spec)
    with pytest.raises(AssemblyError, match=r"'task:order#4': the library .* holds 3 motif"):
        assemble(small_spec(motif="task:order", top=4), library=lib)
    with pytest.raises(AssemblyError, match="top"):
        AssemblySpec.from_dict({**small_spec(), "modules": {"pop": {"neurons": 3, "top": 2}}})


def test_ranks_by_the_score_on_a_fitness_spec_name(tmp_path):
    # A discovery campaign stores cores under the task family and the fitness spec's name;
    # "task:SPEC#k" must rank them by their score on that spec, not by occurrences.
    from evo_circuits.assemble import top_motifs

    lib = MotifLibrary(tmp_path / "lib.db")
    low, _ = lib.add(named_motif("coincidence-detector"), task="itd", fitness="itd_bench", score=0.7)
    lib.add(named_motif("coincidence-detector"), task="itd", fitness="itd_bench", score=0.6)  # occurs twice
    high, _ = lib.add(named_motif("jeffress-delay-line"), task="itd", fitness="itd_bench", score=0.9)
    ranked = top_motifs(lib, "itd_bench")
    assert [(e.id, e.best_score) for e in ranked] == [(high, 0.9), (low, 0.7)]
    assert [e.id for e in top_motifs(lib, "itd")] == [high, low]
