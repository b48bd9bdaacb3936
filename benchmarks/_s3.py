"""A local S3 server (moto) for the object-store tests and benchmarks, made to behave like S3 on conditional
writes, and a bucket on it with the environment deltalake and newslake need."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

CREDS = {"AWS_ACCESS_KEY_ID": "newslake", "AWS_SECRET_ACCESS_KEY": "newslake", "AWS_REGION": "us-east-1"}


def atomic_moto_server():
    """moto's S3 server with one request at a time.

    Delta commits on S3 rely on ``PUT ... If-None-Match: *`` being atomic, as it is on S3. moto checks for the
    key and then stores it without a lock, and its server answers each request in a thread, so two commits of
    the same version can both "succeed" there (the second silently replacing the first) - a store that loses
    commits, not a race newslake could detect. Serialising the requests restores S3's behaviour."""
    import threading

    from moto import server as moto_server
    from werkzeug.serving import make_server

    class Server(moto_server.ThreadedMotoServer):
        def _server_entry(self) -> None:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )

            class Dispatcher(DomainDispatcherApplication):
                """Remembers which backend serves a host. moto decides it anew for every request, listing its
                own package folder (a stat per moto module, ~1.5 ms): over 40 % of the server's CPU time
                in the S3 tests, whose Delta clients send thousands of small requests."""

                def __init__(self, *args, **kwargs) -> None:
                    super().__init__(*args, **kwargs)
                    self.hosts: dict = {}

                def get_backend_for_host(self, host):
                    if host not in self.hosts:
                        self.hosts[host] = super().get_backend_for_host(host)
                    return self.hosts[host]

            app, lock = Dispatcher(create_backend_app), threading.Lock()

            def serialised(environ, start_response):
                with lock:
                    return list(app(environ, start_response))

            self._server = make_server(
                self._ip_address, self._port, serialised, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address="127.0.0.1", port=0, verbose=False)


@contextlib.contextmanager
def local_s3(*buckets: str) -> Iterator[dict[str, str]]:
    """A running server holding ``buckets``; yields the AWS_* environment (also deltalake's storage options)."""
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per S3 request
    server = atomic_moto_server()
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**CREDS, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ALLOW_HTTP": "true"}
        client = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=CREDS["AWS_REGION"],
            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
        )
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield env
    finally:
        server.stop()
