# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The switch as a plan (release_activate, release_rollback): from the mode, the options, what is on
the host and what changed, the ordered steps (each with its reason) and the diff. Pure: no disk,
no processes, no Ansible import; the executor (switch_exec.py) runs the steps through one host
object, and check mode returns the plan without running it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import BAD


@dataclass(frozen=True)
class Options:
    """The switch's inputs from the playbook (release_activate's options, release_rollback's half)."""

    path: str
    service: str
    bind: str
    mode: str = "deploy"  # deploy | rollback | ensure
    release: str | None = None
    record: dict = field(default_factory=dict)
    mark_previous_bad: bool = True
    files: list = field(default_factory=list)
    socket: str = ""
    health_path: str = "/"
    health_host: str = "localhost"
    health_timeout: int = 60
    restart: bool = False
    trial: dict = field(default_factory=dict)
    links: list = field(default_factory=list)
    deployer: str = "unknown"
    ref: str = ""
    run: str = ""
    prune: bool = False
    keep: object = 5
    unlock: bool = False
    reload: bool = True

    @classmethod
    def from_params(cls, params, **override):
        names = {f.name for f in fields(cls)}
        values = {name: value for name, value in params.items() if name in names}
        values.update(override)
        return cls(**values)


@dataclass(frozen=True)
class Observed:
    """What is on the host before the switch (read once, by switch_exec.observe)."""

    exists: bool = True  # the deploy path is a folder (False: a dry run before the first deploy)
    live: str | None = None
    releases: dict = field(default_factory=dict)  # name -> {"state", "record", "revision"}
    files: dict = field(default_factory=dict)  # path -> (content or None, mode or None)
    enabled: bool = True  # the socket and service units are enabled
    socket_active: bool = True
    service_state: str = "active"  # ActiveState
    service_sub: str = "running"  # SubState
    master_pid: int = 0
    master_release: str | None = None  # the real folder the master runs in
    master_venv: str | None = None  # the real folder of that release's venv
    release_dirs: dict = field(default_factory=dict)  # name -> its real folder
    venvs: dict = field(default_factory=dict)  # name -> the real folder of its venv
    links: dict = field(default_factory=dict)  # path -> "absent" | "not a link" | the link's text


@dataclass(frozen=True)
class Step:
    name: str
    reason: str
    args: dict = field(default_factory=dict)

    def describe(self):
        return dict(step=self.name, reason=self.reason)


@dataclass(frozen=True)
class Action:
    """What the service gets: "none" (only proven), "reload" (HUP to `pid`) or "restart"."""

    kind: str
    reasons: tuple = ()
    pid: int = 0


@dataclass(frozen=True)
class Plan:
    steps: tuple = ()
    diff: tuple = ()
    files_changed: tuple = ()
    links_changed: tuple = ()
    socket_note: str = ""
    restart_reasons: tuple = ()
    previous: str | None = None
    live_after: str | None = None  # what is live once every step succeeded
    switched: bool = False
    refusal: dict | None = None  # a failure found before anything runs: {"msg", "stage"}

    @property
    def changed(self):
        return bool(self.switched or self.files_changed or self.links_changed)

    def names(self):
        return [step.name for step in self.steps]


def changed_files(files, observed):
    """The files whose content or mode differ from the host's, with their diffs."""
    changed, diff = [], []
    for item in files:
        before, mode = observed.files.get(item["path"], (None, None))
        if before == item["content"] and mode == file_mode(item):
            continue
        changed.append(item)
        diff.append(dict(before_header=item["path"], after_header=item["path"], before=before or "",
                         after=item["content"]))
    return changed, diff


def file_mode(item):
    return int(str(item.get("mode") or "0644"), 8)


def socket_step(opts, observed, socket_changed):
    """The socket unit must hold the socket before anything goes live; None when it does."""
    if not opts.socket or (observed.socket_active and not socket_changed):
        return None
    if observed.service_state in ("active", "activating", "reloading"):
        note = ("the socket's definition changed: restarting %s (connections are refused for a "
                "moment, once)" % opts.socket) if observed.socket_active else (
            "moving %s to socket activation: it is stopped so %s can take its socket (connections "
            "are refused for a moment, once; later restarts refuse none)" % (opts.service, opts.socket))
    else:
        note = "starting %s" % opts.socket
    return Step("socket", note, dict(restart=observed.socket_active, stop_service=not observed.socket_active))


