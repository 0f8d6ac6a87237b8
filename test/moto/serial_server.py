"""moto's server, one request at a time: the stand-in for race tests (see doc.go).

moto_server serves its WSGI application with werkzeug's threaded server, so two requests run at
once and two DynamoDB conditional writes can both pass their condition. This serves the same
application (DomainDispatcherApplication over create_backend_app, as moto.server.main builds it)
with werkzeug's single-threaded server: a request is answered whole before the next is read, so
each write, its condition and a transaction's items included, is atomic, as DynamoDB makes them.

Started by moto.StartSerial as `python3 -c <this file> -H 127.0.0.1 -p 0`. It says where it
listens with the line moto_server prints ("Running on http://HOST:PORT"), which Start waits for.
"""

import argparse
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="moto serial server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=0)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

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
