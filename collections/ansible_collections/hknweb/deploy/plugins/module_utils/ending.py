# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The failure ending's two decisions: what is live now and what to do next.

"Live now" is read from the host after the failure (releases_info: the release `current` names, the
release the service's master runs, whether it answers the health check), never inferred from how
far the run got. "Next" follows from what happened: a rollback is suggested only when the release
that failed is the one serving; every command names its environment with -l. Pure functions over
plain dicts; unit tested without Ansible or a host (tests/unit/test_endings.py).
"""

from __future__ import annotations

from ansible_collections.hknweb.deploy.plugins.module_utils import rollback_guard, stages

# The stages whose failure is in what the new release brings (its commit, a knob, the host): fixed, then deployed again.
BUILD_STAGES = (stages.DEPENDENCIES, stages.DJANGO)


def _short(sha):
    return (sha or "?")[:12]


def _label(entry, name):
    """'NAME (sha "subject", ref)' for a release of the host's listing."""
    if not entry:
        return name
    bits = [_short(entry.get("revision"))]
    if entry.get("subject"):
        bits.append('"%s"' % entry["subject"])
    if entry.get("ref"):
        bits.append(entry["ref"])
    return "%s (%s)" % (name, ", ".join(bits))


def failure_of(result, task_name):
    """What a playbook's rescue keeps of the failed task for the ending (the failure_of filter): the
    stage the module named (else the task's name), its message as the cause, and the whole result
    (a rollback's failure carries what both halves found)."""
    result = result if isinstance(result, dict) else {}
    return {"stage": result.get("stage") or task_name, "cause": result.get("msg") or "unknown", "result": result}


def serving(seen):
    """What the host really runs, from releases_info: dict(release, current, answers, status, health, ok).

    `release` is the release the service's master runs (its working folder), read after the health
    request (which starts a stopped service behind its socket); `ok` is False when the host could
    not be read at all."""
    # releases_info always answers with deploy_path; without it the read failed (the rescue's
    # failed_when: false turns "failed" off, so that key alone cannot tell).
    if not isinstance(seen, dict) or seen.get("failed") or seen.get("unreachable") or not seen.get("deploy_path"):
        return dict(ok=False, why=(seen or {}).get("msg") or "not read", release=None, current=None,
                    answers=False, status=None, health=None)
    service = seen.get("service") or {}
    status = service.get("health_status")
    runs = service.get("runs")
    return dict(ok=True, why=None, release=runs, current=seen.get("live"), answers=status is not None,
                status=status, health=service.get("health"), active=service.get("active"),
                problem=seen.get("problem"))


def live_now(seen, unit):
    """The text after "Live now: ", and the serving facts it was read from."""
    live = serving(seen)
    if not live["ok"]:
        return "unknown: the host could not be read after the failure (%s)" % live["why"], live
    releases = {r["name"]: r for r in seen.get("releases") or []}
    release, current = live["release"], live["current"]
    if release is None:
        where = ("current names %s" % _label(releases.get(current), current) if current
                 else "current names no release (%s)" % (live["problem"] or "absent"))
        if live["answers"]:  # not the app's master: something else holds its address
            return "no release: %s runs nothing, yet %s (another program on its address?); %s" % (
                unit or "the service", live["health"], where), live
        return "nothing answers: %s; %s is %s%s" % (
            where, unit or "the service", live["active"] or "not running",
            " (%s)" % live["health"] if live["health"] else ""), live
    text = "%s: %s runs it" % (_label(releases.get(release), release), unit or "the service")
    text += ", %s" % live["health"] if live["answers"] else " but it does not answer (%s)" % (live["health"] or "not asked")
    if current != release:
        text += "; current names %s" % (current or "no release (%s)" % (live["problem"] or "absent"))
    return text, live


def kind_of(data, live):
    """What happened, as one word the next step is chosen from."""
    stage = data.get("stage") or ""
    cause = data.get("cause") or ""
    activate = data.get("activate") or {}
    if stage == stages.LOCK:
        # A lock with a lease is taken over by itself once its run is dead; one without (an older
        # version's) only a person can judge (module_utils/lock.alive says which in the cause).
        if "is held on purpose" in cause:
            return "held"  # a hold (holds.py): nobody gives it back by themselves, and nobody may break it
        return "old lock" if "carries no lease" in cause else "lock"
    if "No space left on device" in cause or "ENOSPC" in cause:
        return "disk"
    if live["ok"] and live.get("current") is None and live.get("problem") and (data.get("seen") or {}).get("releases"):
        return "current"
    if stage == stages.HEALTH:
        if activate.get("reverted"):
            return "reverted"
        if "failed its trial run" in cause:
            return "trial"
        return "unhealthy"
    if stage in BUILD_STAGES:
        return "build"
    if (data.get("begin") or {}).get("last_run") in rollback_guard.REFUSALS:
        return "served all along"  # rollback_guard refused: the live release is not the one that failed
    if stage == stages.SCHEMA:
        return "schema"
    if stage == stages.BEGIN:
        return "input"
    # Any other stage, and a failure that names none (its task's name instead): the general advice.
    return "other"


FIX = {
    "trial": "the trial run's output above is the cause (the release never served, so the unit's journal holds "
             "nothing of it); fix what it names",
    "reverted": "the unit's journal above is the cause (journalctl --user -u {unit} -n 100 on the host shows more); "
                "fix what it names",
    "unhealthy": "the unit's journal above is the cause (journalctl --user -u {unit} -n 100 on the host); fix what "
                 "it names",
    "build": "fix what the cause above names (in the commit, in the knob it names, or on the host)",
    "input": "fix what the cause above names (nothing was changed)",
    "schema": "the cause above lists the migrations the target does not know (nothing was changed)",
    "other": "fix the cause above",
}


def next_step(case):
    """The text after "Next: ". case: action, environment, kind, failed (the release this run tried
    to make live, or None), serving (the release the host runs, or None), answers (it answers the
    health check), rollback_target (where rollback.yml would go), unit, deploy_path, unread (the
    host could not be read)."""
    env, action = case.get("environment") or "<env>", case.get("action") or "deploy"
    scope = "-l %s" % env
    kind, failed, now = case["kind"], case.get("failed"), case.get("serving")
    if case.get("unread"):
        return "ansible-playbook status.yml %s shows what the host runs and answers; fix the cause above" % scope
    if kind == "lock":
        return ("wait for the run that holds the lock; if it was killed, the next ansible-playbook %s.yml %s takes "
                "the lock over by itself once its lease has run out and no stage of it runs (ansible-playbook "
                "lock.yml %s shows the holder and the lease)" % (action, scope, scope))
    if kind == "held":
        return ("the environment is held on purpose (the message above); once it may change, whoever held it lifts "
                "the hold: ansible-playbook lock.yml %s -e unhold=true, then ansible-playbook %s.yml %s" % (scope, action, scope))
    if kind == "old lock":
        return ("if the run that holds the lock is over (its lock, from an older version, has no lease): "
                "ansible-playbook lock.yml %s -e break=true removes it (ansible-playbook lock.yml %s shows it)"
                % (scope, scope))
    if kind == "disk":
        return ("free space on the filesystem of %s (df -h %s on the host), then ansible-playbook %s.yml %s "
                "(a deploy prunes what this run left)" % (case.get("deploy_path"), case.get("deploy_path"), action, scope))
    if kind == "current":
        back = ("ln -sfn releases/%s %s/current" % (now, case.get("deploy_path")) if now
                else "point it at a good release (ansible-playbook releases.yml %s lists them)" % scope)
        return ("current was changed by hand: put it back on the host (%s), then ansible-playbook status.yml %s"
                % (back, scope))
    if kind == "schema" and action == "rollback":
        return ("%s serves, as before this run; the migrations the target does not know are listed above: "
                "ansible-playbook rollback.yml %s -e rollback_migrations=unapply reverses them with the newer "
                "release's code after a fresh backup (or =code-only switches and leaves the schema)"
                % (now or "the live release", scope))
    if kind == "served all along":
        return ("nothing to undo: %s has served all along; to finish that deploy, run it again: ansible-playbook "
                "deploy.yml %s; only if %s itself is bad: ansible-playbook rollback.yml %s -e deploy_rollback_anyway=true"
                % (now or "the live release", scope, now or "it", scope))
    if failed and failed == now:
        if case.get("rollback_target"):
            return ("ansible-playbook rollback.yml %s puts %s back (%s, the release that failed, is the one "
                    "serving); then fix the cause and deploy again" % (scope, case["rollback_target"], failed))
        return ("fix the cause and deploy again: ansible-playbook deploy.yml %s (%s is serving and there is no "
                "earlier good release to roll back to)" % (scope, failed))
    fix = FIX.get(kind, FIX["other"]).format(unit=case.get("unit") or "<unit>")
    kept = ""
    if now and not case.get("answers"):
        kept = "%s is live but does not answer either: ansible-playbook status.yml %s shows why; " % (now, scope)
    elif now and action == "deploy":
        kept = "%s serves, as before this run (a rollback would go one release further back); " % now
    elif now:
        kept = "%s serves, as before this run; " % now
    if action == "rollback":
        return ("%s%s; or roll back to another release by name: ansible-playbook releases.yml %s lists them, "
                "ansible-playbook rollback.yml %s -e release=<name>" % (kept, fix, scope, scope))
    return "%s%s; then deploy again: ansible-playbook deploy.yml %s" % (kept, fix, scope)
