# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What a run says: the line after deploy_begin, the summary at the end, the failure ending.

Pure functions over the stages' results (plain dicts), used on the controller by the
`begin_story` filter and the `deploy_summary` action; unit tested without Ansible.
"""

from __future__ import annotations

import datetime

from ansible_collections.hknweb.deploy.plugins.module_utils import ending, pending
from ansible_collections.hknweb.deploy.plugins.module_utils.lock import describe_age


def short(sha):
    return (sha or "?")[:12]


def release_label(entry):
    """'20261126T120000Z (abc123def456 "Fix the footer", master)' from a described release."""
    if not entry:
        return "none"
    bits = [short(entry.get("revision"))]
    if entry.get("subject"):
        bits.append('"%s"' % entry["subject"])
    if entry.get("ref"):
        bits.append(entry["ref"])
    return "%s (%s)" % (entry.get("name"), ", ".join(bits))


def begin_story(begin, mode):
    """One line after the first stage: what this run is going to do."""
    if not isinstance(begin, dict) or begin.get("failed") or begin.get("skipped"):
        return "nothing begun"
    parts = []
    recovered = begin.get("recovered")
    if recovered:
        intent = recovered.get("intent") or {}
        parts.append("an interrupted %s (%s -> %s) was undone: %s is current again%s" % (
            intent.get("op"), intent.get("from"), intent.get("to"),
            recovered.get("restored") or intent.get("from") or "the same release",
            ", %s marked bad" % recovered["marked_bad"] if recovered.get("marked_bad") else ""))
    if begin.get("lock_broken"):
        lock = begin["lock_broken"]
        if lock.get("lease_until"):
            parts.append("took over the lock of a dead run: %s (%s, taken %s ago; %s)" % (
                lock.get("holder"), lock.get("purpose"), describe_age(lock.get("age_seconds", 0)), lock.get("why")))
        else:
            parts.append("broke the lock of %s (%s, taken %s ago)" % (lock.get("holder"), lock.get("purpose"),
                                                                     describe_age(lock.get("age_seconds", 0))))
    if begin.get("lock_waited"):
        parts.append("waited %s s for another run's lock (deploy_lock_wait)" % begin["lock_waited"])
    if begin.get("swept_trials"):
        parts.append("stopped the trial run a killed deploy left (%s)" % ", ".join(begin["swept_trials"]))
    if begin.get("shared_changed"):
        parts.append("shared files %s: %s (the service restarts)" % (
            "to rewrite" if begin.get("check_mode") else "rewritten", ", ".join(begin["shared_changed"])))
    if begin.get("shared_created"):
        parts.append("shared files %s empty: %s" % (
            "to create" if begin.get("check_mode") else "created", ", ".join(begin["shared_created"])))
    live = begin.get("live")
    if mode == "deploy":
        commit = '%s "%s"' % (short(begin.get("sha")), begin.get("subject", ""))
        if begin.get("needed"):
            parts.insert(0, "deploy %s as a new release; live now: %s" % (commit, release_label(live)))
        else:
            parts.insert(0, "%s is live already as %s: no new release" % (commit, (live or {}).get("name")))
    elif mode == "rollback":
        target = begin.get("target") or {}
        if begin.get("stayed"):
            parts.insert(0, "stay at %s: %s" % (release_label(live), begin["stayed"]))
            return "; ".join(parts)
        parts.insert(0, "roll %s from %s to %s" % (begin.get("direction", "back"), release_label(live), release_label(target)))
    return "; ".join(parts)


def python_line(plan):
    """One line after the Python plan: the interpreter, the range the commit declares, the
    installer and whether the venv of this dependency set is reused or built next."""
    if not isinstance(plan, dict) or plan.get("failed") or plan.get("skipped"):
        return "no Python plan"
    if plan.get("reused"):
        venv = "venv %s exists: no installer runs" % plan.get("key")
    elif plan.get("key"):
        listed = " (%d packages, lock-exact)" % plan["packages"] if plan.get("packages") else ""
        venv = "new dependency set: venv %s is built next by %s%s" % (plan["key"], plan.get("installer"), listed)
    else:
        venv = "the venv is planned once the commit is fetched"
    return "Python %s (%s); %s; install with %s (%s); %s" % (
        plan.get("python"), plan.get("executable"), " and ".join(plan.get("requires_python") or [])
        or "no declared range", plan.get("strategy"), plan.get("strategy_reason"), venv)


def where(bind, healthcheck_path):
    if not bind:
        return "?"
    if bind.startswith("unix:"):
        return "socket %s" % bind[5:]
    return "http://%s%s" % (bind, healthcheck_path or "/")


def django_line(entry):
    """One manage.py command of the run, as the summary says it."""
    if entry.get("said"):  # the Django stage's first entry: what the release's settings use
        return entry["said"]
    if entry.get("skipped"):
        return "%s skipped (%s)" % (entry.get("command"), entry["skipped"])
    return "%s (%s)" % (entry.get("command"), "changed" if entry.get("changed") else "nothing to do")


def summary(data):
    """The end-of-run summary of one environment: (dict for JSON, lines to print)."""
    begin = data.get("begin") or {}
    activate = data.get("activate") or {}
    finish = data.get("finish") or {}
    action = data.get("action", "deploy")
    releases = {r["name"]: r for r in begin.get("releases") or []}
    live_name = activate.get("live") or (begin.get("live") or {}).get("name")
    if isinstance(live_name, dict):  # a module's failure may carry the live release described
        live_name = live_name.get("name")
    live = releases.get(live_name) or ((begin.get("live") or {}) if (begin.get("live") or {}).get("name") == live_name else {})
    if action == "deploy" and begin.get("needed") and live_name == data.get("release"):
        live = dict(name=live_name, revision=begin.get("sha"), subject=begin.get("subject"), ref=data.get("ref"))
    health = activate.get("health") or {}
    out = {
        "environment": data.get("environment"),
        "host": data.get("host"),
        "action": action,
        "result": "failed" if data.get("failed") else ("check" if data.get("check_mode") else "ok"),
        "release": live_name,
        "commit": live.get("revision"),
        "subject": live.get("subject"),
        "ref": live.get("ref") or data.get("ref"),
        "deployer": data.get("deployer"),
        "previous": activate.get("previous") or (begin.get("live") or {}).get("name"),
        "new_release": bool(begin.get("needed")) and action == "deploy",
        "served_at": where(data.get("bind"), data.get("healthcheck_path")),
        "health": health.get("detail") if health else ("not checked (check mode)" if data.get("check_mode") else None),
        "restarted": activate.get("restarted", False),
        "reloaded": activate.get("reloaded", False),
        "restart_reasons": activate.get("restart_reasons") or [],
        "marked_bad": activate.get("marked_bad"),
        "pruned": finish.get("removed") or activate.get("removed") or [],
        "pruned_venvs": finish.get("removed_venvs") or activate.get("removed_venvs") or [],
        "shared_changed": begin.get("shared_changed") or [],
        "shared_created": begin.get("shared_created") or [],
        "django": [django_line(entry) for entry in data.get("django") or []],
        "venv": data.get("venv"),
        "seconds": data.get("seconds"),
        "attempted": attempted(data),
        "pending": begin.get("pending"),
        "started": iso_utc(data.get("started")),
        "ended": iso_utc(data.get("ended")),
    }
    out["live"] = dict(release=live_name, commit=out["commit"], answers=bool(health.get("ok")) if health else None,
                       health=out["health"])
    if data.get("failed"):
        out.update(stage=data.get("stage"), cause=data.get("cause"))
    if action == "rollback":
        out["stayed"] = begin.get("stayed")  # why a plain rollback kept the live release (rollback_guard)
    return out, summary_lines(out, data, begin)


def summary_lines(out, data, begin):
    """The summary's lines, from its record (`out`) and stage 1's result."""
    action = out["action"]
    verb = {"deploy": "Deployed", "rollback": "Rolled back"}.get(action, action)
    if out.get("stayed"):
        verb = "Rollback kept the live release of"
    if out["result"] == "check":
        verb = "Check mode (nothing changed): would deploy" if action == "deploy" else "Check mode: would roll back"
    if data.get("failed"):
        verb = "FAILED " + action
    lines = ["%s %s on %s in %ss" % (verb, out["environment"], out["host"], out["seconds"])]
    if action == "rollback" and begin.get("target"):
        # A rollback is one round trip: what it set out to do is told here, not before.
        lines.append("  what:      %s" % begin_story(begin, "rollback"))
        if not begin.get("stayed"):  # a rollback that stays moves no commit
            lines.append("  commits:   leaves %s, lands on %s" % (short((begin.get("live") or {}).get("revision")),
                                                                 short(begin["target"].get("revision"))))
            lines.extend("  " + line for line in pending.lines(begin.get("pending"), "rollback"))
    commit = "%s %s" % (short(out["commit"]), ('"%s"' % out["subject"]) if out["subject"] else "")
    lines.append("  live:      %s  %s  (ref %s)" % (out["release"] or "none", commit.strip(), out["ref"] or "-"))
    if out["previous"] and out["previous"] != out["release"]:
        lines.append("  previous:  %s" % out["previous"])
    elif action == "deploy" and not out["new_release"]:
        lines.append("  no new release: that commit was live already")
    lines.append("  served at: %s" % out["served_at"])
    lines.append("  health:    %s" % (out["health"] or "-"))
    if out["restart_reasons"]:
        lines.append("  restart:   %s" % "; ".join(out["restart_reasons"]))
    if out["marked_bad"]:
        lines.append("  marked bad: %s" % out["marked_bad"])
    if out["shared_changed"]:
        lines.append("  shared files written: %s" % ", ".join(out["shared_changed"]))
    if out["shared_created"]:
        lines.append("  shared files created empty: %s" % ", ".join(out["shared_created"]))
    if out["venv"]:
        lines.append("  venv:      %s" % out["venv"])
    if out["django"]:
        lines.append("  django:    %s" % "; ".join(out["django"]))
    lines.append("  pruned:    %s" % (", ".join(out["pruned"]) or "nothing")
                 + ("; venvs %s" % ", ".join(out["pruned_venvs"]) if out["pruned_venvs"] else ""))
    lines.append("  by:        %s" % (out["deployer"] or "-"))
    return lines


def attempted(data):
    """What the run set out to make live: ref, commit, release (the release may not exist yet)."""
    begin = data.get("begin") or {}
    if data.get("action", "deploy") == "rollback":
        target = begin.get("target") or {}
        return dict(ref=target.get("ref"), commit=target.get("revision"), subject=target.get("subject"),
                    release=target.get("name") or data.get("requested"))
    # A run that makes no new release (the commit is live already) tries to keep the live one up.
    needed = begin.get("needed")
    release = data.get("release") if needed else ((begin.get("live") or {}).get("name") if needed is False else None)
    return dict(ref=data.get("ref"), commit=begin.get("sha"), subject=begin.get("subject"), release=release)


def iso_utc(epoch):
    """ISO 8601 in UTC with a Z, to the second; None when unknown."""
    if epoch in (None, ""):
        return None
    return datetime.datetime.fromtimestamp(float(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_ending(data):
    """The closing message of a failed run: stage, cause, what is live (read from the host after
    the failure: data["seen"], releases_info's answer) and the next command (ending.next_step)."""
    out, lines = summary(data)
    seen = data.get("seen") or {}
    live_text, live = ending.live_now(seen, data.get("unit"))
    tried = out["attempted"]
    entry = {r["name"]: r for r in seen.get("releases") or []}.get(live["release"]) or {}
    out.update(release=live["release"], commit=entry.get("revision"), subject=entry.get("subject"),
               ref=entry.get("ref"), live=dict(release=live["release"], commit=entry.get("revision"),
                                               current=live.get("current"), answers=live["answers"],
                                               health=live.get("health"), read_from_host=live["ok"]))
    case = dict(action=data.get("action", "deploy"), environment=data.get("environment"),
                kind=ending.kind_of(data, live), failed=tried.get("release"), serving=live["release"],
                answers=live["answers"], rollback_target=seen.get("rollback_target"), unit=data.get("unit"),
                deploy_path=seen.get("deploy_path") or (data.get("begin") or {}).get("deploy_path"),
                unread=not live["ok"])
    out["next"] = ending.next_step(case)
    text = [
        "%s of %s failed at stage '%s'." % (data.get("action", "deploy").capitalize(), data.get("environment"),
                                           data.get("stage") or "?"),
        "Cause: %s" % (data.get("cause") or "?").strip(),
        "Live now: %s" % live_text,
        "Next: %s" % out["next"],
    ]
    batch, hosts = data.get("batch") or [], data.get("play_hosts") or []
    later = hosts[hosts.index(batch[-1]) + 1:] if batch and batch[-1] in hosts else []
    if later:
        # A rolling run (serial): Ansible stops after a batch whose every host failed.
        verb = {"deploy": "deployed", "rollback": "rolled back"}.get(data.get("action", "deploy"), "run")
        text.append("Not %s: %s (%s)" % (verb, ", ".join(later), "a failed batch stops the later ones"
                                         if len(batch) <= 1 else "when every host of this batch, %s, fails; "
                                         "else they go on" % ", ".join(batch)))
    cause = data.get("cause") or ""
    text[2:2] = ["Hint: %s" % hint["say"] for hint in data.get("hints") or [] if hint.get("match") and hint["match"] in cause]
    return "\n".join(text), out, lines
