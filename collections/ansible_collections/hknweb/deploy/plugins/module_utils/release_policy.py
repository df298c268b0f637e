# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What a release is, which one is live, where a rollback goes and what pruning removes.

This is the one place that knows the release layout (see the project contract):

    <deploy_path>/releases/<YYYYMMDDTHHMMSSZ>/   one real directory per release
    <deploy_path>/releases/<name>/REVISION       commit SHA
    <deploy_path>/releases/<name>/.deploy-complete  completion record (JSON), written LAST
    <deploy_path>/releases/<name>/.deploy-bad    rolled back from / failed its health check
    <deploy_path>/releases/<name>/venv -> ../../venvs/<key>   the dependency set it runs on
    <deploy_path>/venvs/<key>/.complete          a venv is reused only once this exists
    <deploy_path>/current -> releases/<name>     relative symlink
    <deploy_path>/revisions.log                  TAB separated event log
    <deploy_path>/deploy.lock/holder             who runs a deploy now (JSON)
    <deploy_path>/.deploy-intent                 a switch under way (JSON); gone once proven

A release is usable only when its completion record says so. Releases made before the
record existed (REVISION and a venv, no unfinished marker) still count as complete; anything
else in releases/ with a release-shaped name is incomplete, whatever it holds.

It imports nothing from Ansible so it can be unit tested (and benchmarked) on its own; the
modules are thin shells around it. The decisions (`rollback_target`, `choose_rollback`,
`plan_prune`, `parse_revisions_log`) never touch the disk; the disk helpers below them
(`scan`, `switch_current`, `mark_bad`, `clear_bad`, `remove_release`) do, and nothing else.
Ordering is always by release name (a UTC timestamp), never by file times.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass, field

# The lock has its own file (lock.py); these names stay importable from here for older callers.
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import fsync_dir as _fsync_dir
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import write_atomic as _write_atomic
from ansible_collections.hknweb.deploy.plugins.module_utils.lock import (  # noqa: F401
    LOCK_DIR, LOCK_HOLDER, LockHeld, describe_age, give_lock, read_lock, take_lock)

RELEASES_DIR = "releases"
CURRENT_LINK = "current"
REVISIONS_LOG = "revisions.log"
REVISION_FILE = "REVISION"
UNFINISHED_MARKER = ".deploy-unfinished"  # written by older versions; still honoured
BAD_MARKER = ".deploy-bad"
COMPLETE_RECORD = ".deploy-complete"
VENVS_DIR = "venvs"
VENV_LINK = "venv"
VENV_COMPLETE = ".complete"
INTENT_FILE = ".deploy-intent"

GOOD = "good"
BAD = "bad"
UNFINISHED = "unfinished"

# \Z rather than $: "$" would also accept a trailing newline.
_RELEASE_NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z\Z")


class ReleaseError(Exception):
    """A refusal with a message meant for the person running the deploy."""


@dataclass(frozen=True)
class Release:
    name: str
    state: str = GOOD  # GOOD, BAD or UNFINISHED (incomplete)
    revision: str | None = None
    record: dict = field(default_factory=dict, compare=False)  # the completion record
    venv: str | None = None  # venv key the release links to (None: its own folder or none)


@dataclass(frozen=True)
class Inventory:
    """What `scan` found. `releases` is sorted by name, oldest first."""

    deploy_path: str
    releases: tuple = ()
    ignored: tuple = ()  # entries of releases/ that are not releases; never touched
    current_kind: str = "absent"  # absent | link | directory | other
    current_target: str | None = None  # the link text, as read
    live: str | None = None  # set only when `current` points at a release in releases/
    current_problem: str | None = None  # why `current` does not name a release
    log: dict = field(default_factory=dict)  # parse_revisions_log() of revisions.log

    def names(self):
        return [r.name for r in self.releases]

    def get(self, name):
        for release in self.releases:
            if release.name == name:
                return release
        return None

    def require_live(self):
        """The live release name (or None if there is no `current`); refuse to guess."""
        if self.current_problem:
            raise ReleaseError(self.current_problem)
        return self.live


