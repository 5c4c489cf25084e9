"""The NIR peer matrix: our default (cuba) NIR export loaded and run by snnTorch and Norse.

{every named motif, an evolved champion (``tests/data/nir_champion_xor.json``), an
assembled network (``docs/examples/assemble_digits_ffi.toml``)} × {dt 0.1, 1 ms} ×
{snnTorch 1.0.0, Norse 1.1.0}: export with :func:`evo_circuits.io.to_nir`, import with
the peer's own NIR importer (``snntorch.import_nir.import_from_nir``,
``norse.torch.from_nir(graph, dt=1e-4)``), drive it step by step with the same input
spikes as :func:`evo_circuits.simulate`, and compare spike counts per neuron. Each case
runs twice:

- **representable**: the circuit with what CubaLIF cannot hold removed (delays 0,
  ``t_ref`` 0, ``tau_i = tau_e``, ``v_reset = v_rest``, ``p_release`` 1, no depression).
  It exports without any ``allow_...`` option and without a warning, and the peers
  reproduce our spike counts (float32 aside) except for the onset of ``i_bias``
  (it builds up with ``tau_e`` in the peers; see ``docs/motifs.md``);
- **as is**: export without options is refused in one line naming each ``--allow-...``
  flag the circuit needs; with them the peers load and run it, and the residual (what
  the allowed approximations cost) is printed by ``python tests/test_nir_peers.py``
  and tabled in ``docs/motifs.md``.

Input spikes reach the peers one step later than our simulator: our input at step n
first moves ``v`` at step n + 1, a peer's input at step t moves ``mem`` at step t.
Norse 1.1's graph executor returns the output of the last module it ran, which in a
recurrent graph is the ``rec`` projection, so its spikes are read from the returned
state (``state.cache["neurons"]``). Skipped (cleanly) when a peer is not installed.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nir", reason="NIR export needs the 'nir' package (pip install 'evo-circuits[nir]')")

from evo_circuits.assemble import assemble, load_spec
from evo_circuits.circuit import Circuit
from evo_circuits.cli import main
from evo_circuits.errors import FormatError
from evo_circuits.io import NIRApproximationWarning, load, to_nir
from evo_circuits.io.nir import NIR_ALLOWANCES, PEER_STEP_S, allowance_flag
from evo_circuits.model import PARAM_INDEX
from evo_circuits.simulate import InputSpikes, simulate

ROOT = Path(__file__).resolve().parents[1]
NAMED = ROOT / "evo_circuits" / "motifs" / "named"
CHAMPION = ROOT / "tests" / "data" / "nir_champion_xor.json"
ASSEMBLY = ROOT / "docs" / "examples" / "assemble_digits_ffi.toml"
CASES = [p.stem for p in sorted(NAMED.glob("*.json"))] + ["xor-champion", "assembly-digits-ffi"]
DTS = (0.1, 1.0)
PEERS = ("snntorch", "norse")
ALLOW = {key: True for key in NIR_ALLOWANCES}
DURATION_MS, TRIALS = 100.0, 3


# ============================================================================ circuits and inputs
@functools.lru_cache(maxsize=None)
def circuit(case: str, dt: float) -> Circuit:
    """The case's circuit at time step ``dt`` (delays rounded to whole steps)."""
    if case == "assembly-digits-ffi":
        spec = load_spec(ASSEMBLY)
        spec["dt_ms"] = dt
        return assemble(spec).circuit
    c = load(CHAMPION if case == "xor-champion" else NAMED / f"{case}.json")
    if dt == c.dt_ms:
        return c
    return c.replace(dt_ms=dt, delays=np.rint(c.delays * c.dt_ms / dt).astype(np.int64))


def representable(c: Circuit) -> Circuit:
    """``c`` without what a CubaLIF graph cannot hold (module docstring)."""
    p = c.params.copy()
    p[:, PARAM_INDEX["t_ref"]] = 0.0
    p[:, PARAM_INDEX["tau_i"]] = p[:, PARAM_INDEX["tau_e"]]
    p[:, PARAM_INDEX["v_reset"]] = p[:, PARAM_INDEX["v_rest"]]
    return c.replace(delays=np.zeros_like(c.delays), params=p, p_release=np.ones_like(c.p_release),
                     std_u=np.zeros_like(c.std_u))


