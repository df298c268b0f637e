# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What the read-only entry points print: releases.yml's table, status.yml, lock.yml and check.yml,
and the first line of every run (which inventory, which hosts).

Pure functions over the modules' answers (plain dicts), used on the controller through the story
filters; unit tested without Ansible. A deploy's or rollback's own sentences are in story.py.
"""

from __future__ import annotations

import datetime

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.lock import describe_age
from ansible_collections.hknweb.deploy.plugins.module_utils.story import release_label, short


def releases_table(info):
    """releases_info's answer as lines with headers, newest first."""
    lines = ["%s: %d releases%s" % (info.get("deploy_path"), len(info.get("releases") or []),
                                    "; " + info["problem"] if info.get("problem") else "")]
    header = "%-17s %-12s %-12s %-20s %-10s %-20s %s" % ("RELEASE", "STATE", "COMMIT", "REF", "BY", "TIME", "SUBJECT")
    lines.append(header)
    made = {}
    for b in info.get("backups") or []:
        made.setdefault(b.get("release"), []).append(b)
    for r in sorted(info.get("releases") or [], key=lambda r: r["name"], reverse=True):
        flags = r["state"] + (" LIVE" if r["live"] else "") + (" <-back" if r["rollback_target"] else "")
        lines.append("%-17s %-12s %-12s %-20s %-10s %-20s %s" % (
            r["name"], flags, short(r.get("revision")), (r.get("ref") or "-")[:20], (r.get("deployer") or "-")[:10],
            r.get("time") or "-", r.get("subject") or ""))
        for b in made.get(r["name"], []):  # issue 21: the backups taken before this release's migrate
            lines.append("%-17s backup %s (%d bytes)" % ("", b["name"], b.get("bytes", 0)))
    lines.append("LIVE = current; <-back = where rollback.yml goes; unfinished = incomplete, never a target")
    if made:
        lines.append("backup = the database just before that release's migrations (restore.yml -e backup=<name>)")
    return lines


def run_target(inventories, hosts, hostvars, limit):
    """The first line of a run: the inventory, and each host with its environment and address."""
    described = []
    for host in hosts:
        hv = hostvars.get(host, {})
        groups = [g for g in hv.get("group_names", []) if g not in ("all", "ungrouped")]
        described.append("%s (%s) at %s:%s" % (host, "/".join(groups) or "no group",
                                               hv.get("ansible_host", host), hv.get("ansible_port", 22)))
    line = "inventory %s; this run touches %s" % (", ".join(inventories or []), "; ".join(described) or "no host")
    if not limit:
        line += ". No -l was given: EVERY environment of this inventory"
    return line


def status_lines(info, environment):
    """status.yml's answer for one environment."""
    releases = {r["name"]: r for r in info.get("releases") or []}
    live = releases.get(info.get("live")) or {}
    lines = ["%s: %s" % (environment, info.get("deploy_path"))]
    lines.append("live:     %s" % (release_label(live) if live else "nothing (%s)" % (info.get("problem") or "no current")))
    service = info.get("service") or {}
    if service:
        runs = service.get("runs")
        lines.append("service:  %s (%s) since %s, pid %s, runs %s%s" % (
            service.get("active"), service.get("sub"), service.get("since") or "-", service.get("pid"), runs or "-",
            "" if not live or runs == live.get("name") else "  <- NOT the live release: deploy again to restart it"))
        if service.get("health"):
            lines.append("health:   %s" % service["health"])
    target = info.get("rollback_target")
    lines.append("rollback: %s" % (release_label(releases.get(target)) if target else "no earlier good release"))
    lock = info.get("lock")
    lines.append("lock:     %s" % ("free" if not lock else "held by %s for %s, taken %s ago" % (
        lock.get("holder"), lock.get("purpose"), describe_age(lock.get("age_seconds", 0)))
        + ("; deploys and rollbacks are refused until it is lifted" if (lock or {}).get("hold") else "")))
    if info.get("intent"):
        intent = info["intent"]
        lines.append("unfinished switch: %s %s -> %s (a killed run; the next deploy or rollback undoes it)" % (
            intent.get("op"), intent.get("from"), intent.get("to")))
    lines.append("%s (last %d):" % (layout.REVISIONS_LOG, len(info.get("log_tail") or [])))
    lines.extend("  " + line.replace("\t", "  ") for line in info.get("log_tail") or [])
    return lines


def lock_line(info, environment, breaking=False):
    """lock.yml's answer: whose lock, for what, since when, and what to do."""
    lock = info.get("lock")
    where = "%s/%s" % (info.get("deploy_path"), layout.LOCK_DIR)
    if not lock:
        return "free: no deploy or rollback holds %s" % where
    if lock.get("hold"):
        return ("%s is held on purpose by %s since %s (%s ago): \"%s\"; deploys and rollbacks are refused until it "
                "is lifted: ansible-playbook lock.yml -l %s -e unhold=true" % (
                    where, lock.get("holder"), lock.get("since", "?"), describe_age(lock.get("age_seconds", 0)),
                    lock.get("message"), environment))
    line = "%s is held by %s for %s since %s (%s ago)" % (
        where, lock.get("holder"), lock.get("purpose"), lock.get("since", "?"), describe_age(lock.get("age_seconds", 0)))
    if lock.get("lease_until"):
        line += "; its lease runs until %s" % datetime.datetime.fromtimestamp(
            lock["lease_until"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if breaking:
        return line + "; removing it now if its run is dead (a live run's lock is not broken)"
    return line + ("; once its lease has run out and no stage of it runs, the next run takes it over"
                   if lock.get("lease_until") else
                   "; if that run is over: ansible-playbook lock.yml -l %s -e break=true" % environment)


def doctor_lines(doctor, python_plan):
    """check.yml's report: one line per check, PASS or FAIL with the fix."""
    lines = []
    for check in doctor.get("checks") or []:
        if check["ok"]:
            lines.append("PASS %-24s %s" % (check["name"], check["detail"]))
        else:
            fix = ("  -> fix: " + check["fix"]) if check["fix"] else ""
            lines.append("FAIL %-24s %s%s" % (check["name"], check["detail"], fix))
    problems = (python_plan or {}).get("problems") or []
    if problems:
        lines.extend("FAIL %-24s %s" % ("python", p) for p in problems)
    else:
        lines.append("PASS %-24s Python %s, install with %s" % ("python", python_plan.get("python"), python_plan.get("strategy")))
    return lines
