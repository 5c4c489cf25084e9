"""Print the results table of docs/science.md from the compare.json of one or more comparisons.

    python docs/tools/science_table.py OUT/compare.json [MORE/compare.json ...]

Rows are the arms in the order of the first file; an arm found in a later file replaces
or adds its row (e.g. a `--controls frozen` run next to a full one: its `assembled` row
must be the same, which is checked, so that the p-values refer to the same networks).
"""

from __future__ import annotations

import json
import sys


def _p(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" + ("*" if value < 0.05 else "")


def table(paths: list[str]) -> str:
    """The markdown table of the arms of the given compare.json files."""
    rows: dict[str, dict] = {}
    base = None
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        summary = {r["network"]: r for r in data["summary"]}
        if base is None:
            base = summary["assembled"]
        elif abs(summary["assembled"]["final_acc"] - base["final_acc"]) > 1e-12:
            raise SystemExit(f"{path}: its assembled arm differs from the first file's (not the same networks)")
        elif abs(summary["assembled"]["threshold"] - base["threshold"]) > 1e-12:
            raise SystemExit(f"{path}: another accuracy threshold than the first file's (pass --threshold)")
        rows.update({k: v for k, v in summary.items() if k not in rows or k != "assembled"})
    lines = [f"(threshold {base['threshold']:.3f})", "",
             "| arm | final test accuracy | p | epochs to threshold (reached) | p | hidden rate (Hz) | trainable |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['final_acc']:.3f} ± {r['final_acc_ci']:.3f} | {_p(r.get('p_final_acc'))} | "
                     f"{r['epochs_to_threshold']:.1f} ± {r['epochs_to_threshold_ci']:.1f} ({r['reached']}/{r['n_seeds']}) | "
                     f"{_p(r.get('p_epochs_to_threshold'))} | {r['rate_hz']:.1f} ± {r['rate_hz_ci']:.1f} | "
                     f"{r.get('trainable', '')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print(table(sys.argv[1:]))
