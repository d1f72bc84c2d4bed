"""The strict YAML loader: repeated keys and alias bombs are one ConfigError naming the file and line."""

from __future__ import annotations

import time

import pytest

from cosearch.cli import main
from cosearch.core.errors import ConfigError
from cosearch.core.files import MAX_EXPANDED_NODES, expanded_size, read_yaml


def test_a_repeated_key_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: x\nobjectives: [{metric: a, direction: maximize}]\nseed: 1\nobjectives: []\n")
    with pytest.raises(ConfigError) as error:
        read_yaml(path)
    message = str(error.value)
    assert str(path) in message and "duplicate key 'objectives'" in message and "first at line 2" in message
    assert "line 4" in message


def test_nested_repeats_are_refused_and_distinct_keys_are_fine(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("network:\n  arch: vgg16\n  arch: snasnet\n")
    with pytest.raises(ConfigError, match="duplicate key 'arch'"):
        read_yaml(path)
    path.write_text("a: &x {b: 1, c: [1, 2]}\nd: *x\n")
    assert read_yaml(path) == {"a": {"b": 1, "c": [1, 2]}, "d": {"b": 1, "c": [1, 2]}}


def bomb(levels: int) -> str:
    """The billion-laughs document: each level holds nine aliases of the one before."""
    lines = ['l0: &l0 ["lol"]']
    for k in range(1, levels):
        lines.append(f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\ndescription: *l{levels - 1}\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text("name: bomb\n" + bomb(9))  # 9^8 = 43 million strings once expanded
    began = time.perf_counter()
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert time.perf_counter() - began < 5 and len(err) < 500
    assert f"more than {MAX_EXPANDED_NODES:,} values" in err and str(path) in err


def test_expanded_size_counts_references_without_expanding():
    import yaml

    node = yaml.compose(bomb(3), Loader=yaml.SafeLoader)
    # l0: 2 nodes; l1 holds 9 x l0: 1 + 18; l2: 1 + 9 x 19; description repeats l2; keys: 4 scalars
    l0, l1 = 2, 1 + 9 * 2
    l2 = 1 + 9 * l1
    assert expanded_size(node) == 1 + 4 + l0 + l1 + l2 + l2