def inputs(c: Circuit, seed: int = 0) -> np.ndarray:
    """Poisson input spikes at 200 Hz per channel, bool ``(trials, steps, channels)``."""
    steps = int(round(DURATION_MS / c.dt_ms))
    return np.random.default_rng(seed).random((TRIALS, steps, c.n_inputs)) < 200.0 * c.dt_ms * 1e-3


def ours(c: Circuit, x: np.ndarray) -> np.ndarray:
    """Spike counts per neuron of :func:`evo_circuits.simulate` (summed over trials)."""
    trial, step, channel = np.nonzero(x)
    r = simulate(c, InputSpikes(trial=trial, channel=channel, step=step, n_trials=x.shape[0], n_steps=x.shape[1]),
                 record_spikes=True)
    return np.bincount(r.spikes["neuron"], minlength=c.n_neurons)


# ============================================================================ peers
def _peer_module(peer: str, graph):
    """The peer's own NIR import of ``graph``; skips the test when the peer is missing."""
    try:
        import torch

        torch.set_num_threads(1)  # tiny tensors: threads only cost (and the CPU is shared)
        if peer == "snntorch":
            import nirtorch  # noqa: F401  (snnTorch's importer imports it)
            from snntorch.import_nir import import_from_nir
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # Norse 1.1 uses torch.jit.script
                from norse.torch import from_nir
    except ImportError as exc:  # also a broken install, not only a missing one
        pytest.skip(f"{peer} (with torch and nirtorch) is not installed: {exc}")
    if peer == "snntorch":
        with contextlib.redirect_stdout(io.StringIO()):  # its importer prints progress
            return import_from_nir(graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Norse 1.1 calls nirtorch.load
        return from_nir(graph, dt=PEER_STEP_S)


def peer_counts(peer: str, graph, x: np.ndarray) -> np.ndarray:
    """Spike counts per neuron of ``graph`` run by ``peer`` on input spikes ``x``."""
    import torch

    net = _peer_module(peer, graph)
    trials, steps, n_in = x.shape
    drive = torch.zeros(steps, trials, n_in)
    drive[1:] = torch.as_tensor(x[:, :-1].transpose(1, 0, 2), dtype=torch.float32)  # one step later
    state, total = None, 0
    with torch.no_grad():
        for t in range(steps):
            spikes, state = net(drive[t], state)
            if peer == "norse":
                spikes = state.cache["neurons"]
            total = total + (spikes > 0).sum(0).numpy()
    return np.asarray(total, np.int64)


def _quiet_cuba(c: Circuit, **allow):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRApproximationWarning)
        return to_nir(c, **allow)


def _slow(case: str, dt: float) -> bool:
    return case == "assembly-digits-ffi" and dt == 0.1


def _matrix():
    for case in CASES:
        for dt in DTS:
            for peer in PEERS:
                marks = [pytest.mark.slow] if _slow(case, dt) else []
                yield pytest.param(case, dt, peer, id=f"{case}-dt{dt:g}-{peer}", marks=marks)


# ============================================================================ the matrix
@pytest.mark.parametrize("case, dt, peer", list(_matrix()))
def test_peer_reproduces_the_representable_circuit(case, dt, peer):
    c = representable(circuit(case, dt))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NIRApproximationWarning)  # nothing to approximate
        graph = to_nir(c)
    assert graph.metadata["approximations"] == "none"
    x = inputs(c)
    want, got = ours(c, x), peer_counts(peer, graph, x)
    assert want.sum() > 0, "the inputs must make the circuit spike"
    if not np.any(c.param("i_bias") != 0):
        # Exact propagator in the peers' Euler steps: equal up to float32 at threshold.
        assert np.abs(got - want).sum() <= max(2, 0.01 * want.sum()), (want, got)
    else:
        # i_bias builds up with tau_e in the peers (the bias of syn_scale): a tonic
        # neuron's first spikes come a few ms late, and its targets follow.
        assert np.all(np.abs(got - want) <= np.maximum(3, 0.15 * want)), (want, got)


