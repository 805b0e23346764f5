"""Which storage engine a database URL means, and opening it: the one place that decides.

`engine_of(db)`: 'postgresql' for a `postgresql://` or `postgres://` URL, else 'sqlite' (a file
path). `open_store(db)`: a new, not yet started store of that engine. The app, the command line
and the tests all go through here; the interface (`storage.py`) imports no engine.
"""

from __future__ import annotations

import importlib

from collector.storage import EventStore

__all__ = ['ENGINES', 'engine_of', 'open_store']

# engine name -> (URL prefixes that name it, the module and class that implement it)
ENGINES = {
    'postgresql': (('postgresql://', 'postgres://'), 'collector.postgres_store', 'PostgresEventStore'),
    'sqlite': ((), 'collector.sqlite_store', 'SQLiteEventStore'),
}
DEFAULT_ENGINE = 'sqlite'


def engine_of(db: str) -> str:
    """The engine `db` names: the one whose URL prefix it starts with, else SQLite (a file path)."""
    for name, (prefixes, _module, _cls) in ENGINES.items():
        if prefixes and str(db).startswith(prefixes):
            return name
    return DEFAULT_ENGINE


def open_store(db: str) -> EventStore:
    """A new store on `db` (start it with `await store.start()`)."""
    _prefixes, module, cls = ENGINES[engine_of(db)]
    return getattr(importlib.import_module(module), cls)(db)
