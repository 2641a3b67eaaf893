"""The documentation site: `mkdocs build --strict` succeeds and the API reference is generated.

--strict turns a broken link or anchor in docs/ and a reference (`::: module`) that cannot be
collected into a failure; .ci/run runs the same build after the test suite.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / 'docs' / 'reference'


def test_reference_pages_hold_no_python_blocks():
    # tests/test_docs.py runs every Python block in docs/; the reference is generated instead.
    pages = sorted(REFERENCE.glob('*.md'))
    assert len(pages) >= 8, pages
    for page in pages:
        assert not re.search(r'^\s*```(python|py|python3)\b', page.read_text(encoding='utf-8'), re.M), page


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / 'site'
    env = dict(os.environ, NO_MKDOCS_2_WARNING='1')
    done = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir', str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / 'index.html').is_file()
    expected = {
        'activerecord.html': ['activerecord.ActiveRecord', 'activerecord.Column', 'activerecord.func',
                              'activerecord.raw'],
        'errors.html': ['activerecord.errors'],
        'query.html': ['activerecord.query.Query'],
        'relation.html': ['activerecord.relation.HasMany', 'activerecord.relation.BelongsTo'],
        'backend.html': ['backend.typing.ConnectionConfig', 'backend.base.StorageBackend',
                         'backend.pool.ConnectionPool', 'backend.transaction.TransactionManager'],
        'mixins.html': ['activerecord.mixins.TimestampMixin', 'activerecord.mixins.SoftDeleteMixin'],
        'fastapi.html': ['activerecord.contrib.fastapi.install',
                         'activerecord.contrib.fastapi.transaction_dependency'],
    }
    for page, anchors in expected.items():
        html = (site / 'reference' / page).read_text(encoding='utf-8')
        for anchor in anchors:
            assert f'id="{anchor}"' in html, f'{page} has no API entry {anchor}'
