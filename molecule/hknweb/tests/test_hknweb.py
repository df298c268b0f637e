"""The hknweb shape on an apphost replica (bullseye, the OCF home /home/h/hk/hkn, MariaDB as host
`mysql`), through the repository's own group_vars: prod on MariaDB (lock-exact by uv with the group
prod, the set checked against Poetry's, mysqlclient built on the host, ~/.my.cnf from vault, read
through the release's "~/.my.cnf" link), test in dev mode on sqlite in shared/. Deploy, a second
deploy with a new migration, a rollback; failures that name their cause and what is live; test
deploys that touch nothing of prod's, and a test given prod's database or static root refused before
any change."""
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from deploytest import (HOME, USER, as_root, backups_of, canonical, container, current_release, env_name, env_of, flat,
                        installed_distributions, only_on, playbook, refs)

SCENARIO = Path(__file__).resolve().parents[1]
HOST = "hkn.eecs.berkeley.edu"  # group_vars/all.yml's health-check Host, the only one prod allows
SOCKET = {"prod": f"/srv/apps/{USER}/{USER}.sock", "test": f"/srv/apps/{USER}/test.sock"}
MARIADB_ONLY = "row only MariaDB holds"
DATABASE = "hknweb"  # the real settings' NAME, on HOST mysql
STATIC_ROOT = "/home/h/hk/hkn/public_html/hknweb/static/"  # prod's, hard-coded in the real settings
SQLITE_ONLY = "row written into shared/db.sqlite3"


def page(host, path="/"):
    """GET path through the environment's socket with the Host hkn's settings allow; (status, body)."""
    out = host.run(f"curl -sS --max-time 10 -o /tmp/page.$$ -w '%{{http_code}}' --unix-socket "
                   f"{SOCKET[env_name(host)]} -H 'Host: {HOST}' http://localhost{path}; cat /tmp/page.$$; rm -f /tmp/page.$$")
    assert out.rc == 0, out.stderr
    return int(out.stdout[:3]), out.stdout[3:]


def shown(host):
    status, body = page(host)
    assert status == 200, body[:2000]
    values = dict(re.findall(r'<code id="([a-z-]+)">([^<]*)</code>', body))
    values["notes"] = re.findall(r'<li class="note">([^<]*)</li>', body)
    return values


def vault_plaintext():
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))
    data = yaml.load((SCENARIO / "host_vars" / "hknweb-prod" / "10-hknweb.yml").read_text(), Loader=Loader)
    secret = VaultSecret((SCENARIO / "vault-password.TEST-ONLY.txt").read_bytes().strip())
    return VaultLib([("default", secret)]).decrypt(data["vault_my_cnf"]).decode()


def deploy(host, *extra):
    done = playbook("deploy.yml", host.backend.get_hostname(), *extra)
    return done, flat(done.output)


# --- prod: lock-exact by uv, mysqlclient, MariaDB through ~/.my.cnf -------------------------------------


def test_prod_serves_v1_with_data_read_from_mariadb(host):
    only_on(host, "prod", "prod's history")
    values = shown(host)
    assert values["revision"] == refs()["v1"] and values["mode"] == "prod" and values["vendor"] == "mysql"
    assert values["notes"] == ["note from migration 0001"]
    # A row only MariaDB holds (written by root with the mysql client) shows up on the page.
    as_root("mysql", DATABASE, "-e", f"INSERT INTO notes_note (text) VALUES ('{MARIADB_ONLY}')")
    assert shown(host)["notes"] == ["note from migration 0001", MARIADB_ONLY]