@dataclass(frozen=True)
class Plan:
    keep: list  # names, oldest first
    remove: list  # names, oldest first
    reasons: dict  # name -> why it is kept or removed


# Service files rendered on the controller before the deploy user's home is known (a rollback in
# one round trip) carry this mark where the home goes; the engine puts the home in on the host.
HOME_MARK = "@@HOME@@"

def is_release_name(name):
    return isinstance(name, str) and _RELEASE_NAME.match(name) is not None


def release_name_for(when):
    """The release name for a datetime (converted to UTC)."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def validate_keep(value):
    """Return `value` as an int >= 1, or raise ReleaseError explaining the fix.

    Accepts ints and digit strings (ad-hoc `keep=3` arrives as a string); rejects bools,
    which Python would otherwise treat as 1 and 0.
    """
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        number = int(value)
    if number is None or number < 1:
        raise ReleaseError(
            "keep must be a whole number of at least 1 (how many of the newest good releases "
            "to keep; the live release and its rollback target are always kept as well), "
            "got %r. Set keep to 1 or more." % (value,)
        )
    return number


# --- pure decisions -------------------------------------------------------------------


def _by_name(releases):
    """Release-shaped entries sorted by name; rejects duplicates so order can't matter."""
    seen = {}
    for release in releases:
        if not is_release_name(release.name):
            continue  # not a release: never planned, never touched
        if release.name in seen:
            raise ReleaseError("release %s is listed twice" % release.name)
        seen[release.name] = release
    return [seen[name] for name in sorted(seen)]


def _older_good(releases, live):
    """(GOOD releases older than `live` that run another commit, those that run the same), oldest first.
    A release of the live commit (a deploy_force=true re-deploy) would change nothing if rolled back to.
    An unknown revision never counts as the same."""
    ordered = _by_name(releases)
    commit = next((r.revision for r in ordered if r.name == live), None)
    older = [r for r in ordered if r.state == GOOD and r.name < live]
    same = [r.name for r in older if commit and r.revision == commit]
    return [r.name for r in older if r.name not in same], same


def rollback_target(releases, live):
    """Newest GOOD release whose name sorts before `live` and whose commit differs from the live
    release's; None if there is none."""
    if live is None:
        return None
    other, _ = _older_good(releases, live)
    return other[-1] if other else None


def _available(releases):
    names = [r.name for r in _by_name(releases) if r.state != UNFINISHED]
    return ", ".join(names) if names else "none"


def choose_rollback(releases, live, requested=None):
    """The release a rollback should make live.

    Without `requested` that is the rollback target: it skips older releases of the live
    commit (landing on the commit it leaves would change nothing) and refuses, naming the
    -e release= to use, when only those are left. An explicit name may be older or newer
    than `live`, may run the live commit (asked for by name, so honoured; the summary says
    both commits) and may be a bad release (its mark is cleared when it goes live), but it
    must be a complete release. Returns `live` itself when that was requested.
    """
    if live is None:
        raise ReleaseError(
            "nothing is live (no current link), so there is nothing to roll back from; "
            "deploy first, or name a release (-e release=<name>). Available: %s" % _available(releases)
        )
    if requested is not None:
        return check_switchable(releases, requested)
    target = rollback_target(releases, live)
    _, same = _older_good(releases, live)
    if target is None and same:
        raise ReleaseError(
            "every good release older than the live release %s runs the same commit (%s), so a rollback would "
            "change nothing. Nothing was changed. To restart on that commit anyway: -e release=%s; "
            "available: %s" % (live, ", ".join(same), same[-1], _available(releases))
        )
    if target is None:
        raise ReleaseError(
            "no good release older than the live release %s to roll back to. "
            "Available: %s. Name one with -e release=<name> (releases.yml lists them)." % (live, _available(releases))
        )
    return target


