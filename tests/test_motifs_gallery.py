"""HTML gallery, checked in headless Chromium over a local HTTP server.

Needs ``/usr/bin/chromium`` (Debian package ``chromium``). Without it the browser test is
skipped locally and fails under CI (``CI`` set), so CI cannot silently skip it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from evo_circuits import random_circuit
from evo_circuits.motifs.gallery import write_gallery
from evo_circuits.motifs.library import MotifLibrary

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def _chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing on CI: install the Debian package 'chromium' in .ci/run")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); the gallery browser test needs it")


class _Server:
    """A static file server on 127.0.0.1 that records the status of every request."""

    def __init__(self, root: Path) -> None:
        self.log: list[tuple[str, int]] = []
        log = self.log

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):  # noqa: D401 - record instead of printing
                log.append((self.path, int(code) if str(code).isdigit() else 0))

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "_Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _load(chromium: str, url: str, profile: Path) -> tuple[str, list[str]]:
    """DOM after scripts ran, and the console messages of the page."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gallery")
    with MotifLibrary(tmp / "lib.db") as lib:
        for named_id in lib.ids()[1:]:  # keep one seeded named motif: a small, quick site
            lib.remove(named_id)
        c = random_circuit(3, 2, 2, p_conn=0.4, max_delay_steps=5, seed=2)
        mid, _ = lib.add(c, task="coincidence", score=0.91, provenance={"run_id": "run-<b>1</b>", "seed": 1})
        lib.add(random_circuit(2, 1, 1, p_conn=0.6, seed=5), task="gating", score=0.4)
        lib.set_census(mid, {"count": 12, "z": 3.1})
        ids = lib.ids()
        index = write_gallery(lib, tmp / "site", fitness_dir=ROOT / "fitness")
    return index.parent, ids, mid


def test_gallery_files(gallery):
    site, ids, mid = gallery
    assert (site / "index.html").is_file() and (site / "gallery.js").is_file()
    for i in ids:
        assert (site / f"motif-{i}.html").is_file()
        assert (site / f"motif-{i}.svg").read_text().lstrip().startswith("<?xml")
        assert (site / f"motif-{i}.json").read_text().lstrip().startswith("{")
    assert (site / f"motif-{mid}-raster.png").read_bytes()[:4] == b"\x89PNG"
    page = (site / f"motif-{mid}.html").read_text()
    assert "run-&lt;b&gt;1&lt;/b&gt;" in page and "<b>1</b>" not in page  # library text is escaped
    assert f'href="motif-{mid}.json" download' in page
    assert "http://" not in (site / "index.html").read_text() and "https://" not in page  # offline: no CDN


def test_gallery_in_headless_chromium(gallery, tmp_path):
    chromium = _chromium()
    site, ids, mid = gallery
    with _Server(site) as server:
        dom, console = _load(chromium, f"{server.url}/index.html", tmp_path / "p1")
        assert console == [], console
        assert 'data-js="ready"' in dom  # the filter script ran to the end
        listed = {int(x) for x in re.findall(r'<tr id="motif-(\d+)"', dom)}
        assert listed == set(ids)
        assert f"{len(ids)} of {len(ids)} motifs shown" in dom
        assert dom.count('data-loaded="1"') == len(ids) and 'data-loaded="0"' not in dom  # thumbnails render

        dom, console = _load(chromium, f"{server.url}/motif-{mid}.html", tmp_path / "p2")
        assert console == [], console
        drawing = re.search(r'<img[^>]*id="drawing"[^>]*>', dom).group(0)
        assert f'src="motif-{mid}.svg"' in drawing and 'data-loaded="1"' in drawing
        assert re.search(r'<img[^>]*raster[^>]*data-loaded="1"', dom)
        assert "coincidence" in dom and "0.910" in dom
    bad = [(p, code) for p, code in server.log if code >= 400]
    assert bad == [], bad
    assert any(p.endswith(f"motif-{mid}.svg") for p, _ in server.log)


def test_gallery_filter_script_filters(gallery, tmp_path):
    """Drive the filters through a tiny page that loads the index in an iframe-free way:
    a copy of index.html whose inputs are preset before gallery.js runs."""
    chromium = _chromium()
    site, ids, mid = gallery
    page = (site / "index.html").read_text()
    preset = page.replace('<option value="coincidence">', '<option value="coincidence" selected>')
    (site / "filtered.html").write_text(preset)
    with _Server(site) as server:
        dom, console = _load(chromium, f"{server.url}/filtered.html", tmp_path / "p3")
    (site / "filtered.html").unlink()
    assert console == [], console
    assert "1 of " in dom
    shown = [int(x) for x in re.findall(r'<tr id="motif-(\d+)"(?![^>]*hidden)', dom)]
    assert shown == [mid]
    assert np.all([i in ids for i in shown])
