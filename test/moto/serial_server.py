"""moto's server, one request at a time: the stand-in for race tests (see doc.go).

moto_server serves its WSGI application with werkzeug's threaded server, so two requests run at
once and two DynamoDB conditional writes can both pass their condition. This serves the same
application (DomainDispatcherApplication over create_backend_app, as moto.server.main builds it)
with werkzeug's single-threaded server: a request is answered whole before the next is read, so
each write, its condition and a transaction's items included, is atomic, as DynamoDB makes them.

A refused transaction must undo its writes. moto's transact_write_items backs up every table it
names with copy.deepcopy before it begins, which takes time proportional to the table: a
thousand-account registry made every transaction take most of a second, and a StackSet burst,
whose every registration is a transaction, took tens of minutes on a serial server. Here a
transaction backs up only the items it names (a deep copy of each, or its absence) and restores
those on any failure; moto's own whole-table backup is passed through uncopied. The answers are
moto's own; only the backup differs, which one request at a time makes safe.

Started by moto.StartSerial as `python3 -c <this file> -H 127.0.0.1 -p 0`. It says where it
listens with the line moto_server prints ("Running on http://HOST:PORT"), which Start waits for.
"""

import argparse
import copy
import os
import signal
import sys

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class _TablesUncopied:
    """The copy module as transact_write_items sees it while the items are backed up instead: a
    Table is its own "copy" (so moto's rollback assigns the table to itself), the rest is copied."""

    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


def _named_item(backend, item):
    """The (table, hash key, range key) a TransactWriteItems element writes, or None where moto
    will refuse it before writing anything (no such table, no key)."""
    try:
        op_type, op = next(iter(item.items()))
        table = backend.tables[op["TableName"]]
        attrs = op["Item"] if op_type == "Put" else op["Key"]
        range_key = DynamoType(attrs[table.range_key_attr]) if table.has_range_key else None
        return table, DynamoType(attrs[table.hash_key_attr]), range_key
    except (AttributeError, KeyError, StopIteration, TypeError):
        return None


def _restore(table, hash_key, range_key, item):
    """Puts item back under its key in table, or removes the key's item if item is None."""
    if range_key is None:
        table.items.pop(hash_key, None)
        if item is not None:
            table.items[hash_key] = item
    else:
        table.items[hash_key].pop(range_key, None)
        if item is not None:
            table.items[hash_key][range_key] = item


def _backing_up_named_items(transact_write_items):
    def transact(self, transact_items):
        backup = []
        for item in transact_items if isinstance(transact_items, list) else []:
            named = _named_item(self, item)
            if named is not None:
                table, hash_key, range_key = named
                backup.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        dynamodb_models.copy = _TablesUncopied
        try:
            return transact_write_items(self, transact_items)
        except BaseException:
            for named in reversed(backup):  # the first backup of an item named twice is restored last
                _restore(*named)
            raise
        finally:
            dynamodb_models.copy = copy

    return transact


def main() -> None:
    parser = argparse.ArgumentParser(prog="moto serial server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=0)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    backend = dynamodb_models.DynamoDBBackend
    backend.transact_write_items = _backing_up_named_items(backend.transact_write_items)

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto.server.main sets it
    # threaded=False: werkzeug's BaseWSGIServer, which handles one request at a time and closes
    # every connection after its answer, so no idle keep-alive connection holds the one thread.
    server = make_server(args.host, args.port, app, threaded=False)
    # moto builds some URLs from MOTO_PORT; moto_server sets it to the -p given, here the port bound.
    os.environ["MOTO_PORT"] = str(server.port)
    print(f" * Running on http://{args.host}:{server.port} (one request at a time)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
