"""Shared fixtures: where the real-world corpus lives, and the rule that CI never skips for it."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("AEFLOW_CORPUS", REPO.parent / "shared" / "corpus")).resolve()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_corpus(folder: str) -> Path:
    """The corpus folder ``folder``; fails under CI when missing, skips elsewhere."""
    path = CORPUS / folder
    if not path.is_dir():
        message = f"the corpus folder {path} is missing (set AEFLOW_CORPUS to its location)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def read_manifest(folder: str) -> list[dict[str, str]]:
    """The rows of ``<corpus>/<folder>/MANIFEST.tsv`` as dictionaries."""
    path = require_corpus(folder) / "MANIFEST.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def manifest_rows(folder: str) -> list[dict[str, str]]:
    """The manifest's rows for parametrizing at import time. Without the corpus, one stand-in row
    whose test reaches ``require_corpus`` and so skips (or, under CI, fails) naming the folder."""
    if (CORPUS / folder).is_dir():
        return read_manifest(folder)
    return [{"file": f"missing-corpus-{folder}"}]


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        message = f"the corpus {CORPUS} is missing (set AEFLOW_CORPUS to its location)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CORPUS
