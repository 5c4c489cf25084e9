"""Discovery campaign: `evo-circuits discover` evolves tasks from several seeds, harvests
the cores into the library and writes a report whose HTML loads cleanly in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evo_circuits.cli import main
from evo_circuits.motifs.library import MotifLibrary
from test_motifs_gallery import _chromium, _load, _Server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("campaign")
    out = tmp / "report"
    argv = ["discover", "--tasks", "timing_pattern", "memory", "--seeds", "4", "--generations", "3",
            "--configs", str(ROOT / "runs"), "--library", str(tmp / "lib.db"), "-o", str(out),
            "--census-random", "5", "--min-score", "0.0"]
    assert main(argv) == 0
    return out, tmp / "lib.db"


@pytest.mark.slow
def test_discover_writes_the_report(campaign, capsys):
    out, lib_path = campaign
    data = json.loads((out / "report.json").read_text())
    assert data["format"] == "evo-circuits/discovery-report" and data["seeds"] == [0, 1, 2, 3]
    assert [t["task"] for t in data["tasks"]] == ["timing_pattern", "memory"]
    with MotifLibrary(lib_path) as lib:
        for t in data["tasks"]:
            assert sorted(t["runs"]) == ["0", "1", "2", "3"]
            assert all((out / d / "champion.json").is_file() for d in t["runs"].values())
            # With --min-score 0 every seed gives a core; counts add up to the seeds.
            assert t["unsolved_seeds"] == [] and sum(c["count"] for c in t["cores"]) == 4
            counts = [c["count"] for c in t["cores"]]
            assert counts == sorted(counts, reverse=True)  # recurring cores first
            for c in t["cores"]:
                e = lib.entry(c["motif_id"])
                assert e.label == c["label"] and e.occurrences >= c["count"]
                assert {s["fitness"] for s in e.scores} >= {t["fitness"]}
                assert (out / c["drawing"]).read_text().lstrip().startswith("<?xml")
                if c["nearest"] is not None:
                    assert c["nearest"] == c["related"][0] and c["nearest"]["text"]
            assert t["census"] and all("description" in r for r in t["census"])
    page = (out / "report.html").read_text()
    assert "timing_pattern" in page and "memory" in page and "http" not in page


@pytest.mark.slow
def test_discover_html_in_headless_chromium(campaign, tmp_path):
    chromium = _chromium()
    out, _ = campaign
    with _Server(out) as server:
        dom, console = _load(chromium, f"{server.url}/report.html", tmp_path / "profile")
    assert console == [], console
    assert "Discovery report" in dom and 'id="task-memory"' in dom
    bad = [(p, code) for p, code in server.log if code >= 400]
    assert bad == [], bad
    assert any(p.endswith(".svg") for p, _ in server.log)  # the drawings were fetched


def test_discover_bad_input_is_one_line(tmp_path, capsys):
    assert main(["discover", "--tasks", "nope", "--seeds", "1", "-o", str(tmp_path / "r")]) == 2
    assert "no run config" in capsys.readouterr().err
    assert main(["discover", "--tasks", "memory", "--seeds", "0", "-o", str(tmp_path / "r")]) == 2
