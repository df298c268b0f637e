# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The machine-readable answers of status.yml, releases.yml, lock.yml and check.yml.

One JSON document per run, written to the file named by DEPLOY_JSON, shaped as docs/json-answers.md
describes (`version` says which shape; a field is only ever added within a version). Pure functions
from the modules' answers (plain dicts) to the document, unit tested without Ansible.
"""

from __future__ import annotations

import datetime

VERSION = 1
ENV_VARIABLE = "DEPLOY_JSON"
KINDS = ("status", "releases", "lock", "check")


def _release(entry):
    if not entry:
        return None
    return {"name": entry.get("name"), "state": entry.get("state"), "live": bool(entry.get("live")),
            "rollback_target": bool(entry.get("rollback_target")), "commit": entry.get("revision"),
            "subject": entry.get("subject"), "ref": entry.get("ref"), "deployer": entry.get("deployer"),
            "time": entry.get("time")}


def _lock(lock):
    if not lock:
        return None
    return {key: lock.get(key) for key in ("holder", "purpose", "since", "age_seconds", "lease_until", "message")}


def _named(info, name):
    return next((r for r in info.get("releases") or [] if r.get("name") == name), None)


def status_entry(info):
    service = info.get("service")
    return {"deploy_path": info.get("deploy_path"), "live": _release(_named(info, info.get("live"))),
            "problem": info.get("problem"),
            "service": {key: service.get(key) for key in ("active", "sub", "since", "pid", "runs", "health",
                                                          "health_status")} if service else None,
            "rollback_target": info.get("rollback_target"), "lock": _lock(info.get("lock")),
            "unfinished_switch": info.get("intent"), "log_tail": list(info.get("log_tail") or [])}


def releases_entry(info):
    ordered = sorted(info.get("releases") or [], key=lambda r: r["name"], reverse=True)
    return {"deploy_path": info.get("deploy_path"), "live": info.get("live"),
            "rollback_target": info.get("rollback_target"), "releases": [_release(r) for r in ordered]}


def lock_entry(info):
    return {"deploy_path": info.get("deploy_path"), "held": bool(info.get("lock")), "lock": _lock(info.get("lock"))}


def check_entry(answers):
    doctor, plan = answers.get("doctor") or {}, answers.get("python") or {}
    problems = list(plan.get("problems") or [])
    checks = [{key: c.get(key) for key in ("name", "ok", "detail", "fix")} for c in doctor.get("checks") or []]
    return {"ready": bool(doctor.get("ok")) and not problems and not doctor.get("failed"), "checks": checks,
            "python": {"ok": not problems, "python": plan.get("python"), "strategy": plan.get("strategy"),
                       "problems": problems}}


ENTRY = {"status": status_entry, "releases": releases_entry, "lock": lock_entry, "check": check_entry}


def entry(kind, environment, host, answer):
    """One environment's part of the document; a host that did not answer says why."""
    out = {"environment": environment, "host": host}
    if not isinstance(answer, dict) or (kind != "check" and answer.get("failed")) or answer.get("unreachable"):
        out["error"] = (answer or {}).get("msg") if isinstance(answer, dict) else None
        out["error"] = out["error"] or "no answer from the host"
        return out
    out.update(ENTRY[kind](answer))
    return out


def document(kind, entries, now):
    """The whole document: {version, kind, written, environments: [...]}."""
    written = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"version": VERSION, "kind": kind, "written": written, "environments": list(entries)}
