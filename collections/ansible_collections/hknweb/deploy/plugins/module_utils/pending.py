# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Which commits a run puts out or takes back: the commits between the live one and the one going live.

Read from the mirror (`repo/`) inside stage 1's call (deploy_begin, or release_rollback's first half),
so it costs no round trip. `out` are the commits the new one has and the live one has not (what a
deploy puts out); `back` the commits the live one has and the new one has not (what a rollback, or a
deploy of an older commit, takes back). Each list is capped at LIMIT, newest first, with its full
count. The parsing and the sentences are pure; `between` only runs git.
"""

from __future__ import annotations

LIMIT = 10
_SEP = "\x1f"
_FORMAT = "%H" + _SEP + "%an" + _SEP + "%s"


def parse(text):
    """git log's lines (sha, author, subject separated by \\x1f) as dicts."""
    found = []
    for line in (text or "").splitlines():
        parts = line.split(_SEP, 2)
        if len(parts) == 3:
            found.append({"sha": parts[0], "short": parts[0][:12], "author": parts[1], "subject": parts[2]})
    return found


def _side(run, mirror, exclude, include, limit):
    listed = run(["git", "-C", mirror, "log", "--no-merges", "--format=" + _FORMAT, "-n", str(limit),
                  "%s..%s" % (exclude, include), "--"])
    counted = run(["git", "-C", mirror, "rev-list", "--no-merges", "--count", "%s..%s" % (exclude, include), "--"])
    if not (listed.ok and counted.ok):
        return None
    return {"commits": parse(listed.out), "count": int(counted.out.strip() or 0)}


def between(run, mirror, live, new, limit=LIMIT):
    """{known, why, out: {commits, count}, back: {commits, count}} from the live commit to the new one.
    `run` runs a program and answers .ok/.out (host.run); nothing is known without both commits in the mirror."""
    if not live:
        return {"known": False, "why": "nothing is live yet", "out": None, "back": None}
    if not new:
        return {"known": False, "why": "the new commit is not known yet", "out": None, "back": None}
    if live == new:
        return {"known": True, "why": "", "out": {"commits": [], "count": 0}, "back": {"commits": [], "count": 0}}
    have = run(["git", "-C", mirror, "cat-file", "-e", "%s^{commit}" % live]).ok and \
        run(["git", "-C", mirror, "cat-file", "-e", "%s^{commit}" % new]).ok
    out = _side(run, mirror, live, new, limit) if have else None
    back = _side(run, mirror, new, live, limit) if have else None
    if out is None or back is None:
        return {"known": False, "why": "the commits are not both in the mirror yet (not fetched in check mode)",
                "out": None, "back": None}
    return {"known": True, "why": "", "out": out, "back": back}


def _listed(side, title):
    lines = ["%s (%d):" % (title, side["count"])]
    lines.extend('  %s %s (%s)' % (c["short"], c["subject"], c["author"]) for c in side["commits"])
    if side["count"] > len(side["commits"]):
        lines.append("  ... and %d more" % (side["count"] - len(side["commits"])))
    return lines


def lines(pending, mode="deploy"):
    """What a run says about the commits: going out (deploy) and taken back (rollback, or an older commit)."""
    if not isinstance(pending, dict):
        return []
    if not pending.get("known"):
        return ["commits: not listed (%s)" % pending.get("why")] if pending.get("why") else []
    out, back = pending.get("out") or {"count": 0}, pending.get("back") or {"count": 0}
    said = []
    if out["count"]:
        said += _listed(out, "commits going out" if mode == "deploy" else "commits it brings back")
    if back["count"]:
        said += _listed(back, "commits taken back")
    return said or ["commits: none between the live commit and this one"]
