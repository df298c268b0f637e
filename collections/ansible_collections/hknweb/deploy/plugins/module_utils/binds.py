# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Can this environment listen where it wants to (app_service_bind), judged from what is ON THE
HOST, before any unit file is written?

systemd rebinds a unix socket path that another unit holds without a word, and a socket unit that
cannot bind fails only after its unit file was rewritten: so the deploy (deploy_begin, stage 1)
and the doctor (check.yml) ask `decide` the one question, with what `observe` read from the host:
the account's other environments (their registry records), every socket unit the user manager
knows or has a file for, the socket folder, the path or the port.

`decide` is pure (unit tested in milliseconds); `observe` only reads (one systemctl call, a few
stats, a bind probe and, for our own live socket, a connect).
"""

from __future__ import annotations

import errno
import glob
import os
import socket

from ansible_collections.hknweb.deploy.plugins.module_utils import environments
from ansible_collections.hknweb.deploy.plugins.module_utils.host import systemctl

UNIT_DIR = os.path.join(".config", "systemd", "user")
WILDCARD = ("", "*", "0.0.0.0", "::", "[::]")


class Verdict:
    """ok: the bind may be used; repair: ours, but our socket unit no longer owns it (restart it);
    problem/fix/variable: why not and what to do."""

    def __init__(self, ok, detail="", problem="", fix="", variable="app_service_bind", repair=False):
        self.ok, self.detail, self.problem, self.fix = ok, detail, problem, fix
        self.variable, self.repair = variable, repair

    def refusal(self):
        """The deploy's one-line refusal: the knob, what is wrong, the fix, and that nothing changed."""
        return "%s: %s. Fix: %s. Nothing was changed." % (self.variable, self.problem, self.fix)


# --- addresses -----------------------------------------------------------------------------


def parse(bind):
    """'unix:/path' or a systemd ListenStream= path -> ('unix', path); 'HOST:PORT', '[v6]:PORT' or
    'PORT' -> ('tcp', host, port). None when it is neither."""
    bind = str(bind or "").strip()
    if bind.startswith("unix:"):
        bind = bind[5:]
    if bind.startswith("/"):
        return ("unix", os.path.normpath(bind))
    host, _, port = bind.rpartition(":")
    if not port.isdigit():
        return None
    return ("tcp", host.strip("[]").lower(), int(port))


def same_address(a, b):
    """Two parsed addresses collide: the same path, or the same port on overlapping hosts."""
    if not a or not b or a[0] != b[0]:
        return False
    if a[0] == "unix":
        return a[1] == b[1]
    return a[2] == b[2] and (a[1] == b[1] or a[1] in WILDCARD or b[1] in WILDCARD)


def shown(address):
    return address[1] if address[0] == "unix" else "%s:%d" % (address[1] or "*", address[2])


# --- the decision --------------------------------------------------------------------------


def decide(bind, unit, socket_unit, deploy_path, facts, user="this user"):
    """Verdict for `bind` wanted by the environment at `deploy_path` (service `unit`, socket unit
    `socket_unit`), from `facts` (see observe): records, sockets, unit_path, folder, path, port,
    own_answers."""
    wanted = parse(bind)
    if wanted is None:
        return Verdict(False, problem="'%s' is not unix:/path or HOST:PORT" % bind,
                       fix="set it to unix:/absolute/path.sock or HOST:PORT")
    mine = dict(bind=bind, unit=unit, socket_unit=socket_unit)
    for field, _, text in environments.clashes(mine, facts.get("records") or []):
        variable = "app_service_bind" if field == "bind" else "app_service_name"
        return Verdict(False, problem=text, variable=variable,
                       fix="give this environment its own %s (each environment of the account needs its own "
                           "unit and bind)" % variable)
    runs = facts.get("unit_path")
    if runs and os.path.normpath(runs) != os.path.normpath(deploy_path):
        return Verdict(False, variable="app_service_name",
                       problem="the unit %s already runs %s, another environment of this account" % (unit, runs),
                       fix="give this environment its own app_service_name")
    ours = None
    for entry in facts.get("sockets") or []:
        held = [parse(listen) for listen in entry.get("listen") or []]
        if not any(same_address(wanted, address) for address in held):
            continue
        if entry["unit"] == socket_unit:
            ours = entry
            continue
        where = " (%s)" % entry["deploy_path"] if entry.get("deploy_path") else ""
        return Verdict(False, problem="%s is held by the socket unit %s%s" % (shown(wanted), entry["unit"], where),
                       fix="give this environment a bind no other socket unit of this account uses")
    if ours and ours.get("active"):
        if facts.get("own_answers") is False:
            return Verdict(True, repair=True, fix="deploy again (it restarts %s)" % socket_unit,
                           detail="%s says it holds %s but nothing answers there" % (socket_unit, shown(wanted)))
        return Verdict(True, detail="%s holds %s (ours)" % (socket_unit, shown(wanted)))
    if wanted[0] == "unix":
        return _free_path(wanted, facts, user)
    return _free_port(wanted, facts.get("port"))


def _free_path(wanted, facts, user):
    folder = facts.get("folder") or {}
    where = os.path.dirname(wanted[1])
    if not folder.get("exists"):
        return Verdict(False, problem="the socket folder %s does not exist" % where,
                       fix="ask root to create it for %s (on apphost the OCF does: /srv/apps/<user>/), or choose "
                           "a folder %s owns" % (user, user))
    if not folder.get("writable"):
        return Verdict(False, problem="the socket folder %s is not writable by %s" % (where, user),
                       fix="ask root to give %s that folder, or choose a folder %s can write" % (user, user))
    path = facts.get("path") or {}
    if path.get("kind") == "other":
        return Verdict(False, problem="%s exists and is not a socket" % wanted[1],
                       fix="move that file away, or choose another path")
    if path.get("kind") == "socket" and path.get("answers"):
        return Verdict(False, problem="another program listens on %s (no socket unit of this account)" % wanted[1],
                       fix="stop that program, or give this environment its own socket path")
    return Verdict(True, detail="%s is free" % wanted[1])


