"""Hostile-input fuzzing of the ``evo-circuits`` command (issue 12).

- :mod:`.world`: a small, valid project (circuits, spikes, specs, a finished run, a
  library) that every attack copies and then spoils;
- :mod:`.attacks`: the corpus: one :class:`~.runner.Attack` per way a file can be
  wrong, grouped by file kind;
- :mod:`.runner`: runs one attack in-process and judges it: a clean refusal is exit
  code 2 with one line on stderr, no traceback, every file outside ``out/`` byte for
  byte unchanged, and no plugin code run; :func:`~.runner.table` summarises results.

``tests/test_fuzz.py`` runs the quick corpus and hypothesis properties in ``make test``;
``benchmarks/fuzz.py --fuzz-long`` runs everything and prints the table of the issue.
"""
