"""One version: activerecord/version.py's, which pyproject.toml reads (no second copy to forget)."""
from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import activerecord

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_a_release_number():
    assert re.fullmatch(r'\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?', activerecord.__version__)


def test_pyproject_reads_the_version_from_the_package():
    text = (ROOT / 'pyproject.toml').read_text()
    project = text.split('[project]', 1)[1].split('\n[', 1)[0]
    assert re.search(r'^dynamic = \["version"\]', project, re.MULTILINE)
    assert not re.search(r'^version\s*=', project, re.MULTILINE)      # no second copy
    assert 'version = { attr = "activerecord.version.__version__" }' in text.split('[tool.setuptools.dynamic]', 1)[1]


def test_the_installed_distribution_has_the_same_version():
    # Built from pyproject.toml by pip (editable or not): the metadata pip and users see.
    assert importlib.metadata.version('activerecord') == activerecord.__version__
