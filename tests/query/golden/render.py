"""Print what a dialect renders for every golden construct, as an EXPECTED table to review.

    python -m tests.query.golden.render mssql > /tmp/mssql.txt
"""
from __future__ import annotations

import sys

from activerecord.errors import NotSupportedError

from . import make_dialect
from .cases import CONSTRUCTS


def main(name: str) -> None:
    dialect = make_dialect(name)
    print('EXPECTED = {')
    for construct, render in CONSTRUCTS.items():
        try:
            print(f'    {construct!r}: {render(dialect)!r},')
        except NotSupportedError:
            print(f'    {construct!r}: NotSupportedError,')
    print('}')


if __name__ == '__main__':
    main(sys.argv[1])