@pytest.mark.parametrize("case, dt, peer", list(_matrix()))
def test_peer_runs_the_circuit_as_it_is(case, dt, peer):
    c = circuit(case, dt)
    needed = [key for key in NIR_ALLOWANCES if _needs(c, key)]
    if needed:
        with pytest.raises(FormatError) as err:
            to_nir(c)
        msg = str(err.value)
        assert "\n" not in msg and all(allowance_flag(key) in msg and key in msg for key in needed), msg
    graph = _quiet_cuba(c, **{key: True for key in needed})
    x = inputs(c)
    got = peer_counts(peer, graph, x)
    assert got.shape == (c.n_neurons,) and got.sum() > 0  # loads, runs and spikes


def _needs(c: Circuit, key: str) -> bool:
    """Whether exporting ``c`` needs the allowance ``key`` (checked by asking without it)."""
    others = {k: True for k in NIR_ALLOWANCES if k != key}
    try:
        _quiet_cuba(c, **others)
    except FormatError as exc:
        assert key in str(exc)
        return True
    return False


def test_peers_agree_with_each_other():
    """Both peers run the same Euler steps: identical spike counts (winner-take-all, as it is)."""
    c = circuit("winner-take-all", 0.1)
    x = inputs(c)
    graph = _quiet_cuba(c, **ALLOW)
    assert np.array_equal(peer_counts("snntorch", graph, x), peer_counts("norse", _quiet_cuba(c, **ALLOW), x))


def test_cli_export_of_every_named_motif_loads_or_exits_2(tmp_path, capsys):
    """``motifs export NAME --format nir``: one line and exit 2, or (with the flags it names) a file."""
    for case in CASES[:-2]:
        out = tmp_path / f"{case}.nir"
        code = main(["motifs", "export", case, "--format", "nir", "-o", str(out)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "--allow-" in err, (case, err)
        flags = sorted({w.strip("[],;:") for w in err.split() if w.strip("[],;:").startswith("--allow-")})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NIRApproximationWarning)
            assert main(["motifs", "export", case, "--format", "nir", "-o", str(out), *flags]) == 0, case
        assert load(out) == circuit(case, 0.1)


def test_convert_refuses_in_one_line_and_takes_the_flags(tmp_path, capsys):
    src = NAMED / "ping.json"
    assert main(["convert", str(src), str(tmp_path / "p.nir")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--allow-drop-delays" in err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRApproximationWarning)
        assert main(["convert", str(src), str(tmp_path / "p.nir"), "--allow-drop-delays", "--allow-one-tau-syn",
                     "--allow-no-refractory"]) == 0
    assert main(["convert", str(src), str(tmp_path / "e.nir"), "--nir-flavour", "exact"]) == 0
    assert main(["convert", str(src), str(tmp_path / "p.json"), "--allow-drop-delays"]) == 2
    assert load(tmp_path / "p.nir") == load(tmp_path / "e.nir") == load(src)


# ============================================================================ the table in docs/motifs.md
def residual_table() -> str:
    """The matrix as a markdown table: spike counts, ours vs each peer (run this file)."""
    rows = ["| circuit | dt (ms) | allowances needed | representable: ours / snnTorch / Norse (Σ\\|Δ\\|) "
            "| as is: ours / snnTorch / Norse (Σ\\|Δ\\|) |", "| --- | --- | --- | --- | --- |"]
    for case in CASES:
        for dt in DTS:
            cells = []
            for c, allow in ((representable(circuit(case, dt)), {}), (circuit(case, dt), ALLOW)):
                x = inputs(c)
                want = ours(c, x)
                got = [peer_counts(p, _quiet_cuba(c, **allow), x) for p in PEERS]
                cells.append(f"{want.sum()} / " + " / ".join(f"{g.sum()} ({np.abs(g - want).sum()})" for g in got))
            needed = [allowance_flag(k)[8:] for k in NIR_ALLOWANCES if _needs(circuit(case, dt), k)]
            rows.append(f"| {case} | {dt:g} | {', '.join(needed) or '—'} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(residual_table())
