"""The health check's GET on real sockets. Behind a systemd socket unit a request to a server
that died does not fail, it waits in the socket's queue: the GET must give up as soon as its
give_up callback names a reason, and still wait patiently for a server that answers late."""

import socket
import threading
import time

from conftest import COLLECTIONS  # noqa: F401  (puts the collection on sys.path)
from ansible_collections.hknweb.deploy.plugins.module_utils.host import http_get


def listening(tmp_path):
    """A unix socket that queues connections and never accepts them (a socket unit whose
    service is down)."""
    path = str(tmp_path / "app.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    return server, "unix:" + path


def test_a_queued_request_gives_up_when_told_why(tmp_path):
    server, bind = listening(tmp_path)
    with server:
        asked = []
        started = time.monotonic()

        def give_up():
            asked.append(time.monotonic() - started)
            return "the service exited after it started (activating/auto-restart)" if len(asked) >= 3 else None

        status, why = http_get(bind, "/health", "localhost", timeout=5.0, give_up=give_up)
        took = time.monotonic() - started
    assert (status, why) == (None, "the service exited after it started (activating/auto-restart)")
    assert len(asked) == 3 and took < 1.5, (asked, took)


def test_without_a_reason_it_waits_out_its_timeout(tmp_path):
    server, bind = listening(tmp_path)
    with server:
        started = time.monotonic()
        status, why = http_get(bind, "/health", "localhost", timeout=0.6, give_up=lambda: None)
        took = time.monotonic() - started
    assert status is None and "timed out" in why
    assert 0.55 <= took < 1.5


def test_a_late_answer_is_still_read(tmp_path):
    # The server accepts only after 0.5 s (gunicorn's workers booting): five give_up calls say
    # nothing, and the answer counts.
    server, bind = listening(tmp_path)

    def answer_late():
        time.sleep(0.5)
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\": \"ok\"}")

    with server:
        thread = threading.Thread(target=answer_late)
        thread.start()
        calls = []
        status, body = http_get(bind, "/health", "localhost", timeout=5.0, give_up=lambda: calls.append(1))
        thread.join()
    assert status == 200 and body == '{"status": "ok"}'
    assert len(calls) >= 3


def test_a_refused_connection_fails_at_once(tmp_path):
    started = time.monotonic()
    status, why = http_get("unix:" + str(tmp_path / "nothing.sock"), "/health", "localhost", give_up=lambda: None)
    assert status is None and "FileNotFoundError" in why
    assert time.monotonic() - started < 1