def test_prod_venv_is_lock_exact_by_uv_on_python39_with_mysqlclient_built_on_the_host(host):
    only_on(host, "prod", "prod's venv")
    venv = env_of(host)["path"] + "/current/venv"
    out = host.run(f"{venv}/bin/python -c 'import sys, MySQLdb, django, gunicorn; "
                   "print(sys.version_info[:2], MySQLdb.version_info[:3], django.__version__, gunicorn.__version__)'")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "(3, 9) (2, 2, 7) 4.2.30 21.2.0"
    # group_vars/all.yml's strategy lock: the list exported from poetry.lock on the controller, every line
    # hashed, installed by the deploy's own uv; no Poetry on the host at all.
    listed = host.file(f"{venv}/.install-list.txt").content_string
    assert "mysqlclient==2.2.7 \\" in listed and listed.count("==") == 7 and "--hash=sha256:" in listed
    tools = env_of(host)["path"] + "/tools"
    assert host.run(f"{tools}/uv-0.13.9/bin/uv --version").stdout.startswith("uv 0.13.9")
    # uv's binary read out of the wheel its index page links (sha256 checked), with no pip run: no
    # .dist-info, no uvx beside it.
    assert host.run(f"cd {tools}/uv-0.13.9 && find . | sort").stdout.split() == [".", "./.complete", "./bin", "./bin/uv"]
    assert host.run(f"ls -d {tools}/poetry-* 2>/dev/null").stdout == ""
    assert host.file(f"{tools}/uv-cache").is_directory
    log = as_root("journalctl", "-u", "wheel-index.service", "--no-pager", "-o", "cat").stdout
    assert "GET /mysqlclient-2.2.7.tar.gz" in log  # the sdist, built on the host
    assert "GET /simple/uv/" in log and "GET /uv-0.13.9-py3-none-manylinux" in log  # uv's wheel, from the index
    # prod's settings have an absolute STATIC_ROOT in the OCF home: collectstatic filled it.
    assert host.file(STATIC_ROOT + "notes/style.css").is_file


def test_my_cnf_comes_from_the_vault_string_and_is_never_printed(host):
    only_on(host, "prod", "prod's credentials")
    plaintext = vault_plaintext()
    assert "password = " in plaintext
    assert "molecule-only-mariadb-password" not in (SCENARIO / "host_vars" / "hknweb-prod" / "10-hknweb.yml").read_text()
    cnf = host.file(f"{HOME}/.my.cnf")
    assert cnf.mode == 0o600 and cnf.user == USER and cnf.content_string == plaintext
    # The settings' "~/.my.cnf" is opened relative to the release: app_django_home_option_file
    # (group_vars/all.yml) linked it to the home's file.
    link = host.file(env_of(host)["path"] + "/current/~/.my.cnf")
    assert link.is_symlink and link.linked_to == f"{HOME}/.my.cnf"
    done, out = deploy(host, "-v")  # the live commit: writes nothing new, prints no secret
    assert done.returncode == 0, out[-3000:]
    assert "molecule-only-mariadb-password" not in done.output


def test_prod_second_deploy_runs_the_new_migration(host):
    only_on(host, "prod", "prod's history")
    before = current_release(host)
    done, out = deploy(host, "-e", "revision=master")
    assert done.returncode == 0, out[-3000:]
    note_time("MariaDB dump (prod, before 0002)", out)
    assert current_release(host) != before
    values = shown(host)
    assert values["revision"] == refs()["master"]
    assert values["notes"] == ["note from migration 0001", MARIADB_ONLY, "note from migration 0002"]


def note_time(what, out):
    """docs/benchmarks.md's dump and restore times: with HKNWEB_DB_TIMES set, the figures a run printed
    are appended there (one line each)."""
    found = re.findall(r"(backup before migrate: \S+ \(\d+ bytes, [0-9.]+ s\)|Restored \S+ in [0-9.]+ s)", out)
    if os.environ.get("HKNWEB_DB_TIMES") and found:
        with open(os.environ["HKNWEB_DB_TIMES"], "a") as handle:
            handle.write("%s: %s\n" % (what, found[0]))


def test_the_migration_was_preceded_by_a_backup_that_restores_the_rows_from_before(host):
    only_on(host, "prod", "prod's backups")
    found = backups_of(host)
    live = current_release(host)
    assert list(found) == [name for name in found if name.startswith(live + "-") and name.endswith(".sql.gz")], found
    assert len(found) == 1 and list(found.values())[0][0] == "600", found  # whole (no dot-name left), 0600
    path = env_of(host)["path"] + "/shared/backups/" + next(iter(found))
    as_root("mysql", "-e", "DROP DATABASE IF EXISTS scratch; CREATE DATABASE scratch")
    restore = as_root("sh", "-c", f"zcat {path} | mysql scratch")
    assert restore.returncode == 0, restore.stderr
    rows = as_root("mysql", "-N", "scratch", "-e", "SELECT text FROM notes_note ORDER BY id").stdout.split("\n")
    assert rows[:2] == ["note from migration 0001", MARIADB_ONLY] and "note from migration 0002" not in rows
    applied = as_root("mysql", "-N", "scratch", "-e", "SELECT name FROM django_migrations WHERE app='notes'").stdout
    assert applied.split() == ["0001_initial"]
    as_root("mysql", "-e", "DROP DATABASE scratch")
    # The release's schema record: what its code knows, what the database had applied before and after.
    record = json.loads(host.file(env_of(host)["path"] + f"/releases/{live}/.schema.json").content_string)
    assert record["leaves"]["notes"] == ["0002_second_note"]
    assert ["notes", "0002_second_note"] not in record["applied_before"]
    assert ["notes", "0002_second_note"] in record["applied_after"]


