"""The HTML page of a discovery campaign (:mod:`.campaign`), from its ``report.json`` data.

One static page, no script, no external resource: a summary table (per task: seeds
solved, distinct cores, the most frequent core and its nearest named motif), then per
task the recurring cores with their drawings, relations to named motifs and the census
classes. All text from the data is escaped.
"""

from __future__ import annotations

import html

_CSS = """\
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 72em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1.2em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cores { display: flex; flex-wrap: wrap; gap: 1em; }
.core { border: 1px solid #e3e3e3; border-radius: 6px; padding: .6em; width: 21em; }
.core img { width: 100%; border: 1px solid #f0f0f0; }
.muted { color: #888; }
.core .muted { word-break: break-all; }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _nearest(core: dict) -> str:
    n = core.get("nearest")
    return _e(n["text"]) if n else '<span class="muted">unlike any named motif</span>'


def report_html(data: dict) -> str:
    """The report page (a complete HTML document) of a campaign's JSON data."""
    seeds = data["seeds"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>evo-circuits discovery report</title>", '<link rel="icon" href="data:,">',
           f"<style>{_CSS}</style></head><body>",
           "<h1>Discovery report</h1>",
           f'<p class="sub">{len(data["tasks"])} task(s) &times; {len(seeds)} seed(s) '
           f'({_e(", ".join(map(str, seeds)))}); cores stored in {_e(data["library"])}</p>',
           "<table><thead><tr><th>task</th><th class=num>solved</th><th class=num>distinct cores</th>"
           "<th>most frequent core</th><th class=num>seeds</th><th>relation to named motifs</th></tr></thead><tbody>"]
    for t in data["tasks"]:
        top = t["cores"][0] if t["cores"] else None
        out.append(f'<tr><td><a href="#task-{_e(t["task"])}">{_e(t["task"])}</a></td>'
                   f'<td class=num>{t["solved"]}/{len(t["seeds"])}</td><td class=num>{len(t["cores"])}</td>'
                   + (f'<td>motif {top["motif_id"]} ({_e(top["size"])}, {top["n_synapses"]} syn.)</td>'
                      f'<td class=num>{top["count"]}</td><td>{_nearest(top)}</td>' if top
                      else '<td class="muted">none</td><td></td><td></td>') + "</tr>")
    out.append("</tbody></table>")
    for t in data["tasks"]:
        out.append(_task_section(t))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _task_section(t: dict) -> str:
    parts = [f'<h2 id="task-{_e(t["task"])}">{_e(t["task"])}</h2>',
             f'<p class="sub">fitness spec {_e(t["fitness"])}; {t["solved"]} of {len(t["seeds"])} seed(s) gave a '
             f'core scoring &ge; the library threshold after pruning; {t["seconds"]:.0f} s</p>']
    if t["unsolved_seeds"]:
        parts.append(f'<p>No storable core from seed(s) {_e(", ".join(map(str, t["unsolved_seeds"])))}.</p>')
    parts.append('<div class="cores">')
    for c in t["cores"]:
        title = _e(c["name"]) if c["name"] else f'motif {c["motif_id"]}'
        related = "".join(f"<li>{_e(r['text'])}</li>" for r in c["related"][:4])
        img = (f'<img src="{_e(c["drawing"])}" alt="drawing of motif {c["motif_id"]}">' if c["drawing"] else "")
        parts.append(
            f'<div class="core"><b>{title}</b> &mdash; found by {c["count"]} of {len(t["seeds"])} seed(s) '
            f'({_e(", ".join(map(str, c["seeds"])))})<br>{_e(c["size"])}, {c["n_synapses"]} synapses, '
            f'pruned score(s) {_e(", ".join(f"{s:.3f}" for s in c["scores"]))}<br>'
            f'<span class="muted">library id {c["motif_id"]}, label {_e(c["label"])}</span>{img}'
            f'<div>nearest named: {_nearest(c)}</div>'
            + (f"<ul>{related}</ul>" if len(c["related"]) > 1 else "") + "</div>")
    parts.append("</div>")
    if t["census"]:
        parts.append("<h3>Census of the champions (3- and 4-neuron subgraphs vs. a degree-preserving null model)"
                     "</h3><table><thead><tr><th>subgraph</th><th class=num>count</th><th class=num>random mean</th>"
                     "<th class=num>z</th><th class=num>ratio</th><th>motif</th></tr></thead><tbody>")
        for r in t["census"]:
            z = "-" if r["z"] is None else f'{r["z"]:.2f}'
            ratio = "-" if r["ratio"] is None else f'{r["ratio"]:.2f}'
            parts.append(f'<tr><td>{_e(r["description"])}</td><td class=num>{r["count"]}</td>'
                         f'<td class=num>{r["mean"]:.2f}</td><td class=num>{z}</td><td class=num>{ratio}</td>'
                         f'<td>{"yes" if r["motif"] else ""}</td></tr>')
        parts.append("</tbody></table>")
    return "\n".join(parts)
