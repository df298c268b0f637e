"""The README's command blocks run as written, against this scenario's test host, and do what the README
says they do. The commands are read from README.md at collection time (sections "After `make demo`",
"Everyday commands", "Troubleshooting"), in their order; each must match one entry of OUTCOMES, which
asserts its claimed outcome. A command added to those sections without an asserted outcome fails here.

Placeholders in the README become real values of this host: `my-branch` the sample repository's
`develop`, a release name like 20261125T110425Z a good release that is not live. The inventory is the
scenario's (the README points at the demo's with ANSIBLE_INVENTORY; that line is the set-up this
harness does itself). Runs last in the scenario (zz): it moves prod and test."""
import re
import shlex

import pytest

from deploytest import (ENVS, REPO, USER, as_root, current_release, env_of, flat, main_pid, marks, only_on, playbook,
                        refs, release_names, state)

SECTIONS = ("## After `make demo`", "## Everyday commands", "## Troubleshooting")
# Lines of the blocks that set up the shell (the harness does this itself).
SETUP = (re.compile(r"^\. \.venv/bin/activate$"), re.compile(r"^export ANSIBLE_INVENTORY=inventory/demo/hosts\.yml$"))
# Inline commands in prose (Troubleshooting): `ansible-playbook ...`, `journalctl ...`, `systemctl ...`, `sudo ...`.
INLINE = re.compile(r"`((?:ansible-playbook|journalctl|systemctl|sudo) [^`]+)`")


def readme_commands():
    text = (REPO / "README.md").read_text()
    found = []
    for title in SECTIONS:
        body = text.split(title, 1)[1].split("\n## ", 1)[0]
        for block in re.findall(r"```sh\n(.*?)```", body, re.S):
            for line in block.splitlines():
                command = line.split("  #", 1)[0].strip()
                if command and not any(p.match(command) for p in SETUP):
                    found.append(command)
        if title == "## Troubleshooting":
            found += INLINE.findall(re.sub(r"```.*?```", "", body, flags=re.S))
    unique = []
    for command in found:
        if command not in unique:
            unique.append(command)
    return unique


COMMANDS = readme_commands()


def run(host, command):
    """Run one README command; ansible-playbook through the scenario's inventory, others on the host."""
    argv = shlex.split(command)
    if argv[0] == "ansible-playbook":
        args = argv[2:]
        limit = "prod,test"
        if "-l" in args:
            at = args.index("-l")
            limit = args[at + 1]
            del args[at:at + 2]
        args = [("release=" + good_older_release(host)) if re.fullmatch(r"release=\d{8}T\d{6}Z", a) else
                ("revision=develop" if a == "revision=my-branch" else a) for a in args]
        return playbook(argv[1], limit, *args)
    if argv[0] == "sudo":
        return as_root(*argv[1:])
    return host.run(command)


def good_older_release(host):
    """A good release of prod other than the live one (the README's example release name)."""
    live = current_release(host)
    candidates = [n for n in release_names(host) if n != live and ".deploy-bad" not in marks(host, n)
                  and host.file(f"{env_of(host)['path']}/releases/{n}/.deploy-complete").exists]
    assert candidates, "prod has no other good release to go to"
    return candidates[-1]


def summary(done, env):
    found = [s for s in done.summaries if s.get("environment") == env]
    assert found, done.output[-3000:]
    return found[-1]


def revision(host, env="prod"):
    return host.run(f"cat {ENVS[env]['path']}/current/REVISION").stdout.strip()


# --- what each command claims, asserted -------------------------------------------------------------
# Each entry: (pattern the command must match, check(host, done, before)). `before` is the host's
# deploy state (deploytest.state) and prod's live release name, read just before the command.


def deployed(ref, env="prod"):
    def check(host, done, before):
        assert done.returncode == 0, done.output[-3000:]
        assert summary(done, env)["result"] == "ok"
        assert revision(host, env) == refs()[ref]
    return check


