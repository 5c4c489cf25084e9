"""Circuit JSON: the versioned, pickle-free file format of circuits and motifs.

The layout is specified in ``docs/formats.md``. The reader is strict and is the only
circuit-JSON reader of the package (files, library entries, checkpoints, the JSON
embedded in NIR files): an unknown ``format``/``version``, an unknown key, a value of
the wrong type, a non-finite number, text that is not UTF-8 or JSON nested too deeply
is rejected with a one-line :class:`~evo_circuits.errors.FormatError` whose message names
the field (for example ``synapses[3].delay_ms``); sizes are checked against the caps
(:mod:`.caps`) before any array is allocated.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from ..circuit import MAX_DELAY_STEPS, Circuit, Synapses, type_codes
from ..errors import CircuitError, FormatError
from ..model import DEFAULT_DT_MS, DT_RANGE_MS, NEURON_PARAMS, SYNAPSE_MODELS, TYPE_DEFAULTS, TYPE_NAMES
from .atomic import write_text
from .caps import check_size, read_bytes

FORMAT = "evo-circuits/circuit"
VERSION = 1

_TOP_KEYS = {"format", "version", "name", "dt_ms", "synapse_model", "n_inputs", "neurons",
             "outputs", "input_synapses", "synapses", "metadata"}
_SYN_KEYS = {"post", "weight", "delay_ms", "p_release", "std"}


# ---------------------------------------------------------------------------- writing
def to_dict(c: Circuit) -> dict:
    """Serialise a circuit to a JSON-ready dict.

    Neuron parameters equal to their type's default are omitted, so files stay short
    and defaults can be read at a glance.
    """
    neurons = []
    for i, t in enumerate(c.types):
        tname = TYPE_NAMES[int(t)]
        entry: dict[str, Any] = {"type": tname}
        default = TYPE_DEFAULTS[tname].as_tuple()
        for k, name in enumerate(NEURON_PARAMS):
            if c.params[i, k] != default[k]:
                entry[name] = float(c.params[i, k])
        neurons.append(entry)
    input_syn, syn = [], []
    t = c.synapses
    for pre, post, w, d, p, u, tau in zip(t.pre.tolist(), t.post.tolist(), t.weight.tolist(), t.delay.tolist(),
                                          t.p_release.tolist(), t.std_u.tolist(), t.std_tau_rec.tolist()):
        entry = {"post": post, "weight": w, "delay_ms": _steps_to_ms(d, c.dt_ms)}
        if p != 1.0:
            entry["p_release"] = p
        if u > 0:
            entry["std"] = {"U": u, "tau_rec": tau}
        if pre < c.n_inputs:
            input_syn.append({"channel": pre, **entry})
        else:
            syn.append({"pre": pre - c.n_inputs, **entry})
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": c.name,
        "dt_ms": c.dt_ms,
        "synapse_model": c.synapse_model,
        "n_inputs": c.n_inputs,
        "neurons": neurons,
        "outputs": [int(o) for o in c.outputs],
        "input_synapses": input_syn,
        "synapses": syn,
        "metadata": c.metadata,
    }


def dumps(c: Circuit) -> str:
    """Circuit JSON text: top-level keys indented, one neuron or synapse per line."""
    d = to_dict(c)
    lines = []
    for key, value in d.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n".join(f"    {json.dumps(v, allow_nan=False)}" for v in value)
            text = f"[\n{items}\n  ]"
        else:
            text = json.dumps(value, allow_nan=False)
        lines.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save(c: Circuit, path: str | os.PathLike) -> None:
    """Write circuit JSON to ``path`` atomically (temp file + ``os.replace``)."""
    write_text(path, dumps(c))


def _steps_to_ms(steps: int, dt: float) -> float:
    # 3 * 0.1 is 0.30000000000000004; write the short decimal that reads back exactly.
    return float(f"{steps * dt:.10g}")


# ---------------------------------------------------------------------------- reading
def load(path: str | os.PathLike, *, max_neurons: int | None = None, max_inputs: int | None = None,
         max_synapses: int | None = None, max_bytes: int | None = None) -> Circuit:
    """Read circuit JSON from ``path``; the caps as in :func:`evo_circuits.io.load`.

    Raises
    ------
    FormatError
        One line starting with the path: missing file, not UTF-8, not JSON, too large,
        or not following the format (the message names the field).
    """
    raw = read_bytes(path, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text (expected circuit JSON)") from None
    return loads(text, where=str(path), max_neurons=max_neurons, max_inputs=max_inputs, max_synapses=max_synapses)


def loads(text: str, *, where: str | None = None, max_neurons: int | None = None,
          max_inputs: int | None = None, max_synapses: int | None = None, max_bytes: int | None = None) -> Circuit:
    """Parse circuit JSON text (see :func:`load`).

    Parameters
    ----------
    text : str
    where : str, optional
        What the text is (a path, ``"library entry 3"``); prefixes every error message.
    max_neurons, max_inputs, max_synapses, max_bytes : int, optional
        Size caps (``max_bytes`` counts characters of ``text``).
    """
    prefix = f"{where}: " if where else ""
    if max_bytes is not None and len(text) > max_bytes:
        raise FormatError(f"{prefix}{len(text):,} characters is larger than the import cap of {max_bytes:,}")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise FormatError(f"{prefix}JSON nested too deeply") from None
    except FormatError as exc:
        raise FormatError(f"{prefix}{exc}") from None
    except ValueError as exc:  # not JSON, or an integer with more digits than Python converts
        raise FormatError(f"{prefix}not valid JSON ({str(exc).splitlines()[0]})") from None
    try:
        return from_dict(data, max_neurons=max_neurons, max_inputs=max_inputs, max_synapses=max_synapses)
    except FormatError as exc:
        raise FormatError(f"{prefix}{exc}") from None


def _reject_constant(name: str) -> None:
    raise FormatError(f"{name} is not allowed in circuit JSON (numbers must be finite)")


def from_dict(data: Any, *, max_neurons: int | None = None, max_inputs: int | None = None,
              max_synapses: int | None = None) -> Circuit:
    """Validate a circuit-JSON dict and build the :class:`Circuit` it describes.

    Parameters
    ----------
    data : dict
        Decoded circuit JSON.
    max_neurons, max_inputs, max_synapses : int, optional
        Size caps, checked before anything is allocated.

    Raises
    ------
    FormatError
        Naming the first bad field.
    """
    if not isinstance(data, dict):
        raise FormatError(f"circuit JSON: expected an object at top level, got {type(data).__name__}")
    neurons, n_in = data.get("neurons"), data.get("n_inputs", 0)
    n_syn = sum(len(v) for v in (data.get("input_synapses"), data.get("synapses")) if isinstance(v, list))
    check_size(len(neurons) if isinstance(neurons, list) else 0,
               n_in if isinstance(n_in, int) and not isinstance(n_in, bool) else 0, "",
               max_neurons=max_neurons, max_inputs=max_inputs, n_synapses=n_syn, max_synapses=max_synapses)
    if data.get("format") != FORMAT:
        raise FormatError(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
    if data.get("version") != VERSION or isinstance(data.get("version"), bool):
        raise FormatError(f"version: unsupported version {data.get('version')!r} (this reader knows {VERSION})")
    _no_unknown(data, _TOP_KEYS, "")
    name = _get(data, "name", str, "", "name")
    dt = _number(data.get("dt_ms", DEFAULT_DT_MS), "dt_ms")
    if not DT_RANGE_MS[0] <= dt <= DT_RANGE_MS[1]:
        raise FormatError(f"dt_ms: expected a time step in [{DT_RANGE_MS[0]:g}, {DT_RANGE_MS[1]:g}] ms, got {dt:g}")
    model = _get(data, "synapse_model", str, "current", "synapse_model")
    if model not in SYNAPSE_MODELS:
        raise FormatError(f"synapse_model: expected one of {', '.join(SYNAPSE_MODELS)}, got {model!r}")
    n_in = _integer(data.get("n_inputs", 0), "n_inputs")
    if n_in < 0:
        raise FormatError(f"n_inputs: expected an integer >= 0, got {n_in}")
    neurons = _get(data, "neurons", list, None, "neurons")
    if neurons is None:
        raise FormatError("neurons: missing (a list of {\"type\": \"E\"|\"I\", ...})")
    n = len(neurons)
    names = []
    for i, nd in enumerate(neurons):
        if not isinstance(nd, dict):
            raise FormatError(f"neurons[{i}]: expected an object, got {type(nd).__name__}")
        if "type" not in nd:
            raise FormatError(f"neurons[{i}].type: missing (expected 'E' or 'I')")
        if not isinstance(nd["type"], str):
            raise FormatError(f"neurons[{i}].type: expected 'E' or 'I', got {nd['type']!r}")
        names.append(nd["type"])
    try:
        types = type_codes(names)
    except CircuitError as exc:
        raise FormatError(str(exc)) from None
    params = np.zeros((n, len(NEURON_PARAMS)))
    for i, nd in enumerate(neurons):
        _no_unknown(nd, {"type", *NEURON_PARAMS}, f"neurons[{i}]")
        default = TYPE_DEFAULTS[nd["type"]]
        for k, pname in enumerate(NEURON_PARAMS):
            params[i, k] = _number(nd.get(pname, getattr(default, pname)), f"neurons[{i}].{pname}")
    outputs = _get(data, "outputs", list, [], "outputs")
    outputs = [_integer(o, f"outputs[{j}]") for j, o in enumerate(outputs)]

    # one list per field of the synapse table: memory grows with synapses, not neurons^2
    cols: tuple[list, ...] = ([], [], [], [], [], [], [])
    seen: set[int] = set()
    for key, pre_key, n_pre, offset in (("input_synapses", "channel", n_in, 0), ("synapses", "pre", n, n_in)):
        for j, s in enumerate(_get(data, key, list, [], key)):
            where = f"{key}[{j}]"
            if not isinstance(s, dict):
                raise FormatError(f"{where}: expected an object, got {type(s).__name__}")
            _no_unknown(s, _SYN_KEYS | {pre_key}, where)
            for req in (pre_key, "post", "weight"):
                if req not in s:
                    raise FormatError(f"{where}.{req}: missing")
            pre = _integer(s[pre_key], f"{where}.{pre_key}")
            post = _integer(s["post"], f"{where}.post")
            if not 0 <= pre < n_pre:
                raise FormatError(f"{where}.{pre_key}: index {pre} out of range [0, {n_pre})")
            if not 0 <= post < n:
                raise FormatError(f"{where}.post: neuron index {post} out of range [0, {n})")
            row = offset + pre
            if row * n + post in seen:
                raise FormatError(f"{where}: duplicate synapse {pre_key} {pre} -> post {post}")
            w = _number(s["weight"], f"{where}.weight")
            if not w > 0:
                raise FormatError(f"{where}.weight: expected a magnitude > 0 (the sign comes from the "
                                  f"presynaptic type; omit absent synapses), got {w}")
            seen.add(row * n + post)
            delay = delay_steps(_number(s.get("delay_ms", 0.0), f"{where}.delay_ms"), dt, f"{where}.delay_ms")
            p_rel = _number(s.get("p_release", 1.0), f"{where}.p_release")
            u = tau = 0.0
            if "std" in s:
                std = s["std"]
                if not isinstance(std, dict):
                    raise FormatError(f"{where}.std: expected an object {{\"U\": .., \"tau_rec\": ..}}")
                _no_unknown(std, {"U", "tau_rec"}, f"{where}.std")
                for req in ("U", "tau_rec"):
                    if req not in std:
                        raise FormatError(f"{where}.std.{req}: missing")
                u = _number(std["U"], f"{where}.std.U")
                if not 0 < u <= 1:
                    raise FormatError(f"{where}.std.U: expected a number in (0, 1], got {u}")
                tau = _number(std["tau_rec"], f"{where}.std.tau_rec")
            for col, value in zip(cols, (row, post, w, delay, p_rel, u, tau)):
                col.append(value)
    del seen
    synapses = Synapses(*(np.array(col, dtype=dtype) for col, dtype in zip(cols, _COLUMN_DTYPES)))
    metadata = _get(data, "metadata", dict, {}, "metadata")
    try:
        return Circuit(types=types, n_inputs=n_in, synapses=synapses, params=params, outputs=outputs,
                       dt_ms=dt, synapse_model=model, name=name, metadata=metadata)
    except CircuitError as exc:
        raise FormatError(_json_field_name(str(exc), n_in)) from None


#: dtypes of the columns of :class:`Synapses` while reading (rows can exceed int32 only if
#: the circuit would anyway; the Circuit narrows them after its checks).
_COLUMN_DTYPES = (np.int64, np.int64, np.float64, np.int64, np.float64, np.float64, np.float64)


def delay_steps(delay_ms: float, dt_ms: float, where: str) -> int:
    """A delay in ms as whole steps of ``dt_ms``, refused (naming ``where``) if negative,
    off the step grid or longer than :data:`~evo_circuits.circuit.MAX_DELAY_STEPS`.

    Checked in floating point before any integer is made, so ``1e300`` or
    ``429496729.6`` ms is refused instead of overflowing or wrapping to 0 steps.
    """
    ratio = delay_ms / dt_ms
    if not (math.isfinite(ratio) and 0 <= ratio <= MAX_DELAY_STEPS + 0.5):
        raise FormatError(f"{where}: delays must be in [0, {MAX_DELAY_STEPS}] steps of dt_ms={dt_ms:g} "
                          f"([0, {MAX_DELAY_STEPS * dt_ms:g}] ms), got {delay_ms:g} ms")
    steps = round(ratio)
    if abs(ratio - steps) > 1e-6 or steps > MAX_DELAY_STEPS:
        raise FormatError(f"{where}: must be a whole number of steps of dt_ms={dt_ms:g} "
                          f"and at most {MAX_DELAY_STEPS} steps, got {delay_ms:g}")
    return steps


def _json_field_name(message: str, n_in: int) -> str:
    """Translate an array-field error (``p_release[3, 1]``) into JSON terms."""
    head, _, rest = message.partition(": ")
    if "[" in head and "," in head and not head.startswith("neurons"):
        field, idx = head.split("[", 1)
        row, col = (int(x) for x in idx.rstrip("]").split(","))
        pre = f"channel {row}" if row < n_in else f"pre {row - n_in}"
        return f"synapse {pre} -> post {col}: {field}: {rest}"
    return message


def _no_unknown(obj: dict, allowed: set, where: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        prefix = f"{where}." if where else ""
        raise FormatError(f"{prefix}{extra[0]}: unknown field (allowed: {', '.join(sorted(allowed))})")


def _get(data: dict, key: str, kind: type, default: Any, where: str) -> Any:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, kind):
        raise FormatError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"{where}: expected a number, got {_short(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise FormatError(f"{where}: expected a finite number, got {_short(value)}")
    return number


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"{where}: expected an integer, got {_short(value)}")
    return int(value)
