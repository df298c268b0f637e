"""The bind check the deploy (deploy_begin, stage 1) and the doctor share (module_utils/binds.py):
given what the host reports, is the wanted bind usable, ours and in need of repair, or refused
with the knob and the fix? Pure: no host, milliseconds."""

import socket

from ansible_collections.hknweb.deploy.plugins.module_utils import binds

PROD_PATH, TEST_PATH = "/home/hkn/hknweb/prod", "/home/hkn/hknweb/test"
PROD_SOCK = "unix:/srv/apps/hkn/hkn.sock"
PROD_RECORD = dict(environment="prod", deploy_path=PROD_PATH, unit="hknweb.service", socket_unit="hknweb.socket",
                   bind=PROD_SOCK)
PROD_UNIT = dict(unit="hknweb.socket", listen=["/srv/apps/hkn/hkn.sock"], active=True, deploy_path=PROD_PATH)
TEST_UNIT = dict(unit="hknweb-test.socket", listen=["127.0.0.1:8001"], active=True, deploy_path=TEST_PATH)
FREE_FOLDER = dict(folder=dict(exists=True, writable=True), path=dict(kind="absent", answers=False))


def verdict_for(bind, facts, unit="hknweb-test.service", socket_unit="hknweb-test.socket", path=TEST_PATH):
    return binds.decide(bind, unit, socket_unit, path, facts, user="hkn")


def test_another_environments_socket_is_refused_from_its_record_naming_the_knob_and_the_fix():
    verdict = verdict_for(PROD_SOCK, dict(FREE_FOLDER, records=[PROD_RECORD]))
    assert not verdict.ok
    text = verdict.refusal()
    assert text.startswith("app_service_bind: the bind unix:/srv/apps/hkn/hkn.sock is prod (%s)'s" % PROD_PATH)
    assert "Fix: give this environment its own app_service_bind" in text and text.endswith("Nothing was changed.")


def test_a_socket_unit_deployed_before_the_registry_is_seen_on_the_host():
    # No record at all: prod's socket unit (its file, or what systemd says it listens on) holds the path.
    verdict = verdict_for(PROD_SOCK, dict(FREE_FOLDER, records=[], sockets=[PROD_UNIT, TEST_UNIT]))
    assert not verdict.ok and verdict.variable == "app_service_bind"
    assert verdict.problem == "/srv/apps/hkn/hkn.sock is held by the socket unit hknweb.socket (%s)" % PROD_PATH


def test_a_port_held_by_another_unit_on_a_wildcard_address_collides():
    other = dict(unit="roll-1.socket", listen=["0.0.0.0:8101"], active=False, deploy_path="/home/hkn/roll-1")
    assert not verdict_for("127.0.0.1:8101", dict(records=[], sockets=[other])).ok
    assert verdict_for("127.0.0.1:8102", dict(records=[], sockets=[other])).ok


def test_another_environments_unit_name_is_refused_naming_app_service_name():
    verdict = verdict_for("127.0.0.1:8050", dict(records=[PROD_RECORD]), unit="hknweb.service", socket_unit="hknweb.socket")
    assert not verdict.ok and verdict.variable == "app_service_name"
    # A unit file of that name that runs another deploy path (deployed before the registry existed).
    verdict = verdict_for("127.0.0.1:8050", dict(records=[], unit_path=PROD_PATH), unit="hknweb.service",
                   socket_unit="hknweb.socket")
    assert not verdict.ok and verdict.refusal().startswith("app_service_name: the unit hknweb.service already runs")


def test_our_own_live_socket_is_ours_and_one_that_no_longer_answers_is_repaired():
    facts = dict(records=[], sockets=[PROD_UNIT], own_answers=True)
    verdict = verdict_for(PROD_SOCK, facts, unit="hknweb.service", socket_unit="hknweb.socket", path=PROD_PATH)
    assert verdict.ok and not verdict.repair and verdict.detail == "hknweb.socket holds /srv/apps/hkn/hkn.sock (ours)"
    facts["own_answers"] = False  # its path was removed, or another unit rebound it and went away
    verdict = verdict_for(PROD_SOCK, facts, unit="hknweb.service", socket_unit="hknweb.socket", path=PROD_PATH)
    assert verdict.ok and verdict.repair


