# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""uv's own wheel, found where pip would look and unpacked without pip: its one binary is all a deploy uses.

pip run from the interpreter's bundled wheel takes about 1.7 s to put uv in place (its start, its
resolver, copying 38 MB); reading the binary out of the wheel takes about 0.2 s. The decisions (where
to look, which file fits this host, what a page links) are pure functions; download() and unpack() do the
reading and writing. Anything this reader does not know (another pip option, plain http to another
machine, a musl host, no fitting file, a network error) sends uv to pip, as before; a hash that does not
match stops."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

PYPI = "https://pypi.org/simple/"
# pip's options that name a place to look; any other option in the app's pip args sends uv to pip.
PLACES = {"--index-url": "index", "-i": "index", "--extra-index-url": "extra", "--find-links": "links", "-f": "links"}
# The legacy manylinux names and the glibc each stands for (PEP 600).
LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PERENNIAL = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)\Z")


class HashMismatch(Exception):
    """The file's sha256 is not the one its index page names: never unpacked, never retried with pip."""


def places(pip_args):
    """Where pip would look for a wheel, in order, as [(kind, location)] with kind "index" or "links";
    None when the args hold anything else (then pip, which honours every option, installs uv)."""
    index, extra, links, no_index = None, [], [], False
    rest = list(pip_args)
    while rest:
        arg = rest.pop(0)
        if arg == "--no-index":
            no_index = True
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in PLACES or (not eq and not rest):
            return None
        value = value if eq else rest.pop(0)
        kind = PLACES[name]
        if kind == "index":
            index = value
        else:
            (extra if kind == "extra" else links).append(value)
    indexes = [] if no_index else [index or PYPI] + extra
    found = [("index", url) for url in indexes] + [("links", place) for place in links]
    # pip ignores a plain-http place that is not this machine (unless --trusted-host, which goes to pip):
    # read nothing from one either, and let pip say so.
    return None if any(not secure(place) for _kind, place in found) else found


def secure(place):
    """https, a file, or plain http to this machine only (pip's own rule without --trusted-host)."""
    if not place.startswith("http://"):
        return True
    host = urlsplit(place).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1")


def glibc_version(confstr=os.confstr):
    """(major, minor) of the host's glibc, or None (musl, or not Linux)."""
    try:
        name, _, version = (confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
        major, minor = version.split(".")[:2]
        return (int(major), int(minor)) if name == "glibc" else None
    except (ValueError, OSError):
        return None


def platform_fits(tag, machine, glibc):
    match = _PERENNIAL.match(tag)
    if match:
        needs, arch = (int(match.group(1)), int(match.group(2))), match.group(3)
    else:
        legacy, _, arch = tag.partition("_")
        needs = LEGACY.get(legacy)
    return needs is not None and glibc is not None and arch == machine and needs <= glibc


def fits(filename, version, machine, glibc):
    """Whether filename is uv <version>'s wheel for this host: py3, no ABI, a manylinux tag it can run."""
    if not filename.endswith(".whl"):
        return False
    parts = filename[:-len(".whl")].split("-")
    if len(parts) != 5 or parts[0] != "uv" or parts[1] != version:
        return False
    python, abi, platforms = parts[2:]
    return "py3" in python.split(".") and abi == "none" and any(
        platform_fits(tag, machine, glibc) for tag in platforms.split("."))


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.hrefs.append(href)


def page_links(page, base):
    """(filename, url, sha256 or None) of every link on a PEP 503 project page or a find-links page."""
    parser = _Anchors()
    parser.feed(page)
    found = []
    for href in parser.hrefs:
        url, _, fragment = urljoin(base, href).partition("#")
        digest = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
        found.append((unquote(url.rstrip("/").rsplit("/", 1)[-1]), url, digest))
    return found


def local_path(place):
    """The path of a place on this machine (a folder, a file, a file:// URL), or None for a URL."""
    if place.startswith("file://"):
        return unquote(place[len("file://"):])
    return None if "://" in place else place


def choose(places_, version, machine, glibc, read_page, list_folder):
    """The first fitting (filename, url or path, sha256 or None), looking where pip would; None if none fits."""
    for kind, place in places_:
        folder = local_path(place) if kind == "links" else None
        if folder is not None:
            found = [(name, os.path.join(folder, name), None) for name in list_folder(folder)]
        else:
            url = place.rstrip("/") + "/uv/" if kind == "index" else place
            found = page_links(read_page(url), url)
        for name, where, digest in found:
            if fits(name, version, machine, glibc):
                return name, where, digest
    return None


def unpack(wheel, version, digest, program):
    """Check the wheel's sha256 (when its page named one) and write its uv binary to program."""
    if digest:
        seen = hashlib.sha256()
        with open(wheel, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                seen.update(block)
        if seen.hexdigest() != digest.lower():
            raise HashMismatch("uv %s's wheel has sha256 %s, but its index page says %s" % (
                version, seen.hexdigest(), digest))
    os.makedirs(os.path.dirname(program), 0o755, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive, archive.open("uv-%s.data/scripts/uv" % version) as source:
        with open(program + ".part", "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    os.chmod(program + ".part", 0o755)
    os.replace(program + ".part", program)
    return program


def download(url, into, read_url):
    """The file at url, saved under a new name in the folder into (which it makes); the caller removes it."""
    os.makedirs(into, 0o755, exist_ok=True)
    fd, path = tempfile.mkstemp(suffix=".whl", dir=into)
    with os.fdopen(fd, "wb") as target, read_url(url) as source:
        shutil.copyfileobj(source, target, 1 << 20)
    return path
