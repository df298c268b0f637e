# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Whether a string can name a git branch, tag or commit, decided before anything on the host
changes (the ref goes into the lock record, git's command lines and revisions.log).

The rules are git check-ref-format's for a name, plus a length bound: a ref of kilobytes is
refused here rather than wedging a lock or a log line later. Pure: no git, no disk."""

from __future__ import annotations

MAX_REF_BYTES = 255  # what a file name (one ref component) may hold on the host's file system
_FORBIDDEN = set(" ~^:?*[\\")


def ref_problem(ref):
    """Why `ref` cannot be a git ref name, or None when it can (a 40-hex commit always can)."""
    if not isinstance(ref, str) or not ref:
        return "it is empty"
    size = len(ref.encode("utf-8", "surrogateescape"))
    if size > MAX_REF_BYTES:
        return "it is %d bytes long (at most %d)" % (size, MAX_REF_BYTES)
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in ref):
        return "it holds a control character (a line break, tab or escape)"
    bad = sorted(set(ref) & _FORBIDDEN)
    if bad:
        return "it holds %s" % " ".join(repr(c) for c in bad)
    if ref.startswith("-"):
        return "it starts with - (git would read it as an option)"
    if ".." in ref or "@{" in ref or ref == "@" or "//" in ref:
        return "it holds .., @{ or //, or is @"
    if ref.startswith("/") or ref.endswith(("/", ".")):
        return "it starts with / or ends with / or ."
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "a part of it starts with . or ends with .lock"
    return None


def shown(ref, limit=60):
    """The ref as a message may quote it: repr, cut when long."""
    text = repr(ref)
    return text if len(text) <= limit else "%s... (%d characters)" % (text[:limit], len(ref))
