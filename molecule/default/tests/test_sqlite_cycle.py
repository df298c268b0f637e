"""Issue 21 on sqlite: the sample app on the test environment (prod settings, its database in
shared/data/db.sqlite3). A deploy whose release adds a reversible migration (fixture branch
migration-notes) backs the database up first; a code-only deploy (migration-notes-code) does not; a
plain rollback across the migration is refused; with unapply the schema is the older release's again;
a restore brings back a row deleted after the backup. Tests run in file order, after test_deploy.py and
on test's turn only; they leave test serving the release and schema it served before (test_zz's README
commands then deploy develop)."""
import json
import re

from deploytest import backups_of, current_release, env_of, flat, health, http, only_on, playbook, refs, state

ROW = "row written before the migration"
NOTICE = "notice from migration 0002"
SEEN = {}  # what the earlier steps saw (release names, the backup), for the later ones


def database(host):
    return env_of(host)["path"] + "/shared/data/db.sqlite3"


def query(host, sql, path=None):
    """The rows of one SQL statement on a sqlite file of the host (the host's python3, as the account)."""
    script = ("import json, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); rows = c.execute(sys.argv[2]).fetchall(); "
              "c.commit(); print(json.dumps(rows))")
    out = host.run("python3 -c %s %s %s", script, path or database(host), sql)
    assert out.rc == 0, out.stderr
    return [tuple(row) for row in json.loads(out.stdout)]


def applied(host, path=None):
    return [n for n, in query(host, "SELECT name FROM django_migrations WHERE app = 'status' ORDER BY name", path)]


def tables(host, path=None):
    return {n for n, in query(host, "SELECT name FROM sqlite_master WHERE type = 'table'", path)}


def notes(host, path=None):
    return [t for t, in query(host, "SELECT text FROM status_note ORDER BY id", path)]


def page_value(host, key):
    found = re.search(r'<code id="%s">([^<]*)</code>' % key, http(host, "/").stdout)
    return found.group(1) if found else None


def test_a_deploy_that_migrates_backs_the_sqlite_database_up_first_and_lists_the_backup_beside_its_release(host):
    only_on(host, "test", "test's sqlite database")
    name, folder = host.backend.get_hostname(), env_of(host)["path"] + "/shared/backups"
    # Whatever test serves now (test_deploy.py's last rolling deploy leaves r3) knows only 0001.
    SEEN["before"], SEEN["served"] = current_release(host), health(host)["revision"]
    assert applied(host) == ["0001_initial"]
    query(host, f"INSERT INTO status_note (text, created_at) VALUES ('{ROW}', '2026-01-01 00:00:00')")
    before = backups_of(host)
    done = playbook("deploy.yml", name, "-e", "revision=migration-notes")
    assert done.returncode == 0, done.output[-3000:]
    live = SEEN["migrated"] = current_release(host)
    assert live != SEEN["before"] and health(host)["revision"] == refs()["migration-notes"]
    assert applied(host) == ["0001_initial", "0002_notice"] and page_value(host, "notices") == NOTICE
    fresh = {n: v for n, v in backups_of(host).items() if n not in before}
    assert len(fresh) == 1, (before, fresh)  # whole: no dot-name or work folder left beside it
    (backup, (mode, size)), = fresh.items()
    assert re.fullmatch(re.escape(live) + r"-\d{8}T\d{6}Z\.sqlite3\.gz", backup) and mode == "600" and size > 0, fresh
    out = flat(done.output)
    assert f"backup before migrate: {folder}/{backup} (" in out, out[out.find("django:"):][:1500]
    SEEN["backup"] = backup
    # The backup is the database from before 0002: the row written before the deploy, no notices table.
    scratch = "/tmp/sqlite-cycle-scratch.sqlite3"
    assert host.run(f"gunzip -c {folder}/{backup} > {scratch}").rc == 0
    try:
        assert ROW in notes(host, scratch) and applied(host, scratch) == ["0001_initial"]
        assert "status_notice" not in tables(host, scratch) and "status_notice" in tables(host)
    finally:
        host.run(f"rm -f {scratch}")
    # releases.yml lists it beside the release that made it (before the next release's line).
    listing = flat(playbook("releases.yml", name).stdout)
    at = listing.index(live + " good LIVE")
    shown = listing.index(f"backup {backup} (", at)
    assert not re.search(r"\d{8}T\d{6}Z (good|bad|unfinished)", listing[at + len(live):shown]), listing[-3000:]


