"""Hypothesis strategies for property tests of the YAML loaders: random YAML trees, and valid
documents with one key replaced by a random tree (or deleted)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

#: Keys the loaders know, so random mappings often hit a real branch of the schema.
KNOWN_KEYS = [
    "name", "space", "network", "timesteps", "hardware", "arch", "channels", "choices", "low", "high", "step",
    "log", "type", "value", "count", "repeat", "at", "given", "cases", "default", "adc_type", "adc_bits",
    "device", "metric", "direction", "options", "trials", "phases", "searcher", "evaluators", "objectives",
    "constraints", "enqueue", "inherit", "fix", "values", "params", "<=", ">=", "op", "bound", "seed",
]

#: Characters of random strings: ASCII, YAML-special, control and non-ASCII ones (an explicit
#: alphabet, so hypothesis needs no unicode tables on disk).
ALPHABET = "az09_-.:*[]{}#&! \t\x00\x7f\u00e9\u2603\U0001f600"

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "vgg16", "snasnet", "sar", "tpe", "nsga2", "maximize", "minimize", "proxy_score", "x"]),
    st.text(ALPHABET, max_size=6),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(ALPHABET, max_size=5), st.integers(-2, 20), st.booleans())

#: Any tree YAML can hold: scalars, lists and mappings (with non-string keys too), nested.
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """``document`` with the value at one random key path replaced by a random tree, or deleted."""
    tree = copy.deepcopy(document)
    node: Any = tree
    while True:
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            return draw(trees)  # nothing to descend into: replace the whole document
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw(st.integers(0, 3)) > 0:  # mostly descend
            node = child
            continue
        if isinstance(node, dict) and draw(st.integers(0, 4)) == 0:
            del node[key]
        else:
            node[key] = draw(trees)
        return tree
