"""The notification (issue 20, item 3) against a real HTTP receiver on 127.0.0.1: the summary record
and a Slack `text` arrive as JSON; a webhook that answers an error, is unreachable or too slow is one
sentence that never names the URL (a secret); a URL that is no http(s) URL is never requested. (Through real
deploys and a rollback on the test host: molecule/default's r6 -> r8 test.)"""

import http.server
import json
import threading
import time

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import notify

SECRET = "/hook/T0KEN-SECRET"


@pytest.fixture
def receiver():
    got = {"bodies": [], "status": 200, "delay": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            got["type"] = self.headers["Content-Type"]
            time.sleep(got["delay"])
            self.send_response(got["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got["url"] = "http://127.0.0.1:%d%s" % (server.server_address[1], SECRET)
    yield got
    server.shutdown()
    server.server_close()


def test_the_summary_and_a_slack_text_arrive_as_json(receiver):
    out = {"environment": "prod", "action": "deploy", "result": "ok", "release": "20260101T000000Z"}
    assert notify.post(receiver["url"], notify.payload(out, "Deployed prod"), 2) is None
    body, = receiver["bodies"]
    assert body == dict(out, text="Deployed prod", notification_version=1)
    assert receiver["type"] == "application/json"


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_answer_is_a_sentence_without_the_url(receiver, status):
    receiver["status"] = status
    said = notify.post(receiver["url"], {"a": 1}, 2)
    assert said == "the notification webhook answered HTTP %d; the run's result is as shown above" % status


def test_a_slow_or_unreachable_webhook_is_a_sentence_within_the_timeout(receiver):
    receiver["delay"] = 3
    started = time.monotonic()
    said = notify.post(receiver["url"], {"a": 1}, 0.5)
    assert time.monotonic() - started < 2.5 and "not sent" in said and "T0KEN" not in said
    closed = receiver["url"].rsplit(":", 1)[0] + ":1" + SECRET
    said = notify.post(closed, {"a": 1}, 1)
    assert "not sent" in said and "refused" in said.lower() and "T0KEN" not in said


def test_a_url_that_is_no_http_url_is_never_requested():
    assert "is not an http:// or https:// URL" in notify.post("file:///etc/passwd", {}, 1)
