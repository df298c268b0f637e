# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The notification after a deploy or rollback: the summary posted as JSON to a webhook.

Sent from the controller by the deploy_summary action, after the summary is composed, whatever the
run's result. The payload is the summary's JSON record plus `text` (what the run printed, for Slack
and the services that read its format). A webhook that does not answer within the timeout, or
answers an error, is a sentence (a warning); it never changes the run's result. The URL is a
secret (it authorises posting): no sentence here ever carries it.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

VERSION = 1


def payload(out, text):
    """The JSON body: the summary record, `text` (Slack's field) and the payload's version."""
    body = dict(out)
    body.update(text=text, notification_version=VERSION)
    return body


def post(url, body, timeout):
    """POST the body; None when the webhook answered 2xx, else why (never the URL)."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")):
        return "deploy_notify_url is not an http:// or https:// URL; no notification was sent"
    request = urllib.request.Request(url, data=json.dumps(body, sort_keys=True, default=str).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, socket.timeout, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return "the notification was not sent (%s); the run's result is as shown above" % _no_url(reason, url)
    if 200 <= status < 300:
        return None
    return "the notification webhook answered HTTP %s; the run's result is as shown above" % status


def _no_url(reason, url):
    text = str(reason)
    return text.replace(url, "<deploy_notify_url>") if url else text
