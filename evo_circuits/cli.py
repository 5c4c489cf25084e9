"""Command-line front end: ``evo-circuits <command>``. No logic the Python API lacks.

Errors caused by user input print one line, ``evo-circuits: error: <message>``, on
stderr and exit with code 2. Any other exception is a bug: it prints one line naming it
and exits with code 1, unless ``--debug`` (or ``EVO_CIRCUITS_DEBUG=1``) asks for the
traceback. Everything printed passes :func:`~evo_circuits.text.printable`, so names
read from files cannot send terminal escape sequences.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .errors import EvoCircuitsError, Interrupted
from .io import format_from_suffix, load, save
from .io.atomic import save_npz
from .io.caps import cap, file_caps
from .motifs.commands import add_nir_export_arguments, nir_export_options
from .text import SanitisingStream, printable


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import InputSpikes, simulate

    circuit = load(args.circuit, **file_caps())
    inputs = InputSpikes.load(args.inputs)
    if inputs.per_individual and inputs.n_individuals != 1:
        raise EvoCircuitsError(f"{args.inputs}: holds inputs for {inputs.n_individuals} individuals; "
                               "simulate runs one circuit")
    if inputs.n_channels > circuit.n_inputs:
        print(f"note: inputs use channels up to {inputs.n_channels - 1}; the circuit has "
              f"{circuit.n_inputs} input channels, the others are ignored", file=sys.stderr)
    want_v = args.plot is not None and circuit.n_neurons * inputs.n_trials * inputs.n_steps <= 5e7
    res = simulate(circuit, inputs, seed=args.seed, record_spikes=True, record_v=want_v, max_spikes=cap("spikes"))
    sp = res.spikes
    save_npz(args.out, trial=sp["trial"], neuron=sp["neuron"], step=sp["step"], dt_ms=float(res.dt_ms),
             n_steps=int(res.n_steps), n_trials=int(inputs.n_trials))
    n = circuit.n_neurons
    rates = res.rates_hz()[0, :, :n]
    print(f"{circuit!r}")
    print(f"simulated {inputs.n_trials} trial(s) x {res.duration_ms:g} ms (dt {res.dt_ms} ms): "
          f"{len(sp['step'])} spikes")
    if n:
        print(f"rate per neuron: mean {rates.mean():.2f} Hz, max {rates.max():.2f} Hz")
        sat = res.saturation()[0, :, :n]
        n_sat = int((sat.mean(axis=0) >= 0.9).sum())
        if n_sat:
            print(f"runaway: {n_sat} neuron(s) fire at >= 90% of their ceiling "
                  f"({res.max_rates_hz[0, :n].min():.0f} Hz = one spike per refractory period)")
    for k, o in enumerate(circuit.outputs):
        print(f"output {k} (neuron {o}): {rates[:, o].mean():.2f} Hz")
    print(f"wrote {args.out}")
    if args.plot:
        from .plots import raster

        v_neuron = int(circuit.outputs[0]) if (want_v and len(circuit.outputs)) else None
        print(f"wrote {raster(circuit, inputs, res, args.plot, v_neuron=v_neuron)}")
    return 0


def _cmd_inputs(args: argparse.Namespace) -> int:
    from .simulate import InputSpikes

    rates = args.rate if len(args.rate) > 1 else args.rate * args.channels
    if len(rates) != args.channels:
        raise EvoCircuitsError(f"--rate: give one rate or {args.channels} (one per channel), got {len(rates)}")
    n_steps = int(round(args.duration_ms / args.dt_ms))
    if n_steps < 1:
        raise EvoCircuitsError(f"--duration-ms: must be at least one step of {args.dt_ms} ms")
    try:
        inp = InputSpikes.bernoulli(rates, args.trials, n_steps, dt_ms=args.dt_ms, seed=args.seed)
    except ValueError as exc:
        raise EvoCircuitsError(f"--rate: {exc}") from None
    inp.save(args.out)
    print(f"wrote {args.out}: {len(inp.step)} spikes, {args.channels} channel(s), {args.trials} trial(s), "
          f"{n_steps} steps")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    c = load(args.circuit, **file_caps())
    print(f"ok: {c!r}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    # The source format is told from its content, the destination's from its suffix.
    options = nir_export_options(args, format_from_suffix(args.dest))
    print(f"wrote {save(load(args.source, **file_caps()), args.dest, **options)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``evo-circuits`` command."""
    from . import __version__

    p = argparse.ArgumentParser(prog="evo-circuits", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"evo-circuits {__version__}")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an unexpected error (also EVO_CIRCUITS_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("simulate", help="run one circuit on input spikes and write its spikes (NPZ)")
    s.add_argument("circuit", help="circuit file (JSON, GraphML or NIR)")
    s.add_argument("--inputs", required=True, help="input spikes NPZ (docs/formats.md)")
    s.add_argument("--out", required=True, help="output spikes NPZ")
    s.add_argument("--seed", type=int, default=0, help="seed of stochastic release (default 0)")
    s.add_argument("--plot", help="also draw a raster (png/svg/pdf)")
    s.set_defaults(func=_cmd_simulate)

    s = sub.add_parser("inputs", help="write Bernoulli/Poisson input spikes (NPZ)")
    s.add_argument("-o", "--out", required=True)
    s.add_argument("--channels", type=int, default=1)
    s.add_argument("--rate", type=float, nargs="+", default=[50.0], help="Hz, one or one per channel")
    s.add_argument("--trials", type=int, default=1)
    s.add_argument("--duration-ms", type=float, default=200.0)
    s.add_argument("--dt-ms", type=float, default=0.1)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_cmd_inputs)

    s = sub.add_parser("validate", help="check a circuit file (JSON, GraphML or NIR)")
    s.add_argument("circuit")
    s.set_defaults(func=_cmd_validate)

    s = sub.add_parser("convert", help="convert a circuit file (JSON, GraphML, NIR -> JSON, GraphML, NIR, NPZ)")
    s.add_argument("source", help="circuit JSON, GraphML or NIR (told from the content)")
    s.add_argument("dest", help="output file; the format comes from its suffix (.json .graphml .nir .npz)")
    add_nir_export_arguments(s)
    s.set_defaults(func=_cmd_convert)

    # Each subsystem adds its own commands (keeps this file small and conflict-free).
    from .assemble.commands import register as register_assemble
    from .discover.commands import register as register_discover
    from .evolve.commands import register as register_evolve
    from .motifs.commands import register as register_motifs
    from .tasks.commands import register as register_tasks
    from .train.commands import register as register_train

    register_tasks(sub)
    register_evolve(sub)
    register_motifs(sub)
    register_discover(sub)
    register_assemble(sub)
    register_train(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evo-circuits`` console script.

    Returns
    -------
    int
        0 on success, 2 for bad input (one line on stderr), 130 when interrupted and 1
        for an unexpected error (one line; ``--debug`` shows the traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("EVO_CIRCUITS_DEBUG", "") not in ("", "0")
    stdout = sys.stdout
    sys.stdout = SanitisingStream(stdout)
    try:
        return args.func(args)
    except Interrupted as exc:
        _error(str(exc), prefix="evo-circuits: ")
        return 130
    except EvoCircuitsError as exc:
        _error(str(exc))
        return 2
    except OSError as exc:  # unwritable output, missing directory, ...
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        _error("interrupted", prefix="evo-circuits: ")
        return 130
    except Exception as exc:  # a bug: one line, the traceback on request
        if debug:
            raise
        _error(f"unexpected {type(exc).__name__}: {exc} (a bug; rerun with --debug for the traceback "
               "and report it)", prefix="evo-circuits: internal error: ")
        return 1
    finally:
        sys.stdout = stdout


def _error(message: str, prefix: str = "evo-circuits: error: ") -> None:
    """Print ``message`` as one sanitised line on stderr."""
    sys.stdout.flush()
    line = " ".join(printable(message).split("\n"))
    print(f"{prefix}{line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
