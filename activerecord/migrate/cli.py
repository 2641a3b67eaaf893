"""`python -m activerecord migrate up|down|status|sql`: the migrator from the command line.

In `check`'s style: a failure ends in `error: ...` on stderr and a non-zero exit, never a
traceback, never the password. Exit 1: the database could not be reached or a migration failed
(the message names the revision and the statement); exit 2: the input is wrong (URL, folder,
revision files that do not form one chain, an unknown revision).
"""
from __future__ import annotations

import argparse
from typing import Any, Callable, TextIO

from ..errors import ActiveRecordError, ConfigurationError, MigrationError
from .autogenerate import run_make
from .migrator import Migrator, RevisionStatus

EXIT_OK = 0
EXIT_FAILED = 1       # the database could not be reached, or a migration failed
EXIT_BAD_INPUT = 2    # the URL, the folder or the revision files are wrong

#: scrub(text, password, url) -> text without the password (activerecord/cli.py's)
Scrub = Callable[[str, 'str | None', str], str]


def add_migrate_parser(commands: Any) -> argparse.ArgumentParser:
    """Add `migrate` and its verbs to the top-level subparsers; returns the `migrate` parser."""
    migrate: argparse.ArgumentParser = commands.add_parser(
        'migrate', help='apply, revert and inspect schema migrations',
        description='Run the revision files of a migrations folder against a database. The applied '
                    'revisions are kept in the table ar_schema_migrations; one migrator runs at a time.')
    verbs = migrate.add_subparsers(dest='migrate_command', metavar='VERB', required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, description=help_text)
        parser.add_argument('--url', required=True,
                            help='database URL, e.g. postgresql://user:password@host:5432/db')
        parser.add_argument('--dir', dest='directory', default='migrations',
                            help='the folder of revision files (default: migrations/ in the current folder)')
        parser.add_argument('--lock-timeout', type=float, default=5.0, metavar='SECONDS',
                            help='give up on a lock a migration waits for after this long (default 5)')
        return parser

    up = verb('up', 'apply the pending revisions (up to --to REV, default the head)')
    up.add_argument('--to', metavar='REV', help='stop after this revision')
    down = verb('down', 'revert applied revisions (the last one unless --to or --steps says)')
    target = down.add_mutually_exclusive_group()
    target.add_argument('--to', metavar='REV', help='revert everything after REV ("base": everything)')
    target.add_argument('--steps', type=int, metavar='N', help='revert the last N revisions')
    verb('status', 'list the revisions, applied or pending, marking steps that rewrite a table or block writes')
    sql = verb('sql', 'print the SQL that up (or down) would run now, running nothing')
    sql.add_argument('direction', nargs='?', choices=('up', 'down'), default='up')
    sql_target = sql.add_mutually_exclusive_group()
    sql_target.add_argument('--to', metavar='REV', help='as for up / down')
    sql_target.add_argument('--steps', type=int, metavar='N', help='as for down')
    make = verb('make', 'write a revision that brings the database to the models (autogenerate); '
                        'says so and writes nothing when they already agree')
    make.add_argument('message', help='what the revision does, e.g. "add colour" (its file name)')
    make.add_argument('--models', action='append', required=True, metavar='MODULE',
                      help='a module whose ActiveRecord models to compare (repeat for several)')
    make.add_argument('--include', action='append', default=[], metavar='PATTERN',
                      help='of the tables no model has, consider only those matching this fnmatch '
                           'pattern (e.g. "shop_*"; repeat for several); the others are left alone')
    make.add_argument('--exclude', action='append', default=[], metavar='PATTERN',
                      help='never drop a table no model has that matches this fnmatch pattern (repeat for several)')
    return migrate


def run_migrate(args: argparse.Namespace, out: TextIO, err: TextIO, scrub: Scrub) -> int:
    """Run a parsed `migrate` command; returns the exit status."""
    url: str = args.url
    if args.migrate_command == 'make':
        return run_make(args.message, args.models, url, args.directory, out, err, scrub, args.include, args.exclude)
    try:
        migrator = Migrator(url, args.directory, lock_timeout=args.lock_timeout)
    except (ConfigurationError, MigrationError, ImportError) as error:
        err.write(f'error: {scrub(str(error), None, url)}\n')
        return EXIT_BAD_INPUT
    password = migrator.backend.config.password
    try:
        return _verb(migrator, args, out)
    except MigrationError as error:
        # a revision named: it failed while running; none: the files or the target are wrong
        err.write(f'error: {scrub(str(error), password, url)}\n')
        return EXIT_FAILED if error.revision is not None else EXIT_BAD_INPUT
    except ConfigurationError as error:
        err.write(f'error: {scrub(str(error), password, url)}\n')
        return EXIT_BAD_INPUT
    except ActiveRecordError as error:
        err.write(f'error: {migrator.backend.name} at {migrator.backend.where()}: '
                  f'{scrub(str(error), password, url)}\n')
        return EXIT_FAILED
    finally:
        migrator.close()


def _verb(migrator: Migrator, args: argparse.Namespace, out: TextIO) -> int:
    command: str = args.migrate_command
    if command == 'up':
        done = migrator.up(args.to, progress=lambda revision: _say(out, f'applied {revision}'))
        if not done:
            out.write('nothing to apply: the database is up to date\n')
    elif command == 'down':
        done = migrator.down(args.to, args.steps, progress=lambda revision: _say(out, f'reverted {revision}'))
        if not done:
            out.write('nothing to revert\n')
    elif command == 'status':
        out.write(format_status(migrator.status()))
    else:
        out.write(migrator.sql(args.direction, args.to, args.steps))
    return EXIT_OK


def _say(out: TextIO, line: str) -> None:
    out.write(line + '\n')
    out.flush()   # as it happens: a later failure must not hide what was already applied


def format_status(states: list[RevisionStatus]) -> str:
    """The `migrate status` table: one line per revision, pending steps' marks indented below."""
    if not states:
        return 'no revisions\n'
    width = max(len(state.revision) for state in states)
    lines: list[str] = []
    for state in states:
        if state.applied:
            when = f'  {state.applied_at:%Y-%m-%d %H:%M:%S}' if state.applied_at is not None else ''
            missing = '  (no file in the folder)' if not state.has_file else ''
            lines.append(f'{state.revision:<{width}}  applied{when}{missing}')
        else:
            lines.append(f'{state.revision:<{width}}  pending')
            lines += [f'    {note}' for note in state.notes]
    return '\n'.join(lines) + '\n'
