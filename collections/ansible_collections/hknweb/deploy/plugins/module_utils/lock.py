# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The deploy lock: who runs a deploy or rollback on an environment now, and whether that run is alive.

    <deploy_path>/deploy.lock/holder   one JSON record: holder, purpose, run, epoch, since,
                                       lease_until, pid, pid_start (the stage process that wrote it last)

A lock exists whole or not at all: the record is written into `deploy.lock.tmp-<run>/` first and
that folder is renamed to `deploy.lock` (a rename onto an existing, non-empty folder fails, so two
runs can never both win, and a full disk leaves at most a temporary folder, never a lock without
holder). The record is read whatever its size, and its text fields are bounded when written.

A run is alive while its lease has not run out or the stage process that last renewed it still
runs; each host stage renews the lease inside its own call. A lock whose run is proven dead is
taken over by the next run; a live one is never broken. The decisions (`alive`, `describe_age`,
`bounded`) are pure; the rest touches only deploy.lock (and reads /proc through processes.py).
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import shutil
import stat
import time
import uuid

from ansible_collections.hknweb.deploy.plugins.module_utils.layout import LOCK_DIR, LOCK_HOLDER
from ansible_collections.hknweb.deploy.plugins.module_utils.processes import process_running, process_start

_TEMP_PREFIX = LOCK_DIR + ".tmp-"
_DEAD_PREFIX = LOCK_DIR + ".dead-"
FIELD_LIMIT = 200  # characters of holder/purpose/run kept in the record
TEMP_SWEEP_AGE = 300  # seconds after which a temporary lock folder of a killed run is removed


class LockError(Exception):
    """A refusal about the lock, meant for the person running the deploy."""


class LockHeld(LockError):
    """Another run holds the lock; `holder` says who, what for, since when and until when."""

    def __init__(self, message, holder):
        super().__init__(message)
        self.holder = holder


class LockLost(LockError):
    """This run's lock was taken over (its run was judged dead): it must not switch."""


# --- pure decisions --------------------------------------------------------------------------


