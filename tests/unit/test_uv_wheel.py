"""uv_wheel: where pip would look for uv, which file fits the host, and reading the binary out of it.

The fetches are real: a folder of files, and a PEP 503 page and a wheel served over HTTP on 127.0.0.1."""

import hashlib
import http.server
import os
import threading
import urllib.request
import zipfile

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import uv_wheel

X86 = "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
MUSL = "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl"
ARM = "uv-0.13.9-py3-none-manylinux_2_28_aarch64.whl"


@pytest.mark.parametrize("args, places", [
    ([], [("index", uv_wheel.PYPI)]),
    (["--index-url", "http://127.0.0.1:3141/simple/"], [("index", "http://127.0.0.1:3141/simple/")]),
    (["-i", "https://i/simple/", "--extra-index-url=http://localhost/simple/"], [("index", "https://i/simple/"),
                                                                                  ("index", "http://localhost/simple/")]),
    (["--no-index", "--find-links", "/srv/wheels"], [("links", "/srv/wheels")]),
    (["--no-index", "-f", "file:///srv/wheels", "--find-links=https://l/"], [("links", "file:///srv/wheels"),
                                                                             ("links", "https://l/")]),
])
def test_the_places_are_where_pip_would_look_in_its_order(args, places):
    assert uv_wheel.places(args) == places


@pytest.mark.parametrize("args", [["--trusted-host", "i"], ["--index-url"], ["--pre"], ["--cert", "/c.pem"],
                                  ["--index-url", "http://mirror.example/simple/"],  # pip ignores plain http there
                                  ["--no-index", "-f", "http://wheels.example/"]])
def test_any_other_pip_option_leaves_uv_to_pip(args):
    assert uv_wheel.places(args) is None


def test_glibc_version_reads_confstr_and_is_none_on_musl_or_without_it():
    assert uv_wheel.glibc_version(lambda name: "glibc 2.36") == (2, 36)
    assert uv_wheel.glibc_version(lambda name: None) is None

    def missing(name):
        raise ValueError(name)
    assert uv_wheel.glibc_version(missing) is None


@pytest.mark.parametrize("name, machine, glibc, fits", [
    (X86, "x86_64", (2, 36), True),
    (X86, "x86_64", (2, 17), True),
    (X86, "x86_64", (2, 12), False),  # older than manylinux2014 asks
    (X86, "aarch64", (2, 36), False),
    (MUSL, "x86_64", (2, 36), False),
    (ARM, "aarch64", (2, 28), True),
    ("uv-0.13.9-py3-none-manylinux1_x86_64.whl", "x86_64", (2, 31), True),
    (X86.replace("0.13.9", "0.13.8"), "x86_64", (2, 36), False),
    (X86.replace("py3-none", "cp311-cp311"), "x86_64", (2, 36), False),
    ("uv-0.13.9.tar.gz", "x86_64", (2, 36), False),
    (X86, "x86_64", None, False),
])
def test_only_this_versions_manylinux_wheel_for_the_machine_and_glibc_fits(name, machine, glibc, fits):
    assert uv_wheel.fits(name, "0.13.9", machine, glibc) is fits


def test_page_links_resolve_relative_hrefs_and_read_the_sha256_fragment():
    page = ('<html><body><a href="../../files/%s#sha256=ABC">x</a><br><a href="%s">m</a>'
            '<a name="nohref">n</a></body></html>' % (X86, MUSL))
    assert uv_wheel.page_links(page, "http://i/simple/uv/") == [
        (X86, "http://i/files/" + X86, "ABC"), (MUSL, "http://i/simple/uv/" + MUSL, None)]


def make_wheel(folder, name=X86, binary=b"#!/bin/sh\necho uv 0.13.9\n"):
    path = os.path.join(folder, name)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("uv-0.13.9.data/scripts/uv", binary)
        archive.writestr("uv-0.13.9.data/scripts/uvx", b"#!/bin/sh\n")
        archive.writestr("uv-0.13.9.dist-info/METADATA", "Name: uv\nVersion: 0.13.9\n")
    return path


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_from_a_folder_the_fitting_wheel_is_chosen_and_only_its_binary_unpacked(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(str(wheels), MUSL)
    make_wheel(str(wheels), X86)
    chosen = uv_wheel.choose([("links", str(wheels))], "0.13.9", "x86_64", (2, 36), None, os.listdir)
    assert chosen == (X86, str(wheels / X86), None)
    home = tmp_path / "uv-0.13.9"
    program = uv_wheel.unpack(chosen[1], "0.13.9", None, str(home / "bin" / "uv"))
    assert sorted(os.listdir(home / "bin")) == ["uv"] and os.access(program, os.X_OK)
    assert os.popen(program).read() == "uv 0.13.9\n"


class Index(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def index(tmp_path):
    """A PEP 503 index on 127.0.0.1: /simple/uv/ links the wheel in /files/ with its sha256."""
    (tmp_path / "files").mkdir()
    (tmp_path / "simple" / "uv").mkdir(parents=True)
    wheel = make_wheel(str(tmp_path / "files"))
    page = '<a href="/files/%s#sha256=%s">%s</a>' % (X86, sha256(wheel), X86)
    (tmp_path / "simple" / "uv" / "index.html").write_text(page)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Index(*a, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/simple/" % server.server_address[1], tmp_path, wheel
    server.shutdown()


def read_page(url):
    with urllib.request.urlopen(url) as answer:
        return answer.read().decode()


def test_from_an_index_the_wheel_is_downloaded_its_hash_checked_and_unpacked(index, tmp_path):
    url, _, wheel = index
    name, where, digest = uv_wheel.choose(uv_wheel.places(["--index-url", url]), "0.13.9", "x86_64", (2, 36),
                                          read_page, os.listdir)
    assert name == X86 and where.endswith("/files/" + X86) and digest == sha256(wheel)
    home = tmp_path / "home"
    downloaded = uv_wheel.download(where, str(home), urllib.request.urlopen)
    program = uv_wheel.unpack(downloaded, "0.13.9", digest, str(home / "bin" / "uv"))
    assert os.popen(program).read() == "uv 0.13.9\n"


def test_a_wheel_whose_hash_is_not_the_pages_is_never_unpacked(index, tmp_path):
    url, root, wheel = index
    make_wheel(str(root / "files"), binary=b"#!/bin/sh\necho tampered\n")  # the page still names the old hash
    _name, where, digest = uv_wheel.choose([("index", url)], "0.13.9", "x86_64", (2, 36), read_page, os.listdir)
    home = tmp_path / "home"
    downloaded = uv_wheel.download(where, str(home), urllib.request.urlopen)
    with pytest.raises(uv_wheel.HashMismatch, match="index page says " + digest):
        uv_wheel.unpack(downloaded, "0.13.9", digest, str(home / "bin" / "uv"))
    assert not (home / "bin").exists()


def test_no_fitting_wheel_anywhere_is_none(tmp_path):
    make_wheel(str(tmp_path), MUSL)
    assert uv_wheel.choose([("links", str(tmp_path))], "0.13.9", "x86_64", (2, 36), None, os.listdir) is None