PORT_PROBLEMS = {
    "EADDRINUSE": ("another program listens on %s", "stop that program, or give this environment a free port"),
    "EACCES": ("%s needs root (ports below 1024 are privileged)", "choose a port above 1024"),
    "EADDRNOTAVAIL": ("%s is not an address of this host", "use 127.0.0.1:PORT (or an address of this host)"),
}


def _free_port(wanted, error):
    if not error:
        return Verdict(True, detail="%s is free" % shown(wanted))
    problem, fix = PORT_PROBLEMS.get(error, ("%s cannot be bound (" + error + ")", "choose another HOST:PORT"))
    return Verdict(False, problem=problem % shown(wanted), fix=fix)


# --- what the host says (reading only) -----------------------------------------------------


def observe(bind, unit, socket_unit, deploy_path, home=None):
    """The facts `decide` needs, read from the host."""
    home = home or os.path.expanduser("~")
    wanted = parse(bind)
    sockets = socket_units(home)
    facts = dict(records=environments.others(deploy_path, home), sockets=sockets,
                 unit_path=unit_deploy_path(os.path.join(home, UNIT_DIR, unit)) if unit else None)
    if wanted is None:
        return facts
    ours = [s for s in sockets if s["unit"] == socket_unit and s.get("active")
            and any(same_address(wanted, parse(listen)) for listen in s["listen"])]
    # Never connect to another unit's socket: that would start its service.
    held = any(same_address(wanted, parse(listen)) for s in sockets for listen in s["listen"])
    if wanted[0] == "unix":
        where = os.path.dirname(wanted[1])
        facts["folder"] = dict(exists=os.path.isdir(where), writable=os.access(where, os.W_OK | os.X_OK))
        facts["path"] = path_state(wanted[1], connect=not held)
    else:
        facts["port"] = None if ours else port_error(wanted)
    if ours:
        facts["own_answers"] = answers(wanted)
    return facts


def socket_units(home):
    """Every socket unit of the user manager (loaded ones as systemd reports them, plus the unit
    files under ~/.config/systemd/user, so a stopped or never-loaded environment counts too):
    [{unit, listen: [...], active, deploy_path}]."""
    found = {}
    for path in glob.glob(os.path.join(home, UNIT_DIR, "*.socket")):
        name = os.path.basename(path)
        found[name] = dict(unit=name, listen=_unit_values(path, "ListenStream"), active=False,
                           deploy_path=unit_deploy_path(path[:-len(".socket")] + ".service"))
    done = systemctl("show", "--property=Id,Listen,ActiveState", "*.socket")
    for block in done.out.split("\n\n") if done.ok else []:
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        name = props.get("Id")
        if not name:
            continue
        entry = found.setdefault(name, dict(unit=name, listen=[], active=False, deploy_path=None))
        listen = [value.rsplit(" (", 1)[0] for value in props.get("Listen", "").split("\n") if value]
        entry["listen"] = sorted(set(entry["listen"]) | set(listen))
        entry["active"] = props.get("ActiveState") == "active"
    return sorted(found.values(), key=lambda e: e["unit"])


def _unit_values(path, key):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(65536).splitlines()
    except OSError:
        return []
    return [line.split("=", 1)[1].strip() for line in lines if line.strip().startswith(key + "=")]


def unit_deploy_path(service_file):
    """The deploy path a service unit of this project runs (ExecStart=<deploy path>/run), or None."""
    for value in _unit_values(service_file, "ExecStart"):
        command = value.split()[0] if value.split() else ""
        if command.endswith("/run"):
            return os.path.dirname(command)
    return None


def path_state(path, connect=True):
    try:
        info = os.stat(path)
    except OSError:
        return dict(kind="absent", answers=False)
    if not (info.st_mode & 0o170000) == 0o140000:
        return dict(kind="other", answers=False)
    return dict(kind="socket", answers=answers(("unix", path)) if connect else False)


def answers(address, timeout=1.0):
    """Someone accepts connections there (for our own socket unit: systemd's listener is alive)."""
    if address[0] == "unix":
        probe = socket.socket(socket.AF_UNIX)
        target = address[1]
    else:
        host = address[1] if address[1] not in WILDCARD else "127.0.0.1"
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        target = (host, address[2])
    probe.settimeout(timeout)
    try:
        probe.connect(target)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def port_error(address):
    """None when the port can be bound now, else the errno name (EADDRINUSE, EACCES, ...)."""
    host = address[1] if address[1] not in ("*",) else ""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, address[2]))
        return None
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    finally:
        probe.close()


def check(bind, unit, socket_unit, deploy_path, user="this user", home=None):
    """observe + decide: the one check the deploy and the doctor share."""
    return decide(bind, unit, socket_unit, deploy_path, observe(bind, unit, socket_unit, deploy_path, home), user)


def repair(socket_unit):
    """Our socket unit says active but no longer owns its address: restart it (systemd binds the
    address again; the service, which Requires= it, is restarted with it). Returns an error or None."""
    done = systemctl("restart", socket_unit)
    return None if done.ok else (done.err or done.out).strip()[-400:]