def test_a_plain_rollback_across_the_migration_is_refused_naming_it_and_the_two_ways_on(host):
    only_on(host, "test", "test's sqlite database")
    name, live, before = host.backend.get_hostname(), current_release(host), state(host)
    assert live == SEEN.get("migrated"), "runs after the deploy of migration-notes"
    done = playbook("rollback.yml", name)
    assert done.returncode != 0
    out = flat(done.output)
    assert f"the database has migrations that {SEEN['before']} does not know" in out, out[-3000:]
    assert "status.0002_notice" in out and "Nothing was changed" in out
    assert "rollback.yml -l test -e rollback_migrations=code-only" in out
    assert "rollback.yml -l test -e rollback_migrations=unapply" in out
    assert current_release(host) == live and state(host) == before
    assert applied(host) == ["0001_initial", "0002_notice"] and health(host)["revision"] == refs()["migration-notes"]


def test_a_code_only_deploy_after_the_migration_makes_no_backup_in_four_round_trips(host):
    only_on(host, "test", "test's sqlite database")
    name, before = host.backend.get_hostname(), backups_of(host)
    done = playbook("deploy.yml", name, "-e", "revision=migration-notes-code")
    assert done.returncode == 0, done.output[-3000:]
    assert health(host)["revision"] == refs()["migration-notes-code"] and current_release(host) != SEEN["migrated"]
    assert backups_of(host) == before and "backup before migrate" not in flat(done.output)
    assert done.calls == {name: 4}, done.calls  # the code-only budget: Django's plan said nothing to migrate
    assert applied(host) == ["0001_initial", "0002_notice"]


def test_rollback_with_unapply_brings_the_older_schema_back_after_a_fresh_backup_and_serves_the_older_commit(host):
    # Named: a plain rollback from the code-only release would go to migration-notes (same schema).
    only_on(host, "test", "test's sqlite database")
    name, before = host.backend.get_hostname(), backups_of(host)
    done = playbook("rollback.yml", name, "-e", f"release={SEEN['before']}", "-e", "rollback_migrations=unapply")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == SEEN["before"] and health(host)["revision"] == SEEN["served"]
    assert applied(host) == ["0001_initial"] and "status_notice" not in tables(host)
    assert ROW in notes(host) and page_value(host, "notices") is None
    fresh = {n: v for n, v in backups_of(host).items() if n not in before}
    assert len(fresh) == 1 and next(iter(fresh)).endswith(".sqlite3.gz"), (before, fresh)
    (taken, (mode, _)), = fresh.items()
    assert mode == "600"
    # Taken just before the unapply: it still holds 0002's table and row.
    scratch = "/tmp/sqlite-cycle-scratch.sqlite3"
    assert host.run(f"gunzip -c {env_of(host)['path']}/shared/backups/{taken} > {scratch}").rc == 0
    try:
        assert applied(host, scratch) == ["0001_initial", "0002_notice"]
        assert query(host, "SELECT text FROM status_notice", scratch) == [(NOTICE,)]
    finally:
        host.run(f"rm -f {scratch}")


def test_restore_brings_back_a_row_deleted_after_the_backup_and_the_service_is_healthy(host):
    only_on(host, "test", "test's sqlite database")
    name, backup = host.backend.get_hostname(), SEEN["backup"]  # taken before 0002 by the first deploy
    query(host, f"DELETE FROM status_note WHERE text = '{ROW}'")
    assert ROW not in notes(host)
    wrong = playbook("restore.yml", name, "-e", f"backup={backup}", "-e", "confirm=prod")
    assert wrong.returncode != 0 and "-e confirm=test. Nothing was changed." in flat(wrong.output), wrong.output[-3000:]
    assert ROW not in notes(host)
    done = playbook("restore.yml", name, "-e", f"backup={backup}", "-e", "confirm=test")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert f"Restored {backup} in" in out and "GET /health answered 200" in out, out[-3000:]
    assert ROW in notes(host) and applied(host) == ["0001_initial"] and "status_notice" not in tables(host)
    assert health(host) == {"status": "ok", "revision": SEEN["served"], "mode": "prod"}
    assert page_value(host, "note-count") == str(len(notes(host)))  # the service reads the restored file
    assert current_release(host) == SEEN["before"]
