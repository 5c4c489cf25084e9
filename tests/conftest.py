"""Shared test setup: no test writes to the repository's default motif library."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_motif_library(tmp_path, monkeypatch):
    monkeypatch.setenv("EVO_CIRCUITS_LIBRARY", str(tmp_path / "library.db"))