def rolled_back(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    assert summary(done, "prod")["action"] == "rollback"
    assert current_release(host) != before["live"] and current_release(host) < before["live"]


def rolled_to_named(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    name = re.search(r"release=(\d{8}T\d{6}Z)", " ".join(done.args)).group(1)
    assert current_release(host) == name


def listed(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert "RELEASE" in out and "STATE" in out and "COMMIT" in out and current_release(host) in out


def status_shown(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert f"live: {current_release(host)}" in out and "service: active (running)" in out


def check_mode(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    assert "Check mode (nothing changed): would deploy" in flat(done.output)
    assert state(host) == before["state"], "check mode changed the host"


def every_environment(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    assert {s["environment"] for s in done.summaries} == {"prod", "test"}
    assert all(s["result"] == "ok" for s in done.summaries)


def doctor(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert "is ready for a deploy" in out and "FAIL " not in out


def lock_shown(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    assert "lock" in flat(done.output).lower()


def lock_broken(host, done, before):
    # The README: "remove a lock left by a killed run". The harness left one (a run dead for 3 h).
    assert done.returncode == 0, done.output[-3000:]
    assert not host.file(f"{env_of(host)['path']}/deploy.lock").exists
    assert "carol" in flat(done.output)


def held(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    record = host.file(f"{env_of(host)['path']}/deploy.lock/holder").content_string
    assert '"hold": true' in record and "career fair until Friday" in record
    assert "held on purpose" in flat(done.output) and "career fair until Friday" in flat(done.output)


def unheld(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    assert not host.file(f"{env_of(host)['path']}/deploy.lock").exists
    assert "free: no deploy or rollback holds" in flat(done.output)


def logs_shown(host, done, before):
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert "hknweb.service" in out and "hknweb.socket" in out and "Booting worker" in out, out[-3000:]


def journal(host, done, before):
    assert done.rc == 0 and done.stdout.strip(), done.stderr


def units_shown(host, done, before):
    # `systemctl status` exits 0 only when every unit named is active; both units are shown.
    assert done.rc == 0 and done.stdout.count("Active: active (") == 2, done.stdout
    assert "hknweb.service - " in done.stdout and "hknweb.socket - " in done.stdout


def lingering(host, done, before):
    assert done.returncode == 0 and host.file(f"/var/lib/systemd/linger/{USER}").exists


OUTCOMES = [
    (r"deploy\.yml -l prod -e revision=(r\d)$", None),  # filled in below: deployed(<that tag>)
    (r"releases\.yml -l prod$", listed),
    (r"rollback\.yml -l prod$", rolled_back),
    (r"rollback\.yml -l prod -e release=\d{8}T\d{6}Z$", rolled_to_named),
    (r"status\.yml -l prod$", status_shown),
    (r"deploy\.yml -l prod -e revision=r\d --check --diff$", check_mode),
    (r"deploy\.yml -l prod --check --diff$", check_mode),
    (r"deploy\.yml -l prod$", deployed("master")),
    (r"deploy\.yml -l test -e revision=my-branch$", deployed("develop", "test")),
    (r"deploy\.yml -e (?:serial|deploy_batch)=1$", every_environment),
    (r"check\.yml -l prod$", doctor),
    (r"lock\.yml -l prod$", lock_shown),
    (r"lock\.yml -l prod -e break=true$", lock_broken),
    (r"lock\.yml -l prod -e \"hold='career fair until Friday'\"$", held),
    (r"lock\.yml -l prod -e unhold=true$", unheld),
    (r"logs\.yml -l prod$", logs_shown),
    (r"journalctl --user -u hknweb\.service -n 100$", journal),
    (r"systemctl --user status hknweb\.service hknweb\.socket$", units_shown),
    (r"sudo loginctl enable-linger hkn$", lingering),
]


def outcome(command):
    for pattern, check in OUTCOMES:
        match = re.search(r"(?:ansible-playbook |^)" + pattern, command)
        if match:
            return check or deployed(match.group(1))
    return None


def test_the_readme_sections_hold_commands():
    assert len(COMMANDS) >= 15, COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_has_an_asserted_outcome(command):
    assert outcome(command), f"README command without an asserted outcome here: {command}"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_readme_command_does_what_the_readme_says(host, command):
    only_on(host, "prod", "the commands name their environment with -l")
    check = outcome(command)
    if check is None:
        pytest.fail(f"no outcome for {command}")
    if "break=true" in command:
        # A lock left by a killed run (holder carol, 3 h old), as the README's case describes.
        stale = '{"holder": "carol", "purpose": "deploy r5", "epoch": %d}' % (int(host.run("date +%s").stdout) - 3 * 3600)
        host.run(f"mkdir {env_of(host)['path']}/deploy.lock && echo '{stale}' > {env_of(host)['path']}/deploy.lock/holder")
    before = dict(state=state(host), live=current_release(host), pid=main_pid(host))
    done = run(host, command)
    check(host, done, before)


def test_the_environments_serve_after_the_readme_commands(host):
    assert host.run(env_of(host)["curl"] + "/health").rc == 0