def bounded(value, limit=FIELD_LIMIT):
    """One line of at most `limit` characters: a record can never outgrow any reader."""
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe_age(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 7200:
        return "%d min" % (seconds // 60)
    if seconds < 172800:
        return "%d h %d min" % (seconds // 3600, seconds % 3600 // 60)
    return "%d days" % (seconds // 86400)


def alive(record, now, process_running):
    """(alive, why) for a lock record. Alive while the lease has not run out, or while the stage
    process that last renewed it still runs (a long venv build outlives any lease). A record
    without a lease (an older version's, or half-known) is alive: only a person may judge it."""
    until = record.get("lease_until")
    if record.get("hold"):
        return True, "it is held on purpose: %s" % record.get("message")
    if not isinstance(until, (int, float)):
        return True, "it carries no lease (taken by an older version)"
    if now < until:
        return True, "its lease runs out in %s" % describe_age(until - now)
    if process_running(record.get("pid"), record.get("pid_start")):
        return True, "its stage (pid %s) still runs on the host" % record.get("pid")
    return False, "its lease ran out %s ago and no stage of it runs on the host" % describe_age(now - until)


def record_for(holder, purpose, run, now, lease, pid=None, pid_start=None):
    record = {"holder": bounded(holder), "purpose": bounded(purpose), "run": bounded(run), "epoch": int(now),
              "since": _utc(now), "pid": pid, "pid_start": pid_start}
    if lease:
        record.update(lease_seconds=int(lease), lease_until=int(now) + int(lease))
    return record


def _utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the lock on disk ------------------------------------------------------------------------


def _read_all(path):
    """A regular file's whole text (never a symlink or FIFO), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(fd)


def read_lock(deploy_path, now=None):
    """The lock's holder record with its true age in seconds, or None when it is free."""
    lock = os.path.join(deploy_path, LOCK_DIR)
    if not os.path.isdir(lock) or os.path.islink(lock):
        return None
    text = _read_all(os.path.join(lock, LOCK_HOLDER))
    holder = {}
    if text:
        try:
            holder = json.loads(text)
        except ValueError:
            # the older format: "holder=x purpose=y since=z epoch=n"
            holder = dict(p.split("=", 1) for p in text.split() if "=" in p)
    if not isinstance(holder, dict):
        holder = {}
    try:
        epoch = int(float(holder.get("epoch")))
    except (TypeError, ValueError):
        epoch = int(os.lstat(lock).st_mtime)  # the folder's own time when the record is missing
    holder["epoch"] = epoch
    holder["age_seconds"] = max(0, int((time.time() if now is None else now) - epoch))
    for name in ("holder", "purpose"):
        holder[name] = bounded(holder.get(name) or "unknown")
    holder.setdefault("since", _utc(epoch))
    return holder


def _write_record(path, record):
    """Write the record file and flush it to disk; on any error nothing is left behind."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if os.path.lexists(path):
            os.unlink(path)
        raise


def _sweep_temporaries(deploy_path, now):
    """Remove temporary or taken-over lock folders a killed run left (older than TEMP_SWEEP_AGE)."""
    try:
        names = os.listdir(deploy_path)
    except OSError:
        return
    for name in names:
        if name.startswith((_TEMP_PREFIX, _DEAD_PREFIX)):
            path = os.path.join(deploy_path, name)
            try:
                if now - os.lstat(path).st_mtime > TEMP_SWEEP_AGE or name.startswith(_DEAD_PREFIX):
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def install(deploy_path, record):
    """Build the lock aside and rename it into place. True when it is ours; False when a lock
    is there already. OSError (a full disk) leaves nothing behind."""
    temp = os.path.join(deploy_path, _TEMP_PREFIX + uuid.uuid4().hex)
    os.mkdir(temp, 0o755)
    try:
        _write_record(os.path.join(temp, LOCK_HOLDER), record)
        os.rename(temp, os.path.join(deploy_path, LOCK_DIR))
        return True
    except OSError as error:
        shutil.rmtree(temp, ignore_errors=True)
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):  # a lock is there (an empty one is replaced)
            return False
        raise


def held_message(lock_path, info, why, breaking=False):
    if info.get("hold"):
        from ansible_collections.hknweb.deploy.plugins.module_utils import holds
        return holds.refusal(lock_path, info)
    if breaking:
        then = ("It is not broken: breaking the lock of a live run would let two runs change one environment. "
                "Wait for it; once its lease has run out and no stage of it runs, the next run takes it over.")
    elif info.get("lease_until") is None:
        then = ("If that run is still going, wait for it; if it was interrupted, break the lock: add "
                "-e deploy_break_lock=true to this environment's next run (or run lock.yml -l <environment> "
                "-e break=true).")
    else:
        then = ("Wait for it: the next run takes the lock over by itself once the lease has run out and no "
                "stage of that run runs on the host.")
    return "another deploy or rollback holds %s: %s, for %s, taken %s ago; %s. %s Nothing was changed." % (
        lock_path, info.get("holder"), info.get("purpose"), describe_age(info.get("age_seconds", 0)), why, then)


def take_lock(deploy_path, holder, purpose, run, lease=None, break_stale=False, now=None, running=process_running):
    """Take deploy.lock. Returns the record of a dead run's lock it took over, or None.
    Raises LockHeld naming holder, purpose, age and the lease when a live run holds it."""
    when = time.time() if now is None else now
    _sweep_temporaries(deploy_path, when)
    record = record_for(holder, purpose, run, when, lease, os.getpid(), process_start(os.getpid()))
    lock = os.path.join(deploy_path, LOCK_DIR)
    try:
        if install(deploy_path, record):
            return None
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise LockError("no space left under %s to take the lock (%s). Free some space (releases.yml lists "
                            "the releases; old files in the home), then run again; no lock was left behind. "
                            "Nothing was changed." % (deploy_path, error.strerror)) from None
        raise
    info = read_lock(deploy_path, when)
    if info is None:  # given back meanwhile
        if install(deploy_path, record):
            return None
        info = read_lock(deploy_path, when) or {}
    is_alive, why = alive(info, when, running)
    if is_alive and break_stale and info.get("lease_until") is None and not info.get("hold"):
        is_alive, why = False, "it carries no lease and deploy_break_lock=true was given"
    if is_alive or not take_over(deploy_path, info):
        raise LockHeld(held_message(lock, info, why), dict(info, alive=True, why=why))
    if not install(deploy_path, record):
        info = read_lock(deploy_path, when) or {}
        raise LockHeld(held_message(lock, info, "it was taken just now"), dict(info, alive=True))
    return dict(info, alive=False, why=why)


def take_over(deploy_path, dead):
    """Move a dead run's lock aside, making sure it is still the one judged dead."""
    aside = os.path.join(deploy_path, _DEAD_PREFIX + uuid.uuid4().hex)
    try:
        os.rename(os.path.join(deploy_path, LOCK_DIR), aside)
    except OSError:
        return False
    moved = _read_all(os.path.join(aside, LOCK_HOLDER)) or ""
    try:
        same = json.loads(moved).get("run") == dead.get("run")
    except (ValueError, AttributeError):
        same = dead.get("run") is None
    if not same:  # another run took it over and made its own between our read and our rename
        try:
            os.rename(aside, os.path.join(deploy_path, LOCK_DIR))
        except OSError:
            pass
        return False
    shutil.rmtree(aside, ignore_errors=True)
    return True


def break_lock(deploy_path, now=None, running=process_running):
    """Remove the lock of a run proven dead (lock.yml -e break=true). Returns the removed record
    (None when free); raises LockHeld when its run is alive."""
    when = time.time() if now is None else now
    info = read_lock(deploy_path, when)
    if info is None:
        return None
    is_alive, why = alive(info, when, running)
    if is_alive and (info.get("lease_until") is not None or info.get("hold")):
        raise LockHeld(held_message(os.path.join(deploy_path, LOCK_DIR), info, why, breaking=True),
                       dict(info, alive=True, why=why))
    if not take_over(deploy_path, info):
        raise LockHeld("the lock changed while it was being broken; run lock.yml again. Nothing was changed.", info)
    return dict(info, alive=False, why=why)


def renew_lock(deploy_path, run, lease, now=None):
    """Renew this run's lease from the stage now running (its pid keeps the lock alive while it
    runs). Raises LockLost when the lock is no longer this run's: the stage must stop."""
    when = time.time() if now is None else now
    lock = os.path.join(deploy_path, LOCK_DIR)
    info = read_lock(deploy_path, when)
    if info is None or info.get("run") != run:
        raise LockLost(
            "this run no longer holds %s (%s): its lease ran out and the lock was %s. Stopping before any "
            "further change; the release this run built is left incomplete and is pruned later. Check what "
            "is live with status.yml, then deploy again." % (
                lock, "free now" if info is None else "now %s's, for %s" % (info.get("holder"), info.get("purpose")),
                "given up" if info is None else "taken over by another run"))
    record = dict(info, pid=os.getpid(), pid_start=process_start(os.getpid()))
    record.pop("age_seconds", None)
    if lease:
        record.update(lease_seconds=int(lease), lease_until=int(when) + int(lease))
    temp = os.path.join(lock, ".%s.tmp-%s" % (LOCK_HOLDER, uuid.uuid4().hex))
    _write_record(temp, record)
    try:
        os.rename(temp, os.path.join(lock, LOCK_HOLDER))
    except OSError:
        os.unlink(temp)
        raise
    return record


def give_lock(deploy_path, run):
    """Give the lock back if this run holds it; True when it was removed. Moved aside first, so
    nobody ever sees a lock half removed."""
    info = read_lock(deploy_path)
    if info is None or info.get("run") != run:
        return False
    return take_over(deploy_path, info)


# --- the stages' side ------------------------------------------------------------------------

# The option every host stage after deploy_begin takes (documented the same way in each module).
LEASE_OPTION = dict(type="dict", default=None)


def lease_of(deploy_path, run, seconds):
    """What deploy_begin hands the later stages: enough to renew this run's lease."""
    return {"path": deploy_path, "run": run, "seconds": int(seconds)} if seconds else None


def renew(lease, now=None):
    """Renew the lease at the start of a host stage, inside its own call (no extra round trip).
    Returns None when renewed (or there is nothing to renew), else why this stage must stop: the
    lock is no longer this run's. A renewal the disk cannot take is skipped: the stage's own
    process keeps the lock alive while it runs."""
    try:
        if lease and lease.get("run") and lease.get("path"):
            renew_lock(lease["path"], lease["run"], lease.get("seconds"), now)
    except LockLost as lost:
        return str(lost)
    except OSError:
        pass
    return None
