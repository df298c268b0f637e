"""A scripted fake of switch_host.SwitchHost: a deploy tree, a systemd user manager with one
service and its socket, a gunicorn master, a clock. It answers the way the real host does for
the cases the switch decides on, and records every call that changes something (`changes`), so
a test can say what ran and that a dry run touched nothing. No disk, no processes, no sleeping."""

from dataclasses import dataclass, field

PATH = "/srv/d"
SERVICE, SOCKET, BIND = "app.service", "app.socket", "unix:/run/app.sock"
R1, R2, R3 = "20260101T000000Z", "20260102T000000Z", "20260103T000000Z"


class Killed(BaseException):
    """The module's process dies here (kill -9): nothing after it runs."""


@dataclass
class Done:
    rc: int = 0
    out: str = ""
    err: str = ""

    @property
    def ok(self):
        return self.rc == 0


@dataclass
class FakeHost:
    live: str | None = R1
    tree: dict = field(default_factory=lambda: {R1: dict(state="good", venv="v1"),
                                                    R2: dict(state="good", venv="v1")})
    exists: bool = True
    enabled: bool = True
    socket_active: bool = True
    socket_taken: bool = False  # another program holds the bind: the socket unit cannot start
    service_active: bool = True
    master: str | None = R1  # the release the master runs in (None: not running)
    master_venv: str | None = None  # the venv the master started from (default: its release's)
    pid: int = 100
    healthy: set = field(default_factory=lambda: {R1, R2, R3})  # releases whose health path answers 200
    crashes: set = field(default_factory=set)  # releases whose master exits after it starts
    trial_ok: set = field(default_factory=lambda: {R1, R2, R3})
    files: dict = field(default_factory=dict)  # path -> (content, mode)
    links: dict = field(default_factory=dict)  # path -> link text or "not a link"
    kill_at: str | None = None  # a change whose call kills the run
    intent: dict | None = None
    log: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    now: float = 0.0
    trial_release: str | None = None

    def __post_init__(self):
        if self.master and self.master_venv is None:
            self.master_venv = self.tree[self.master]["venv"]

    def change(self, *what):
        if self.kill_at == what[0]:
            raise Killed(what[0])
        self.changes.append(what)

    def names(self):
        return [c[0] for c in self.changes]

    # --- systemd, processes, HTTP ---------------------------------------------------------

    def systemctl(self, *args):
        verb = args[0]
        if verb == "is-enabled":
            return Done(out="\n".join(("enabled" if self.enabled else "disabled") for _ in args[1:]))
        self.change("systemctl", *args)
        if verb == "enable":
            self.enabled = True
        elif verb == "stop" and args[1] == SERVICE:
            self.service_active, self.master = False, None
        elif verb in ("start", "restart") and args[1] == SOCKET:
            if self.socket_taken:
                return Done(rc=1, err="Job for app.socket failed.")
            self.socket_active = True
        elif verb == "restart" and args[1] == SERVICE:
            self.start_master()
        return Done()

    def start_master(self):
        self.pid += 1
        self.service_active = self.live not in self.crashes
        self.master = self.live if self.service_active else None
        self.master_venv = self.tree[self.live]["venv"] if self.service_active else None

    def unit_state(self, unit):
        if unit == SOCKET:
            return dict(ActiveState="active" if self.socket_active else "inactive", SubState="listening")
        if not self.service_active:
            failed = self.live in self.crashes
            return dict(ActiveState="failed" if failed else "inactive", SubState="failed" if failed else "dead",
                        MainPID="0", ExecMainCode="1", ExecMainStatus="3")
        return dict(ActiveState="active", SubState="running", MainPID=str(self.pid), ExecMainCode="0",
                    ExecMainStatus="0")

    def journal(self, unit, lines=20):
        return "journal of %s" % unit

    def process_release(self, pid):
        return self.release_dir(PATH, self.master) if self.master and pid == self.pid else None

    def child_releases(self, pid):
        return [self.process_release(pid)] if self.process_release(pid) else []

    def hup(self, pid):
        self.change("hup", pid)
        if pid != self.pid or not self.master:
            return False
        self.master = self.live  # it cds through current again; its venv stays
        return True

    def http_get(self, bind, path, host, give_up=None):
        if bind.startswith("unix:%s/.trial-" % PATH):
            return (200, "ok") if self.trial_release in self.trial_ok else (500, "ImportError: boom")
        if self.master in self.healthy and self.master_venv == self.tree[self.master]["venv"]:
            return 200, "ok"
        return (None, "ConnectionRefusedError") if not self.master else (500, "Server Error")

    def own_pid(self):
        return 4242

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def trial(self, argv, cwd, env, sock, ask, deadline):
        self.change("trial", cwd)
        self.trial_release = cwd.rsplit("/", 1)[-1]
        answer = ask()
        self.trial_release = None
        if answer == "wait":  # the real host asks again until its deadline
            answer = "no answer"
        return answer, "[INFO] Booting worker\nImportError: boom"

    # --- files, links, the release tree ---------------------------------------------------

    def home(self):
        return "/home/u"

    def isdir(self, path):
        return self.exists

    def read_file(self, path):
        return self.files.get(path, (None, None))

    def write_file(self, path, content, mode):
        self.change("write_file", path)
        self.files[path] = (content, mode)

    def link_state(self, path):
        return self.links.get(path, "absent")

    def make_link(self, path, target):
        self.change("link", path, target)
        self.links[path] = target

    def gunicorn(self, folder):
        return folder + "/venv/bin/gunicorn"

    def releases(self, path):
        return self.live, {name: dict(state=info["state"], record=info.get("record", {}),
                                      revision=info.get("revision")) for name, info in self.tree.items()}

    def release_dir(self, path, name):
        return "%s/releases/%s" % (path, name)

    def venv_of(self, folder):
        return "%s/venvs/%s" % (PATH, self.tree[folder.rsplit("/", 1)[-1]]["venv"])

    def write_intent(self, path, op, previous, target, run):
        self.change("intent", op, previous, target)
        self.intent = dict(op=op, previous=previous, target=target, run=run)

    def clear_intent(self, path):
        self.change("clear_intent")
        self.intent = None

    def write_record(self, path, name, record):
        self.change("record", name)
        self.tree[name]["record"] = record

    def switch_current(self, path, name):
        self.change("switch", name)
        self.live = name

    def mark_bad(self, path, name, reason):
        self.change("mark_bad", name)
        self.tree[name]["state"] = "bad"

    def clear_bad(self, path, name):
        self.change("clear_bad", name)
        self.tree[name]["state"] = "good"

    def append_log(self, path, event, release, sha, ref, deployer):
        self.change("log", event, release)
        self.log.append((event, release))

    def give_lock(self, path, run):
        self.change("give_lock", run)
        return True

    def prune(self, path, keep, check):
        if not check:
            self.change("prune", keep)
        return [], []
