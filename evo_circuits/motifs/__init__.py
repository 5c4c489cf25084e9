"""Motifs: circuit identity, subgraph census against a null model, and named motifs.

- :mod:`.canonical` — coloured motif graph, WL canonical label, exact isomorphism,
  typed subgraph containment.
- :mod:`.census` — E/I-coloured 3/4-node subgraph census (Milo et al. 2002) with a
  degree- and colour-preserving randomised ensemble.
- :mod:`.named` — canonical motifs from the literature shipped as circuit JSON.
- :mod:`.library` — the SQLite motif library (entries as :class:`.entry.MotifEntry`); files: :mod:`evo_circuits.io`;
  :mod:`.draw` — motif drawings; :mod:`.gallery` — static HTML gallery.
"""

from .canonical import (
    LABEL_SCHEME,
    canonical_label,
    contains,
    find_embeddings,
    graph_label,
    motif_graph,
    same_graph,
    same_motif,
)
from .census import (
    CensusResult,
    census,
    class_key,
    describe_class,
    randomise_circuit,
    subgraph_counts,
)
from .draw import draw_motif
from .entry import MotifEntry
from .gallery import write_gallery
from .library import MotifLibrary, MotifNotFound, default_library_path
from .named import match_named, named_motif, named_motifs

__all__ = [
    "LABEL_SCHEME", "CensusResult", "canonical_label", "census", "class_key", "contains", "describe_class",
    "find_embeddings", "graph_label", "match_named", "motif_graph", "named_motif", "named_motifs",
    "randomise_circuit", "same_graph", "same_motif", "subgraph_counts",
    "MotifEntry", "MotifLibrary", "MotifNotFound", "default_library_path", "draw_motif", "write_gallery",
]
