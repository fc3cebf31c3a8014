"""The packaged vocabularies read the same with libyaml's parser as with PyYAML's own."""

from __future__ import annotations

from importlib import resources

import yaml

from workflow.review.packaged import vocabulary


def test_every_packaged_vocabulary_reads_as_safe_load_reads_it() -> None:
    folder = resources.files("workflow.review").joinpath("vocab")
    names = sorted(e.name for e in folder.iterdir() if e.name.endswith(".yaml"))
    assert names
    for name in names:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        assert vocabulary(name) == yaml.safe_load(text), name