def test_a_missing_or_unwritable_socket_folder_is_named_as_such_not_as_a_held_address():
    missing = verdict_for("unix:/srv/apps/nobody/x.sock", dict(records=[], folder=dict(exists=False, writable=False)))
    assert not missing.ok and missing.problem == "the socket folder /srv/apps/nobody does not exist"
    locked = verdict_for("unix:/srv/apps/root/x.sock", dict(records=[], folder=dict(exists=True, writable=False)))
    assert not locked.ok and locked.problem == "the socket folder /srv/apps/root is not writable by hkn"
    assert "holds" not in locked.refusal() and "app_service_bind" in locked.refusal()


def test_a_path_that_is_a_file_or_another_programs_socket_is_refused_and_a_stale_socket_is_free():
    base = dict(records=[], folder=dict(exists=True, writable=True))
    assert not verdict_for("unix:/srv/apps/hkn/x.sock", dict(base, path=dict(kind="other", answers=False))).ok
    assert not verdict_for("unix:/srv/apps/hkn/x.sock", dict(base, path=dict(kind="socket", answers=True))).ok
    assert verdict_for("unix:/srv/apps/hkn/x.sock", dict(base, path=dict(kind="socket", answers=False))).ok


def test_a_port_another_program_holds_or_a_privileged_port_is_refused_with_its_own_cause():
    held = verdict_for("127.0.0.1:8099", dict(records=[], port="EADDRINUSE"))
    assert held.problem == "another program listens on 127.0.0.1:8099"
    assert "ports below 1024" in verdict_for("127.0.0.1:80", dict(records=[], port="EACCES")).problem
    assert verdict_for("127.0.0.1:8099", dict(records=[], port=None)).ok


def test_moving_our_bind_checks_the_new_address_not_our_old_one():
    # Our socket unit holds 8001; the new bind 8099 is held by another program: refused.
    verdict = verdict_for("127.0.0.1:8099", dict(records=[], sockets=[TEST_UNIT], port="EADDRINUSE"))
    assert not verdict.ok and "8099" in verdict.problem


def test_addresses_parse_as_systemd_and_the_knob_write_them():
    assert binds.parse("unix:/srv/apps/hkn//hkn.sock") == ("unix", "/srv/apps/hkn/hkn.sock")
    assert binds.parse("/srv/apps/hkn/hkn.sock") == binds.parse("unix:/srv/apps/hkn/hkn.sock")
    assert binds.parse("[::1]:8000") == ("tcp", "::1", 8000)
    assert binds.parse("8000") == ("tcp", "", 8000)
    assert binds.parse("nowhere") is None
    assert binds.same_address(binds.parse("8000"), binds.parse("127.0.0.1:8000"))


def test_the_host_reading_sees_a_port_held_and_a_socket_answering(tmp_path):
    # The thin host side, on this machine: a listening TCP port and a listening unix socket.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    path = str(tmp_path / "app.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(path)
    unix.listen(1)
    try:
        assert binds.port_error(("tcp", "127.0.0.1", port)) == "EADDRINUSE"
        assert binds.path_state(path) == dict(kind="socket", answers=True)
        (tmp_path / "file").write_text("x")
        assert binds.path_state(str(tmp_path / "file"))["kind"] == "other"
        facts = binds.observe("unix:" + path, "", "", str(tmp_path / "env"), home=str(tmp_path))
        assert facts["folder"] == dict(exists=True, writable=True) and facts["path"]["answers"]
    finally:
        server.close()
        unix.close()
    assert binds.port_error(("tcp", "127.0.0.1", port)) is None