def notes_migrations(database=DATABASE):
    return as_root("mysql", "-N", database, "-e",
                   "SELECT name FROM django_migrations WHERE app='notes' ORDER BY name").stdout.split()


def test_prod_rollback_across_the_migration_is_refused_by_default_with_the_list_and_the_two_ways(host):
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    done = playbook("rollback.yml", "hknweb-prod")
    out = flat(done.output)
    assert done.returncode != 0
    assert "the database has migrations that" in out and "notes.0002_second_note" in out, out[-3000:]
    assert "-e rollback_migrations=code-only" in out and "-e rollback_migrations=unapply" in out
    assert current_release(host) == live and shown(host)["revision"] == refs()["master"]
    assert notes_migrations() == ["0001_initial", "0002_second_note"]


def test_prod_rollback_with_unapply_brings_the_schema_back_and_serves_the_previous_commit(host):
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    before = backups_of(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", "rollback_migrations=unapply")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) != live
    assert notes_migrations() == ["0001_initial"]  # django_migrations is v1's again
    values = shown(host)
    assert values["revision"] == refs()["v1"]
    assert MARIADB_ONLY in values["notes"]  # the data stays in MariaDB (0002's reverse is a no-op)
    fresh = set(backups_of(host)) - set(before)
    assert len(fresh) == 1 and next(iter(fresh)).startswith(live + "-"), (before, fresh)  # taken just before


def still_live(host, live, out):
    """A failed deploy said what is live, and it is: the release before, serving v1."""
    assert f"Live now: {live} ({refs()['v1'][:12]}" in out, out[-3000:]
    assert current_release(host) == live and shown(host)["revision"] == refs()["v1"]


def test_a_failing_migration_names_its_cause_and_what_is_live(host):
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    done, out = deploy(host, "-e", "revision=broken-migration")
    assert done.returncode != 0
    assert "failed at stage 'django'" in out and "manage.py migrate --noinput failed" in out, out[-3000:]
    assert "RuntimeError: migration 0003_broken fails on purpose" in out, out[-3000:]
    still_live(host, live, out)


def test_a_backup_that_fails_stops_the_deploy_before_migrate(host):
    # The backups folder cannot be written (as a full disk would refuse it): migrate must not run.
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    folder = env_of(host)["path"] + "/shared/backups"
    before = backups_of(host)
    host.run(f"chmod 500 {folder}")
    try:
        done, out = deploy(host, "-e", "revision=broken-migration")
    finally:
        host.run(f"chmod 700 {folder}")
    assert done.returncode != 0
    assert "Backup before migrate failed: [Errno 13] Permission denied" in out, out[-3000:]
    assert "migrate did not run" in out and "manage.py migrate --noinput failed" not in out
    assert "molecule-only-mariadb-password" not in done.output
    assert backups_of(host) == before  # nothing half-written left
    still_live(host, live, out)


def test_a_lock_pinning_a_version_no_index_has_stops_the_build_and_names_it(host):
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    done, out = deploy(host, "-e", "revision=broken-lock")
    assert done.returncode != 0
    assert "failed at stage 'dependencies'" in out and "uv pip install --require-hashes --no-deps" in out, out[-3000:]
    assert "sqlparse==0.5.999" in out, out[-3000:]
    still_live(host, live, out)


def test_a_tampered_hash_in_the_lock_stops_the_build_before_the_switch_naming_the_package(host):
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    finished = f"ls {env_of(host)['path']}/venvs/*/.complete"
    complete_before = host.run(finished).stdout.split()
    done, out = deploy(host, "-e", "revision=tampered-hash")
    assert done.returncode != 0
    assert "failed at stage 'dependencies'" in out, out[-3000:]
    assert "Hash mismatch for `sqlparse==0.5.5`" in out, out[-3000:]
    still_live(host, live, out)
    # No venv holding the refused file is left for a later release to link.
    assert host.run(finished).stdout.split() == complete_before


def test_the_lock_exact_set_equals_what_poetry_installs_on_python39(host):
    """Poetry 2.2.1 itself, from the same index, asked what `poetry install --only main,prod` installs into an
    empty Python 3.9 venv (a dry run), against the names and versions in prod's live venv."""
    only_on(host, "prod", "prod's venv")
    release = env_of(host)["path"] + "/current"
    script = (f"set -e; rm -rf /tmp/cmp; mkdir -p /tmp/cmp/app; cp {release}/pyproject.toml {release}/poetry.lock /tmp/cmp/app/; "
              "python3.9 -m venv /tmp/cmp/poetry; python3.9 -m venv --without-pip /tmp/cmp/target; "
              "/tmp/cmp/poetry/bin/pip install -q --disable-pip-version-check --index-url http://127.0.0.1:3141/simple/ "
              "poetry==2.2.1; cd /tmp/cmp/app; VIRTUAL_ENV=/tmp/cmp/target POETRY_VIRTUALENVS_CREATE=false "
              "/tmp/cmp/poetry/bin/poetry install --only main,prod --no-root --dry-run --no-ansi --no-interaction")
    out = host.run(script)
    assert out.rc == 0, out.stdout[-2000:] + out.stderr[-2000:]
    poetry = {canonical(name): version for name, version in re.findall(r"Installing (\S+) \((\S+)\)", out.stdout)}
    installed = installed_distributions(host, f"{release}/venv")
    assert poetry and installed == poetry, (installed, poetry)
    host.run("rm -rf /tmp/cmp")


def test_a_health_check_refused_by_allowed_hosts_names_the_knob_and_what_is_live(host):
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    before = backups_of(host)
    done, out = deploy(host, "-e", "revision=master", "-e", "deploy_healthcheck_host=localhost",
                       "-e", "deploy_healthcheck_timeout=10")
    assert done.returncode != 0
    # master's migrations are applied already: nothing to migrate, no backup.
    assert "backup before migrate" not in out and backups_of(host) == before
    assert "with Host localhost answered 400" in out, out[-3000:]
    assert "set deploy_healthcheck_host" in out
    still_live(host, live, out)


def test_a_gunicorn_option_of_a_newer_version_is_caught_by_the_trial_run_with_a_hint(host):
    # hknweb pins gunicorn 21.2, which has no --no-control-socket (gunicorn >= 23 does).
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    done, out = deploy(host, "-e", "revision=master", "-e", '{"app_service_gunicorn_extra_args": ["--no-control-socket"]}')
    assert done.returncode != 0
    assert "failed its trial run" in out and "unrecognized arguments: --no-control-socket" in out, out[-3000:]
    assert "--no-control-socket needs 23 or newer" in out
    still_live(host, live, out)


def test_an_option_file_given_with_tilde_fails_as_on_the_apphost_and_the_hint_says_why(host):
    # Without the link, bullseye's client library looks for "<release>/~/.my.cnf", skips it and
    # connects without a password, as the real hknweb did on the apphost.
    only_on(host, "prod", "prod's history")
    live = current_release(host)
    done, out = deploy(host, "-e", "revision=master", "-e", "app_django_home_option_file=false")
    assert done.returncode != 0
    assert "manage.py migrate --noinput failed" in out and "Access denied for user 'hkn'@" in out, out[-3000:]
    assert "(using password: NO)" in out
    assert "Hint: the settings give the MySQL option file as '~/.my.cnf'" in out, out[-3000:]
    assert "relative to the release" in out and "app_django_home_option_file: true" in out
    still_live(host, live, out)


def test_a_rollback_that_would_unapply_an_irreversible_migration_is_refused_before_any_change(host):
    only_on(host, "prod", "prod's history")
    done, out = deploy(host, "-e", "revision=irreversible")
    assert done.returncode == 0, out[-3000:]
    live, applied = current_release(host), notes_migrations()
    assert applied[-1] == "0003_irreversible"
    newest = sorted(backups_of(host))[-1]
    done = playbook("rollback.yml", "hknweb-prod", "-e", "rollback_migrations=unapply")
    out = flat(done.output)
    assert done.returncode != 0
    assert "notes.0003_irreversible cannot be unapplied" in out, out[-3000:]
    assert f"-e backup={newest}" in out
    assert current_release(host) == live and notes_migrations() == applied
    assert shown(host)["revision"] == refs()["irreversible"]
    # At the user's word, the code only: v1 serves on the newer schema.
    done = playbook("rollback.yml", "hknweb-prod", "-e", "rollback_migrations=code-only")
    assert done.returncode == 0, done.output[-3000:]
    assert shown(host)["revision"] == refs()["v1"] and notes_migrations() == applied


def test_restore_needs_the_environment_named_and_brings_back_a_row_deleted_after_the_backup(host):
    only_on(host, "prod", "prod's backups")
    newest = sorted(backups_of(host))[-1]  # taken before 0003_irreversible: MARIADB_ONLY is in it
    as_root("mysql", DATABASE, "-e", f"DELETE FROM notes_note WHERE text = '{MARIADB_ONLY}'")
    done = playbook("restore.yml", "hknweb-prod", "-e", f"backup={newest}", "-e", "confirm=test")
    assert done.returncode != 0 and "-e confirm=prod. Nothing was changed." in flat(done.output), done.output[-3000:]
    done = playbook("restore.yml", "hknweb-prod", "-e", f"backup={newest}", "-e", "confirm=prod", "--check")
    assert done.returncode == 0 and f"Would stop hknweb.socket and hknweb.service, restore {newest}" in flat(done.output), \
        done.output[-3000:]
    assert MARIADB_ONLY not in shown(host)["notes"]
    done = playbook("restore.yml", "hknweb-prod", "-e", f"backup={newest}", "-e", "confirm=prod")
    assert done.returncode == 0, done.output[-3000:]
    assert f"Restored {newest} in" in flat(done.output) and "answered 200" in flat(done.output)
    note_time("MariaDB restore (prod)", flat(done.output))
    values = shown(host)
    assert MARIADB_ONLY in values["notes"] and values["revision"] == refs()["v1"]
    assert notes_migrations()[-1] == "0002_second_note"  # the schema from before 0003_irreversible


# --- test: dev mode, sqlite in shared/ -----------------------------------------------------------


def test_dev_database_lives_in_shared_and_was_created_when_missing(host):
    only_on(host, "test", "dev's database")
    base = env_of(host)["path"]
    db = host.file(f"{base}/shared/db.sqlite3")
    assert db.is_file and db.user == USER
    link = host.file(f"{base}/current/db.sqlite3")
    assert link.is_symlink and link.linked_to == f"{base}/shared/db.sqlite3"
    values = shown(host)
    assert values["mode"] == "dev" and values["vendor"] == "sqlite" and values["revision"] == refs()["v1"]
    assert values["notes"] == ["note from migration 0001"]


def test_dev_database_survives_deploys_and_collectstatic_is_skipped(host):
    only_on(host, "test", "dev's database")
    base = env_of(host)["path"]
    write = host.run(f"python3 -c \"import sqlite3; c = sqlite3.connect('{base}/shared/db.sqlite3'); "
                     f"c.execute('INSERT INTO notes_note (text) VALUES (?)', ('{SQLITE_ONLY}',)); c.commit()\"")
    assert write.rc == 0, write.stderr
    prod = prod_data()
    for revision in ("master", "v1"):
        done, out = deploy(host, "-e", f"revision={revision}")
        assert done.returncode == 0, out[-3000:]
        note_time("sqlite dump (test, before 0002)", out)
        assert "collectstatic --noinput skipped (the settings have no STATIC_ROOT)" in out, out[-3000:]
        values = shown(host)
        assert values["revision"] == refs()[revision]
        assert values["notes"] == ["note from migration 0001", SQLITE_ONLY, "note from migration 0002"]
    assert not host.file(f"{base}/current/staticfiles").exists
    # test's migrations (0002 on its sqlite) and collectstatic touched nothing of prod's.
    assert prod_data() == prod


def test_dev_sqlite_backup_before_the_migration_restores_a_deleted_row(host):
    only_on(host, "test", "dev's database")
    base = env_of(host)["path"]
    found = backups_of(host)
    assert len(found) == 1 and next(iter(found)).endswith(".sqlite3.gz"), found  # master's 0002, not v1's first
    name = next(iter(found))
    sql = f"import sqlite3; c = sqlite3.connect('{base}/shared/db.sqlite3'); "
    assert host.run(f"python3 -c \"{sql}c.execute('DELETE FROM notes_note WHERE text = ?', ('{SQLITE_ONLY}',)); "
                    "c.commit()\"").rc == 0
    assert SQLITE_ONLY not in shown(host)["notes"]
    done = playbook("restore.yml", "hknweb-test", "-e", f"backup={name}", "-e", "confirm=test")
    assert done.returncode == 0, done.output[-3000:]
    note_time("sqlite restore (test)", flat(done.output))
    assert SQLITE_ONLY in shown(host)["notes"]


# --- two environments on one account: a test given prod's database or static root -------------


def prod_data():
    """Fingerprints of prod's tables (a dump without its date) and of its static folder (names,
    sizes, times, modes, contents)."""
    dump = as_root("sh", "-c", f"mysqldump --skip-dump-date --skip-comments {DATABASE} | sha256sum").stdout
    static = as_root("sh", "-c", f"cd {STATIC_ROOT} && find . -printf '%p %s %T@ %m\\n' | sort | sha256sum"
                     " && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum").stdout
    assert len(static.split()) == 4 and "e3b0c44298fc" not in dump  # neither is empty
    return dump, static


def account_state():
    """The account's units, links and sockets, and prod's data."""
    units = as_root("sh", "-c", f"cd {HOME}/.config/systemd/user && ls -la --time-style=full-iso . "
                    f"&& sha256sum *.service *.socket; readlink {HOME}/hknweb/prod/current {HOME}/hknweb/test/current; "
                    f"ls -la --time-style=full-iso /srv/apps/{USER}").stdout
    return units, prod_data()


class ProdWatch:
    """Asks prod's /health every 0.2 s (as root, through its socket) while a test deploy runs."""

    def __enter__(self):
        self.statuses, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        while not self.stop.is_set():
            out = subprocess.run(["podman", "exec", container(), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                  "--max-time", "5", "--unix-socket", SOCKET["prod"], "-H", f"Host: {HOST}",
                                  "http://localhost/health"], capture_output=True, text=True)
            self.statuses.append(out.stdout)
            time.sleep(0.2)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# test run as prod (-e): HKNWEB_MODE=prod and the secrets.py prod mode imports.
TEST_AS_PROD = json.dumps({"app_service_environment": {"HKNWEB_MODE": "prod"},
                           "deploy_shared_templates": [{"path": "hknweb/settings/secrets.py",
                                                        "content": "SECRET_KEY = 'molecule-test-as-prod'\n"}]})


def refused_test_deploy(host, *extra):
    """test, run as prod, deploys test-branch (a migration 0003 adding a row, a new static file)."""
    before = account_state()
    with ProdWatch() as watch:
        done, out = deploy(host, "-e", "revision=test-branch", "-e", TEST_AS_PROD, *extra)
    assert done.returncode != 0
    assert "failed at stage 'django'" in out and "Refused before migrate: test shares what another environment" in out, \
        out[-3000:]
    assert "Nothing was changed" in out
    assert account_state() == before  # units, links, sockets, prod's tables and static folder
    rows = as_root("mysql", "-N", DATABASE, "-e", "SELECT text FROM notes_note").stdout
    assert "test branch" not in rows and MARIADB_ONLY in rows
    assert not host.file(STATIC_ROOT + "notes/test-branch.css").exists
    assert watch.statuses and set(watch.statuses) == {"200"}, watch.statuses  # prod answered throughout
    values = shown(host)
    assert values["mode"] == "dev" and values["revision"] == refs()["v1"]  # test still serves its release
    return out


def test_test_given_prods_database_and_static_root_is_refused_before_any_change(host):
    only_on(host, "test", "the second environment")
    out = refused_test_deploy(host)
    assert f"STATIC_ROOT /services/http/users/h/hk/hkn/hknweb/static is prod ({HOME}/hknweb/prod)'s" in out, out[-3000:]
    assert f"the database mysql {DATABASE} on mysql is prod ({HOME}/hknweb/prod)'s" in out


def test_a_declared_shared_database_still_refuses_the_shared_static_root(host):
    only_on(host, "test", "the second environment")
    out = refused_test_deploy(host, "-e", "app_django_shared_database=true")
    assert "STATIC_ROOT /services/http/users/h/hk/hkn/hknweb/static is prod" in out, out[-3000:]
    assert "the database mysql" not in out and "A static root is never shared;" in out