def check_switchable(releases, name):
    """Return `name` if it is a complete release that `current` may point at."""
    by_name = {r.name: r for r in _by_name(releases)}
    release = by_name.get(name)
    if release is None:
        raise ReleaseError(
            "%r is not a release in releases/. Available: %s" % (name, _available(releases))
        )
    if release.state == UNFINISHED:
        raise ReleaseError(
            "release %s is unfinished (%s present), it cannot go live. Available: %s"
            % (name, UNFINISHED_MARKER, _available(releases))
        )
    return name


def plan_prune(releases, live, keep):
    """Decide which releases to keep and which to remove.

    - `live` and its rollback target are kept whatever `keep` says;
    - bad and unfinished releases do not count toward `keep` and go unless protected;
    - of the good ones the newest `keep` (by name) stay, older ones go unless protected;
    - entries that are not release-shaped are left out of the plan entirely.
    """
    keep = validate_keep(keep)
    ordered = _by_name(releases)
    if live is not None and live not in {r.name for r in ordered}:
        raise ReleaseError("live release %r is not among the releases; refusing to prune" % (live,))
    target = rollback_target(ordered, live)
    newest_good = [r.name for r in ordered if r.state == GOOD][-keep:]

    kept, removed, reasons = [], [], {}
    for release in ordered:
        name = release.name
        if name == live:
            stays, why = True, "live (current points here)"
        elif name == target:
            stays, why = True, "rollback target (newest good release before the live one)"
        elif release.state != GOOD:
            stays, why = False, "%s release; does not count toward keep" % release.state
        elif name in newest_good:
            stays, why = True, "one of the %d newest good releases" % keep
        else:
            stays, why = False, "older than the %d newest good releases" % keep
        (kept if stays else removed).append(name)
        reasons[name] = why
    return Plan(keep=kept, remove=removed, reasons=reasons)


def parse_revisions_log(text):
    """Map release name -> {sha, ref, deployer, time} from its last `deploy` line.

    Lines are `time<TAB>event<TAB>release<TAB>sha<TAB>ref<TAB>deployer`; anything else
    (blank, short, another event, a name that is not a release) is skipped, because a
    log written by hand or cut short by a crash must not stop a rollback.
    """
    found = {}
    for line in text.splitlines():
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 6:
            continue
        when, event, release, sha, ref, deployer = (f.strip() for f in fields[:6])
        if event != "deploy" or not is_release_name(release):
            continue
        found[release] = {"sha": sha, "ref": ref, "deployer": deployer, "time": when}
    return found


def describe(deploy_path, releases, live, log=None):
    """One plain dict per release (oldest first) for a module to return. What the
    completion record says wins over revisions.log (older releases have only the log)."""
    log = log or {}
    target = rollback_target(releases, live)
    described = []
    for release in _by_name(releases):
        known = dict(log.get(release.name, {}))
        known.update({k: v for k, v in release.record.items() if v})
        described.append({
            "name": release.name,
            "path": os.path.join(deploy_path, RELEASES_DIR, release.name),
            "revision": release.revision,
            "state": release.state,
            "live": release.name == live,
            "rollback_target": release.name == target,
            "ref": known.get("ref"),
            "subject": known.get("subject"),
            "deployer": known.get("deployer"),
            "time": known.get("time"),
            "venv": release.venv,
        })
    return described