def service_action(opts, observed, target, files_changed, socket_note, trial_runs):
    """Reload, restart or leave the service: the one place that decides it.

    Going to another release, gunicorn's master may stay and only its workers change (HUP) when
    nothing but the code changes: the service's files and socket are the same, the release proved
    it answers (its trial run, or, for a rollback, its time live), and it uses the venv the running
    master was started from (same interpreter and packages). Staying on the live release (ensure),
    the service is restarted only when something asks for it, else only proven."""
    live = observed.live
    reasons = [socket_note] if socket_note else []
    if target == live:
        if opts.restart:
            reasons.append("asked for (shared files changed, or a killed run was undone)")
        if files_changed:
            reasons.append("the service's files changed")
        if observed.service_state != "active" or not observed.master_pid:
            reasons.append("the service is %s" % (observed.service_state or "not loaded"))
        elif live and observed.master_release != observed.release_dirs.get(live):
            reasons.append("it runs %s, not the live release %s" % (
                (observed.master_release or "?").rstrip("/").rsplit("/", 1)[-1], live))
        return Action("restart" if reasons else "none", tuple(reasons))
    reasons.append("%s goes live" % target)
    reloadable = (opts.reload and not opts.restart and not files_changed and not socket_note
                  and (opts.mode != "deploy" or trial_runs)
                  and observed.master_pid and observed.service_sub == "running" and observed.master_release
                  and observed.master_venv is not None and observed.master_venv == observed.venvs.get(target))
    if reloadable:
        reasons.append("graceful reload (gunicorn HUP): same venv and service files, so only the workers change")
        return Action("reload", tuple(reasons), observed.master_pid)
    return Action("restart", tuple(reasons))


def link_refusal(links):
    for path, state in links.items():
        if state == "not a link":
            return dict(stage="links", msg="%s exists and is not a link (a shared STATIC_ROOT of an older deploy?). "
                        "The deploy never deletes it: move it away (mv %s %s.old) or drop the link setting. "
                        "Nothing was switched." % (path, path, path))
    return None


def first_deploy(opts, links):
    """A dry run before the first deploy: say what would happen, touch nothing."""
    return Plan(files_changed=tuple(f["path"] for f in opts.files), live_after=opts.release, links_changed=tuple(links),
                switched=bool(opts.release), previous=None,
                restart_reasons=("first deploy: %s would be created and started" % opts.service,),
                steps=(Step("first deploy", "the deploy path does not exist yet"),))


def plan(opts, observed, links, check=False):
    """The switch's steps for `opts.mode` on what was `observed`. `links` maps each link's
    (expanded) path to its target. Returns a Plan (its refusal set when nothing may run)."""
    if not observed.exists:
        return first_deploy(opts, links)
    live = observed.live
    target = live if opts.mode == "ensure" else opts.release
    refusal = link_refusal(observed.links)
    if refusal is None and target != live and target not in observed.releases \
            and not (check and opts.mode == "deploy"):
        refusal = dict(stage="switch", msg="%s is not a release in %s" % (target, opts.path))
    if refusal:
        return Plan(previous=live, live_after=live, refusal=refusal)
    steps = []
    trial_runs = bool(opts.mode == "deploy" and target != live and opts.trial and opts.health_path)
    if trial_runs:
        steps.append(Step("trial", "%s answers on a private socket before anything the live service "
                          "depends on changes" % target, dict(release=target)))
    changed, diff = changed_files(opts.files, observed)
    if changed:
        steps.append(Step("write files", "their content or mode differ", dict(files=changed)))
    if any(item.get("unit") for item in changed):
        steps.append(Step("daemon-reload", "a unit file changed"))
    if not observed.enabled:
        steps.append(Step("enable", "the units are not both enabled"))
    socket_changed = bool(opts.socket) and any(item["path"].endswith("/" + opts.socket) for item in changed)
    sock = socket_step(opts, observed, socket_changed)
    if sock:
        steps.append(sock)
    socket_note = sock.reason if sock else ""
    service_changed = bool(changed)  # every file given is one of the service's
    action = service_action(opts, observed, target, service_changed, socket_note, trial_runs)
    if target != live:
        steps += switch_steps(opts, observed, target)
        diff.append(dict(before_header="current", after_header="current",
                         before="current -> %s\n" % live, after="current -> %s\n" % target))
    stale = {path: wanted for path, wanted in links.items() if observed.links.get(path) != wanted}
    steps += service_steps(action, target)
    steps += tail_steps(opts, observed, stale)
    return Plan(steps=tuple(steps), diff=tuple(diff), files_changed=tuple(item["path"] for item in changed),
                links_changed=tuple(stale),
                socket_note=socket_note, restart_reasons=action.reasons, previous=live, live_after=target,
                switched=target != live)


