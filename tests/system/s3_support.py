"""A local S3 server for the object-store tests: moto, made to behave like S3 on conditional writes."""

from __future__ import annotations

import pytest


def atomic_moto_server():
    """moto's S3 server with one request at a time.

    Delta commits on S3 rely on ``PUT ... If-None-Match: *`` being atomic, as it is on S3. moto checks for the
    key and then stores it without a lock, and its server answers each request in a thread, so two commits of
    the same version can both "succeed" there (the second silently replacing the first) - a store that loses
    commits, not a race newslake could detect. Serialising the requests restores S3's behaviour."""
    import threading

    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    from werkzeug.serving import make_server

    class Server(moto_server.ThreadedMotoServer):
        def _server_entry(self) -> None:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )

            app, lock = DomainDispatcherApplication(create_backend_app), threading.Lock()

            def serialised(environ, start_response):
                with lock:
                    return list(app(environ, start_response))

            self._server = make_server(
                self._ip_address, self._port, serialised, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address="127.0.0.1", port=0, verbose=False)