# --- disk helpers ---------------------------------------------------------------------


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _exists_no_follow(path):
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def _read_small(path, limit=4096, tail=False):
    """Up to `limit` bytes of a regular file as text (the last ones if `tail`), or None.

    Never follows a symlink, never blocks on a FIFO planted under a marker's name.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if tail and info.st_size > limit:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
            data = os.read(fd, limit)
            data = data[data.find(b"\n") + 1:]  # drop the line cut in half
        else:
            data = os.read(fd, limit)
        return data.decode("utf-8", "replace")
    finally:
        os.close(fd)


def _venv_key(release_path):
    """The key of venvs/<key> a release links to, or None (its own venv folder, or none)."""
    try:
        target = os.readlink(os.path.join(release_path, VENV_LINK))
    except OSError:
        return None
    parent, key = os.path.split(os.path.normpath(target))
    return key if os.path.basename(parent) == VENVS_DIR and is_venv_key(key) else None


def _read_json(path, limit):
    """(found, object): a small JSON object file, never followed through a symlink. `object` is
    None when the file is there but is not a JSON object."""
    text = _read_small(path, limit)
    if text is None:
        return False, None
    try:
        value = json.loads(text)
    except ValueError:
        return True, None
    return True, value if isinstance(value, dict) else None


def read_record(release_path):
    """The completion record as a dict, or None when there is none (or it is not JSON)."""
    return _read_json(os.path.join(release_path, COMPLETE_RECORD), 16384)[1]


def is_complete(has_record, has_unfinished_marker, revision, has_venv_python, venv_is_link=False):
    """Pure rule: a release is usable when its completion record says so. A release made
    before records existed (older layout: its own venv/ folder, never a link to venvs/) counts
    when it has a REVISION, a venv with a python and no unfinished marker. Anything else is
    incomplete - in particular a release of this layout (venv -> ../../venvs/<key>) without
    its record: it stopped somewhere between its build and its switch."""
    if has_unfinished_marker:
        return False
    if has_record:
        return True
    return bool(revision) and has_venv_python and not venv_is_link


def read_release(release_path, name):
    """Release state, revision, record and venv key from its folder (a real directory)."""
    record = read_record(release_path)
    revision = (_read_small(os.path.join(release_path, REVISION_FILE), 256) or "").strip()
    complete = is_complete(
        record is not None,
        _exists_no_follow(os.path.join(release_path, UNFINISHED_MARKER)),
        revision,
        _exists_no_follow(os.path.join(release_path, VENV_LINK, "bin", "python")),
        os.path.islink(os.path.join(release_path, VENV_LINK)),
    )
    if not complete:
        state = UNFINISHED  # incomplete wins over bad: it was never usable
    elif _exists_no_follow(os.path.join(release_path, BAD_MARKER)):
        state = BAD
    else:
        state = GOOD
    return Release(name=name, state=state, revision=revision or None, record=record or {},
                   venv=_venv_key(release_path))


def write_record(release_path, record):
    """Write the completion record, the last step of building a release (fsynced)."""
    _release_dir(release_path)
    _write_atomic(os.path.join(release_path, COMPLETE_RECORD), json.dumps(record, sort_keys=True) + "\n")


# --- venvs, one per dependency set ----------------------------------------------------

_VENV_KEY = re.compile(r"[0-9a-f]{16}\Z")


def is_venv_key(key):
    return isinstance(key, str) and _VENV_KEY.match(key) is not None


def venv_key(parts):
    """A short, stable key for a dependency set: the sha256 of its parts (strategy, the
    interpreter's path and full version, lock or requirements text, groups, pip options)."""
    digest = hashlib.sha256()
    for name in sorted(parts):
        digest.update(("%s=%r\n" % (name, parts[name])).encode("utf-8"))
    return digest.hexdigest()[:16]


def venv_keys(deploy_path, complete_only=False):
    """Keys of the venvs under venvs/ (only the finished ones, with their .complete, if asked)."""
    try:
        entries = list(os.scandir(os.path.join(deploy_path, VENVS_DIR)))
    except FileNotFoundError:
        return []
    return sorted(e.name for e in entries if is_venv_key(e.name) and e.is_dir(follow_symlinks=False)
                  and (not complete_only or _exists_no_follow(os.path.join(e.path, VENV_COMPLETE))))


def plan_venv_prune(present, kept_releases):
    """Keys of venvs no kept release links to (pure)."""
    used = {r.venv for r in kept_releases if r.venv}
    return sorted(k for k in present if is_venv_key(k) and k not in used)


# --- the intent record: a switch under way --------------------------------------------


def read_intent(deploy_path):
    found, intent = _read_json(os.path.join(deploy_path, INTENT_FILE), 4096)
    if not found:
        return None
    return intent or {"op": "unknown", "from": None, "to": None, "stage": "unreadable"}


def write_intent(deploy_path, op, from_release, to_release, stage, run):
    _write_atomic(os.path.join(deploy_path, INTENT_FILE), json.dumps({
        "op": op, "from": from_release, "to": to_release, "stage": stage, "run": run,
        "time": utc_now()}, sort_keys=True) + "\n")


def clear_intent(deploy_path):
    try:
        os.unlink(os.path.join(deploy_path, INTENT_FILE))
    except FileNotFoundError:
        return False
    _fsync_dir(deploy_path)
    return True


def plan_recovery(intent, releases, live):
    """What to do about a switch a killed run left behind (pure).

    Returns (restore, mark_bad): the release `current` must point at again (None: leave
    it) and the release to mark bad (None: none). The rule is to undo: the release the
    killed run moved away from is put back when it is still complete, because it is the
    last one that was proven healthy; a deploy's new release, never proven, is marked bad so
    no rollback ever lands on it. A rollback's target was good before and stays good, so
    running the rollback again lands on it again.
    """
    if not intent:
        return None, None
    by_name = {r.name: r for r in _by_name(releases)}
    source, target = intent.get("from"), intent.get("to")
    restore = source if source in by_name and by_name[source].state != UNFINISHED else None
    if restore == live:
        restore = None
    final = restore or live
    bad = target if intent.get("op") == "deploy" and target in by_name and target != final else None
    return restore, bad


# --- revisions.log ----------------------------------------------------------------------


def log_line(event, release, sha, ref, deployer, when=None):
    """One revisions.log line; TABs and line breaks in values become spaces."""
    fields = [when or utc_now(), event, release, sha or "", ref or "", deployer or ""]
    return "\t".join(" ".join(str(f).split()) for f in fields) + "\n"


def append_log(deploy_path, line):
    fd = os.open(os.path.join(deploy_path, REVISIONS_LOG), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line)


def log_tail(deploy_path, lines=5):
    text = _read_small(os.path.join(deploy_path, REVISIONS_LOG), 65536, tail=True) or ""
    return [line for line in text.splitlines() if line.strip()][-lines:]


def _resolve_current(deploy_path, releases_dir, target, names):
    """(live, problem) for the text of the `current` link."""
    resolved = os.path.normpath(os.path.join(deploy_path, target))
    parent, name = os.path.split(resolved)
    # An absolute link written by another tool is fine as long as it lands in releases/.
    inside = parent in (os.path.normpath(releases_dir), os.path.realpath(releases_dir))
    if inside and name in names:
        return name, None
    if inside and is_release_name(name):
        why = "which is not a release folder (missing, or not a real directory)"
    else:
        why = "which is not a release inside %s" % releases_dir
    return None, (
        "current points to %r %s; refusing to guess which release is live. "
        "Point it at a release (ln -sfn releases/<name> current) or move it away, then run again." % (target, why)
    )


def scan(deploy_path):
    """Read releases/, the `current` link and revisions.log without following any symlink
    inside releases/. A missing releases/ folder means no releases yet."""
    deploy_path = os.path.abspath(deploy_path)
    if not os.path.isdir(deploy_path):
        raise ReleaseError("deploy path %s does not exist or is not a directory" % deploy_path)
    releases_dir = os.path.join(deploy_path, RELEASES_DIR)

    releases, ignored = [], []
    try:
        entries = list(os.scandir(releases_dir))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        # is_dir(follow_symlinks=False): a symlink is never a release, whatever its name.
        if is_release_name(entry.name) and entry.is_dir(follow_symlinks=False):
            releases.append(read_release(entry.path, entry.name))
        else:
            ignored.append(entry.name)
    releases.sort(key=lambda r: r.name)
    names = {r.name for r in releases}

    current = os.path.join(deploy_path, CURRENT_LINK)
    kind, target, live, problem = "absent", None, None, None
    try:
        mode = os.lstat(current).st_mode
    except FileNotFoundError:
        mode = None
    if mode is None:
        pass
    elif stat.S_ISLNK(mode):
        kind, target = "link", os.readlink(current)
        live, problem = _resolve_current(deploy_path, releases_dir, target, names)
    else:
        kind = "directory" if stat.S_ISDIR(mode) else "other"
        problem = (
            "%s is a real %s, not a symlink; move it aside so it can be replaced by a link"
            % (current, "directory" if kind == "directory" else "file")
        )

    # The newest lines matter most; a log past 4 MiB is read from its tail.
    log_text = _read_small(os.path.join(deploy_path, REVISIONS_LOG), 4 * 1024 * 1024, tail=True)
    return Inventory(
        deploy_path=deploy_path,
        releases=tuple(releases),
        ignored=tuple(sorted(ignored)),
        current_kind=kind,
        current_target=target,
        live=live,
        current_problem=problem,
        log=parse_revisions_log(log_text or ""),
    )


def switch_current(deploy_path, name):
    """Point `current` at releases/<name> atomically: a temporary relative link renamed over
    `current`, so there is never a moment without it (`ln -sfn` unlinks first)."""
    if not is_release_name(name):
        raise ReleaseError("%r is not a release name" % (name,))
    release_path = os.path.join(deploy_path, RELEASES_DIR, name)
    try:
        is_dir = stat.S_ISDIR(os.lstat(release_path).st_mode)
    except FileNotFoundError:
        is_dir = False
    if not is_dir:
        raise ReleaseError("%s is not a release folder" % release_path)

    current = os.path.join(deploy_path, CURRENT_LINK)
    try:
        mode = os.lstat(current).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISLNK(mode):
        # rename() would replace a file silently and fail on a directory: refuse both.
        raise ReleaseError(
            "%s is a real %s, not a symlink; move it aside so it can be replaced by a link"
            % (current, "directory" if stat.S_ISDIR(mode) else "file")
        )

    temp = os.path.join(deploy_path, ".%s.tmp-%s" % (CURRENT_LINK, uuid.uuid4().hex))
    os.symlink(os.path.join(RELEASES_DIR, name), temp)
    try:
        os.rename(temp, current)
    except BaseException:
        os.unlink(temp)
        raise
    _fsync_dir(deploy_path)


def _release_dir(path):
    """Refuse anything but a real directory: a symlink here must never be followed."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise ReleaseError("%s does not exist" % path) from None
    if stat.S_ISLNK(mode):
        raise ReleaseError("%s is a symlink, not a release folder; refusing to touch it" % path)
    if not stat.S_ISDIR(mode):
        raise ReleaseError("%s is not a directory" % path)


def mark_bad(release_path, reason, when=None):
    """Write the bad marker (time and reason) so the release is kept for inspection but
    never chosen as a rollback target again."""
    _release_dir(release_path)
    text = "time: %s\nreason: %s\n" % (when or utc_now(), " ".join(str(reason).split()))
    marker = os.path.join(release_path, BAD_MARKER)
    # O_NOFOLLOW: a planted symlink named .deploy-bad must not redirect the write.
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def clear_bad(release_path):
    """Remove the bad marker; True if there was one."""
    _release_dir(release_path)
    try:
        os.unlink(os.path.join(release_path, BAD_MARKER))
    except FileNotFoundError:
        return False
    return True


def remove_release(release_path):
    """Delete one release folder; refuses symlinks (rmtree itself never follows the ones
    inside). A read-only subfolder (some build tools make them) gets one retry after the
    tree is made owner-writable, instead of leaving half a release behind."""
    _release_dir(release_path)
    try:
        shutil.rmtree(release_path)
    except PermissionError:
        _make_writable(release_path)
        shutil.rmtree(release_path)


def _make_writable(path):
    mode = os.lstat(path).st_mode
    if not stat.S_ISDIR(mode):
        return  # chmod would follow a symlink; files need no write bit to be unlinked
    os.chmod(path, mode | stat.S_IRWXU)
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _make_writable(entry.path)


# --- shared entries ---------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_shared(dirs, files, templates, created=()):
    """Refuse shared entries that could escape shared/ or the release, or clash (pure).

    Returns the paths to link into a release, in order: folders, files, files created empty
    when missing, written files. Raises ReleaseError listing every problem, each with the
    variable to fix.
    """
    problems, entries = [], []
    for variable, values in (("deploy_shared_dirs", dirs), ("deploy_shared_files", files),
                             ("deploy_shared_files_create", created),
                             ("deploy_shared_templates", [t.get("path") if isinstance(t, dict) else t
                                                          for t in templates])):
        for value in values or []:
            why = _shared_problem(value)
            if why:
                problems.append("%s entry %r %s" % (variable, value, why))
            else:
                entries.append((variable, value))
    seen = {}
    for variable, value in entries:
        if value in seen:
            problems.append("%r is listed twice (%s and %s)" % (value, seen[value], variable))
        seen.setdefault(value, variable)
    names = sorted(seen)
    for outer in names:
        for inner in names:
            if inner != outer and inner.startswith(outer + "/"):
                problems.append("%r lies inside %r; list only one of them" % (inner, outer))
    if problems:
        raise ReleaseError("Shared entries must be relative paths inside shared/ and the release: "
                           + "; ".join(problems) + ". Nothing was changed.")
    return [value for _, value in entries]


def check_home_templates(templates):
    """Refuse deploy_home_templates paths that are not plain relative paths under the home (pure).

    Returns the paths. Raises ReleaseError listing every problem.
    """
    problems, paths = [], []
    for template in templates or []:
        value = template.get("path") if isinstance(template, dict) else template
        why = _shared_problem(value, "the deploy user's home", ".my.cnf")
        if why:
            problems.append("deploy_home_templates entry %r %s" % (value, why))
        elif value in paths:
            problems.append("deploy_home_templates lists %r twice" % value)
        else:
            paths.append(value)
    if problems:
        raise ReleaseError("; ".join(problems) + ". Nothing was changed.")
    return paths


def _shared_problem(value, inside="shared/", example="media"):
    if not isinstance(value, str) or value == "":
        return "is empty (give a path relative to %s, e.g. %s)" % (inside, example)
    if _CONTROL.search(value):
        return "contains a line break or control character"
    if value.startswith("/") or value.startswith("~"):
        return "is absolute (give it relative to %s, e.g. %s)" % (inside, example)
    if value.endswith("/"):
        return "ends with / (drop the slash)"
    parts = value.split("/")
    if "" in parts:
        return "contains an empty path part (//)"
    if "." in parts or ".." in parts:
        return "contains . or .. (it must stay inside %s)" % ("shared/ and the release" if inside == "shared/" else inside)
    if parts[0] in (VENV_LINK, REVISION_FILE, COMPLETE_RECORD, BAD_MARKER, UNFINISHED_MARKER):
        return "would replace a part of the release the deploy owns"
    return None


# --- pruning on disk ----------------------------------------------------------------------


def prune(deploy_path, keep, check_mode=False):
    """Remove what plan_prune does not keep, then every venv no kept release links to.
    Returns (plan, removed releases, removed venv keys, names before)."""
    keep = validate_keep(keep)
    inventory = scan(deploy_path)
    plan = plan_prune(inventory.releases, inventory.require_live(), keep)
    removed, removed_venvs = [], []
    for name in plan.remove:
        if not check_mode:
            remove_release(os.path.join(deploy_path, RELEASES_DIR, name))
        removed.append(name)
    kept = [r for r in inventory.releases if r.name in plan.keep]
    for key in plan_venv_prune(venv_keys(deploy_path), kept):
        if not check_mode:
            remove_release(os.path.join(deploy_path, VENVS_DIR, key))  # a venv folder, same rules
        removed_venvs.append(key)
    return plan, removed, removed_venvs, inventory.names()