def switch_steps(opts, observed, target):
    live = observed.live
    # The intent first: a run that dies after the completion record is written finds an intent
    # record, so the next run marks that never-proven release bad instead of taking it as good.
    steps = [Step("intent", "a run killed from here on is undone by the next one",
                  dict(op=opts.mode, previous=live, target=target))]
    if opts.mode == "deploy" and opts.record:
        steps.append(Step("record", "the release is complete", dict(release=target, record=opts.record)))
    steps.append(Step("switch", "%s goes live" % target, dict(release=target)))
    if opts.mode == "rollback":
        if observed.releases.get(target, {}).get("state") == BAD:
            steps.append(Step("clear bad", "a rollback to it says it is good again", dict(release=target)))
        if opts.mark_previous_bad and live and live != target:
            steps.append(Step("mark bad", "rolled back by %s" % opts.deployer, dict(release=live)))
    known = observed.releases.get(target, {})
    record = opts.record or known.get("record") or {}
    steps.append(Step("log", "the event log says what went live", dict(
        event=opts.mode, release=target, sha=record.get("sha") or known.get("revision"),
        ref=opts.ref or record.get("ref"))))
    return steps


def service_steps(action, target):
    if not target:
        return []  # nothing deployed yet: nothing to restart or prove
    if action.kind == "reload":
        steps = [Step("reload", action.reasons[-1], dict(pid=action.pid, release=target))]
    elif action.kind == "restart":
        steps = [Step("restart", "; ".join(action.reasons), dict(release=target))]
    else:
        steps = []
    steps.append(Step("prove", "the release counts as live once it answers", dict(release=target)))
    return steps


def tail_steps(opts, observed, stale):
    """After the proof: the intent cleared, the links not yet as wanted (`stale`), the prune."""
    steps = []
    if opts.mode != "ensure" and opts.release != observed.live:
        steps.append(Step("clear intent", "the outcome is proven"))
    if stale:
        steps.append(Step("links", "they point through current", dict(links=stale)))
    if opts.prune:
        steps.append(Step("prune", "after a proven switch, as deploy_finish does", dict(keep=opts.keep)))
    return steps


def revert_steps(opts, target, previous, previous_marked_here):
    """Put `previous` back after `target` failed its health check (always a restart: the master
    that failed is not trusted with a reload)."""
    steps = [Step("mark bad", "failed its health check", dict(release=target))]
    if not previous:
        return steps + [Step("clear intent", "the first release stays, marked bad: nothing to go back to")]
    if previous_marked_here:
        steps.append(Step("clear bad", "the rollback's mark on it is undone", dict(release=previous)))
    steps += [Step("switch", "%s is put back" % previous, dict(release=previous)),
              Step("log", "the event log says what is live", dict(event="revert", release=previous, sha="", ref="")),
              Step("restart", "%s failed its health check" % target, dict(release=previous)),
              Step("prove", "is the release put back answering?", dict(release=previous)),
              Step("clear intent", "the outcome is known")]
    return steps
