"""A static HTML gallery of a motif library: ``index.html`` plus one page per motif.

The site works offline and from ``file://``: no CDN, a few lines of vanilla JavaScript
for the index filters (task, minimum score, text search), images next to the pages.
Per motif it writes ``motif-<id>.html``, the drawing ``motif-<id>.svg``, the circuit
``motif-<id>.json`` (the download link) and, unless disabled, a spike raster
``motif-<id>-raster.png`` of the motif driven by Poisson inputs — or by the trials of
its task's fitness spec (``fitness/<task>.toml``) when the entry has a task and the
spec exists. Every file is written atomically; all text from the library is escaped.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from ..io.atomic import write_text
from ..io.json import dumps
from .draw import draw_motif
from .entry import MotifEntry
from .library import MotifLibrary
from .similarity import Relation, relations

#: A task name that can name a ``<task>.toml`` file: no separators, no leading dot.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

_CSS = """\
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 72em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1.2em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .35em .5em; text-align: left; vertical-align: middle; }
th { background: #f6f6f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
img.thumb { height: 64px; max-width: 160px; object-fit: contain; }
img.drawing { max-width: 100%; border: 1px solid #eee; }
img.raster { max-width: 100%; }
.filters { display: flex; gap: 1em; flex-wrap: wrap; align-items: center; padding: .6em; background: #fafafa;
           border: 1px solid #eee; border-radius: 6px; }
.filters label { display: flex; gap: .4em; align-items: center; }
.e { color: #c0392b; font-weight: 600; } .i { color: #2e6fbf; font-weight: 600; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; }
a { color: #1a5fb4; }
.muted { color: #888; }
"""

_JS = """\
// Filters of the motif table: task, minimum score and free-text search.
(function () {
  "use strict";
  function setup() {
    var table = document.getElementById("motifs");
    if (!table) { document.body.setAttribute("data-js", "ready"); return; }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var task = document.getElementById("f-task");
    var minScore = document.getElementById("f-min");
    var search = document.getElementById("f-text");
    var count = document.getElementById("count");
    function apply() {
      var t = task.value, q = search.value.trim().toLowerCase();
      var m = minScore.value === "" ? null : parseFloat(minScore.value);
      var shown = 0;
      rows.forEach(function (row) {
        var scores = JSON.parse(row.getAttribute("data-scores"));
        var ok = true;
        if (t !== "") { ok = Object.prototype.hasOwnProperty.call(scores, t); }
        if (ok && m !== null && !isNaN(m)) {
          var s = t !== "" ? scores[t] : row.getAttribute("data-best");
          s = (s === null || s === "" || s === undefined) ? null : parseFloat(s);
          ok = s !== null && s >= m;
        }
        if (ok && q !== "") { ok = row.textContent.toLowerCase().indexOf(q) >= 0; }
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown + " of " + rows.length + " motifs shown";
    }
    [task, minScore, search].forEach(function (el) {
      el.addEventListener("input", apply);
      el.addEventListener("change", apply);
    });
    apply();
    document.body.setAttribute("data-js", "ready");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); }
  else { setup(); }
  // Mark images that rendered (checked by the headless-browser test).
  window.addEventListener("load", function () {
    Array.prototype.forEach.call(document.images, function (img) {
      img.setAttribute("data-loaded", img.complete && img.naturalWidth > 0 ? "1" : "0");
    });
  });
})();
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fmt_score(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def _page(title: str, body: str, script: bool = False) -> str:
    js = '\n<script src="gallery.js"></script>' if script else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<link rel=\"stylesheet\" href=\"style.css\">\n"
            f"<link rel=\"icon\" href=\"data:,\">\n</head>\n<body>\n{body}{js}\n</body>\n</html>\n")


def _size(r: MotifEntry) -> str:
    return f'<span class="e">{r.n_exc}E</span>+<span class="i">{r.n_inh}I</span>'


def write_gallery(library: MotifLibrary | str | os.PathLike, out_dir: str | os.PathLike, *,
                  rasters: bool = True, fitness_dir: str | os.PathLike = "fitness", seed: int = 0,
                  trials: int = 3, duration_ms: float = 300.0, rate_hz: float = 80.0,
                  trust_plugins: bool = False) -> Path:
    """Write the gallery of ``library`` into ``out_dir``.

    Parameters
    ----------
    library : MotifLibrary or path
    out_dir : str or PathLike
        Created if missing; files of earlier galleries are overwritten.
    rasters : bool
        Simulate each motif and draw its spike raster (the slow part).
    fitness_dir : str or PathLike
        Where ``<task>.toml`` fitness specs are looked up for the rasters.
    seed, trials, duration_ms, rate_hz
        Raster trials: Poisson inputs at ``rate_hz`` per channel when no task spec is used.
    trust_plugins : bool
        Let a ``<task>.toml`` spec load its task plugin. The task names come from the
        library, so by default such specs are skipped (Poisson inputs instead); a task
        name that is not a plain file name is never looked up.

    Returns
    -------
    Path
        The ``index.html`` written.
    """
    own = not isinstance(library, MotifLibrary)
    lib = MotifLibrary(library) if own else library
    try:
        return _write(lib, Path(out_dir), rasters, Path(fitness_dir), seed, trials, duration_ms, rate_hz,
                      trust_plugins)
    finally:
        if own:
            lib.close()


def _write(lib: MotifLibrary, out: Path, rasters: bool, fitness_dir: Path, seed: int, trials: int,
           duration_ms: float, rate_hz: float, trust_plugins: bool = False) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "style.css", _CSS)
    write_text(out / "gallery.js", _JS)
    rows = lib.list(sort="id")
    all_tasks = sorted({t for r in rows for t in r.tasks})
    nearest = {}
    for r in rows:
        entry = lib.entry(r.id)
        related = relations(entry.circuit)
        nearest[r.id] = related[0].describe() if related else ""
        _motif_page(out, entry, related, rasters, fitness_dir, seed, trials, duration_ms, rate_hz, trust_plugins)

    body_rows = []
    for r in rows:
        mid = r.id
        tasks = ", ".join(f"{_e(t)} ({_fmt_score(s)})" if s is not None else _e(t) for t, s in r.tasks.items())
        scores = json.dumps(r.tasks, allow_nan=False)
        best = "" if r.best_score is None else repr(float(r.best_score))
        body_rows.append(
            f'<tr id="motif-{mid}" data-id="{mid}" data-scores="{_e(scores)}" data-best="{_e(best)}">'
            f'<td class="num"><a href="motif-{mid}.html">{mid}</a></td>'
            f'<td><a href="motif-{mid}.html"><img class="thumb" src="motif-{mid}.svg" alt="drawing of motif {mid}"></a></td>'
            f'<td>{_e(r.name or "")}</td><td>{_e(nearest[mid])}</td><td>{_size(r)}</td>'
            f'<td class="num">{r.n_inputs}/{r.n_outputs}</td><td class="num">{r.n_synapses}</td>'
            f'<td>{tasks}</td><td class="num">{_fmt_score(r.best_score)}</td>'
            f'<td class="num">{r.occurrences}</td><td class="muted">{_e(r.label[:18])}</td></tr>')
    options = "".join(f'<option value="{_e(t)}">{_e(t)}</option>' for t in all_tasks)
    body = (
        f"<h1>Motif library</h1>\n<p class=\"sub\">{len(rows)} motifs from <code>{_e(lib.path)}</code>. "
        "E neurons red, I neurons blue; click a motif for its drawing, raster, provenance and JSON.</p>\n"
        '<div class="filters">'
        f'<label>Task <select id="f-task"><option value="">any</option>{options}</select></label>'
        '<label>Min score <input id="f-min" type="number" step="0.01" min="0" max="1" placeholder="none"></label>'
        '<label>Search <input id="f-text" type="search" placeholder="name, task, size..."></label>'
        f'<span id="count">{len(rows)} of {len(rows)} motifs shown</span></div>\n'
        '<table id="motifs"><thead><tr><th class="num">id</th><th>drawing</th><th>name</th><th>named motifs</th><th>size</th>'
        '<th class="num">in/out</th><th class="num">synapses</th><th>tasks (best score)</th>'
        '<th class="num">best</th><th class="num">occurrences</th><th>label</th></tr></thead>\n<tbody>\n'
        + "\n".join(body_rows) + "\n</tbody></table>\n")
    index = out / "index.html"
    write_text(index, _page("Motif library", body, script=True))
    return index


def _motif_page(out: Path, entry: MotifEntry, related: list[Relation], rasters: bool, fitness_dir: Path, seed: int,
                trials: int, duration_ms: float, rate_hz: float, trust_plugins: bool = False) -> None:
    mid, circuit = entry.id, entry.circuit
    stem = f"motif-{mid}"
    title = f"Motif {mid}" + (f" — {entry.name}" if entry.name else "")
    draw_motif(circuit, out / f"{stem}.svg", title=entry.name or circuit.name or f"motif {mid}")
    write_text(out / f"{stem}.json", dumps(circuit))
    raster_html = ""
    if rasters:
        try:
            note = _raster(circuit, entry, out / f"{stem}-raster.png", fitness_dir, seed, trials, duration_ms, rate_hz,
                           trust_plugins)
            raster_html = (f'<h2>Behaviour</h2><p class="sub">{_e(note)}</p>'
                           f'<img class="raster" src="{stem}-raster.png" alt="spike raster of motif {mid}">')
        except EvoCircuitsError as exc:
            raster_html = f'<h2>Behaviour</h2><p class="muted">no raster: {_e(exc)}</p>'

    details = [
        ("id", mid), ("name", entry.name or "—"), ("circuit name", entry.circuit_name or "—"),
        ("canonical label", entry.label), ("neurons", f"{entry.n_exc} E + {entry.n_inh} I"),
        ("input channels", entry.n_inputs), ("output ports", entry.n_outputs),
        ("synapses", entry.n_synapses), ("occurrences", entry.occurrences),
        ("distinct runs", entry.runs), ("distinct run seeds", entry.seeds),
        ("dt", f"{circuit.dt_ms:g} ms"), ("synapse model", circuit.synapse_model), ("added", entry.created),
    ]
    det = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in details)
    tasks = "".join(f"<tr><td>{_e(t)}</td><td class=\"num\">{_fmt_score(s)}</td></tr>"
                    for t, s in entry.tasks.items()) or '<tr><td colspan="2" class="muted">none</td></tr>'
    prov_cols = ("source", "run_id", "generation", "seed", "config_hash", "package_version", "file", "created")
    prov = "".join("<tr>" + "".join(f"<td>{_e(p.get(k))}</td>" for k in prov_cols) + "</tr>"
                   for p in entry.provenance) or f'<tr><td colspan="{len(prov_cols)}" class="muted">none</td></tr>'
    similar = "".join(f"<li>{_e(r.describe())}</li>" for r in related) or '<li class="muted">none nearby</li>'
    census = f"<h2>Census</h2><pre>{_e(json.dumps(entry.census, indent=2))}</pre>" if entry.census else ""
    body = (
        f'<p><a href="index.html">← all motifs</a></p>\n<h1>{_e(title)}</h1>\n'
        f'<p class="sub">{entry.n_exc}E + {entry.n_inh}I, {entry.n_synapses} synapses, '
        f'seen {entry.occurrences} time(s). <a href="{stem}.json" download>Download circuit JSON</a></p>\n'
        f'<img class="drawing" id="drawing" src="{stem}.svg" alt="drawing of motif {mid}">\n'
        f"{raster_html}\n<h2>Named motifs</h2><ul id=\"similar\">{similar}</ul>\n"
        f"<h2>Details</h2><table>{det}</table>\n"
        f'<h2>Tasks</h2><table><thead><tr><th>task</th><th class="num">best score</th></tr></thead>'
        f"<tbody>{tasks}</tbody></table>\n"
        "<h2>Provenance</h2><table><thead><tr>" + "".join(f"<th>{_e(k)}</th>" for k in prov_cols)
        + f"</tr></thead><tbody>{prov}</tbody></table>\n{census}\n")
    write_text(out / f"{stem}.html", _page(title, body, script=True))


def _raster(circuit: Circuit, entry: MotifEntry, path: Path, fitness_dir: Path, seed: int, trials: int,
            duration_ms: float, rate_hz: float, trust_plugins: bool = False) -> str:
    """Simulate the motif and draw its raster; return a sentence saying how."""
    from ..plots import raster
    from ..simulate import InputSpikes, simulate

    batch_labels = None
    note = ""
    for task in entry.tasks:
        if not _PLAIN_NAME.match(task):  # a task name from the library is never a path
            continue
        spec_path = fitness_dir / f"{task}.toml"
        if not spec_path.is_file():
            continue
        from ..tasks import load_fitness
        from ..tasks.registry import UntrustedPlugin

        try:
            spec = load_fitness(spec_path, trust_plugins=trust_plugins)
        except UntrustedPlugin:
            continue
        batch = spec.task.make_batch(trials, np.random.default_rng(seed), circuit.dt_ms)
        inputs, batch_labels = batch.inputs, batch.labels
        note = f"{inputs.n_trials} trials of task {task} ({spec_path}), seed {seed}."
        break
    else:
        n_steps = max(1, int(round(duration_ms / circuit.dt_ms)))
        rates = [rate_hz] * max(circuit.n_inputs, 1)
        inputs = InputSpikes.bernoulli(rates, trials, n_steps, dt_ms=circuit.dt_ms, seed=seed)
        note = (f"{trials} trials of {duration_ms:g} ms, Poisson inputs at {rate_hz:g} Hz per channel, seed {seed}."
                if circuit.n_inputs else f"{trials} trials of {duration_ms:g} ms without inputs.")
    res = simulate(circuit, inputs, seed=seed, record_spikes=True)
    titles = None
    if batch_labels is not None:
        titles = [f"trial {t}: label {np.asarray(batch_labels[t]).tolist()}" for t in range(min(trials, inputs.n_trials))]
    raster(circuit, inputs, res, path, trials=trials, trial_titles=titles,
           title=f"{entry.name or circuit.name or 'motif ' + str(entry.id)}: E red, I blue, inputs grey")
    return note
