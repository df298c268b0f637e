"""scripts/check-role-specs: `make lint` fails when a role's argument spec and defaults disagree
(issue 11 item 2).

The real roles must pass. Each rule is then broken on purpose in a temporary role and the
checker must exit 1 naming the key. The broken roles start from FROZEN (the shape of
roles/app_django: the knobs under an anchor in `main`, merged into `run`, which adds inputs from
other roles as required options), kept here so that edits to the real roles do not move these
tests; one test also breaks a copy of every real role.
"""

import contextlib
import importlib.machinery
import importlib.util
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKER = REPO_ROOT / "scripts" / "check-role-specs"
ROLES = REPO_ROOT / "roles"

FROZEN_DEFAULTS = """\
---
# Django steps run in the new release.

# manage.py migrate --noinput.
app_django_migrate: true
# manage.py collectstatic --noinput.
app_django_collectstatic: true
# More manage.py commands, each a list of arguments.
app_django_extra_commands: []
# A Jinja default, compared as text.
app_django_settings: "{{ deploy_settings | default('hknweb.settings') }}"
"""

FROZEN_SPEC = """\
---
argument_specs:
  main:
    short_description: Check the Django knobs.
    options: &knobs
      app_django_migrate:
        type: bool
        default: true
        description: Run migrate.
      app_django_collectstatic:
        type: bool
        default: true
        description: Run collectstatic.
      app_django_extra_commands:
        type: list
        elements: list
        default: []
        description: More manage.py commands.
      app_django_settings:
        type: str
        default: "{{ deploy_settings | default('hknweb.settings') }}"
        choices: ["{{ deploy_settings | default('hknweb.settings') }}", other]
        description: Settings module.
  run:
    short_description: Run migrate and collectstatic.
    options:
      <<: *knobs
      app_django_release_path:
        type: str
        required: true
        description: The new release's folder (from deploy).
"""


def run_checker(roles_dir):
    """The checker as `make lint` runs it: (exit status, output)."""
    result = subprocess.run([sys.executable, str(CHECKER), str(roles_dir)],
                            capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout + result.stderr


_loader = importlib.machinery.SourceFileLoader("check_role_specs", str(CHECKER))
checker = importlib.util.module_from_spec(importlib.util.spec_from_loader(_loader.name, _loader))
_loader.exec_module(checker)


def run_in_process(roles_dir):
    """Same code and exit status (the script ends in sys.exit(main(argv))) without the ~0.2 s
    of a new interpreter, so the many broken roles stay fast."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = checker.main([str(CHECKER), str(roles_dir)])
    return code, out.getvalue()


def make_role(tmp_path, defaults=FROZEN_DEFAULTS, spec=FROZEN_SPEC):
    role = tmp_path / "roles" / "app_django"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(spec)
    if defaults is not None:
        (role / "defaults").mkdir()
        (role / "defaults" / "main.yml").write_text(defaults)
    return tmp_path / "roles"


def replace(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


def fails_naming(tmp_path, key, *words, defaults=FROZEN_DEFAULTS, spec=FROZEN_SPEC, run=run_in_process):
    code, out = run(make_role(tmp_path, defaults, spec))
    assert code == 1, out
    problems = [line for line in out.splitlines() if f": {key}: " in line]
    assert problems, out
    for word in words:
        assert any(word in line for line in problems), (word, out)
    assert out.rstrip().endswith("FAIL"), out
    return problems


def test_real_roles_pass():
    code, out = run_checker(ROLES)
    assert code == 0, out
    assert re.fullmatch(r"check-role-specs: \d+ roles, \d+ entry points, \d+ options: OK\n", out), out


def test_frozen_role_passes(tmp_path):
    code, out = run_checker(make_role(tmp_path))
    assert (code, out) == (0, "check-role-specs: 1 roles, 2 entry points, 9 options: OK\n")


def test_a_default_that_is_no_option(tmp_path):
    defaults = FROZEN_DEFAULTS + "# Left over from an older version.\napp_django_workers: 2\n"
    fails_naming(tmp_path, "app_django_workers", "defaults/main.yml", "not an option of any entry point",
                 defaults=defaults, run=run_checker)


def test_b_different_value(tmp_path):
    defaults = replace(FROZEN_DEFAULTS, "app_django_collectstatic: true", "app_django_collectstatic: false")
    [line] = fails_naming(tmp_path, "app_django_collectstatic", "default true differs", "value false",
                          defaults=defaults, run=run_checker)
    # the knob is merged into both entry points: one line naming both
    assert line.startswith("roles/") or "/roles/app_django/meta/argument_specs.yml" in line, line
    assert line.endswith("(entry points main, run)"), line


def test_b_same_value_other_type(tmp_path):
    defaults = replace(FROZEN_DEFAULTS, "app_django_migrate: true", "app_django_migrate: 1")
    fails_naming(tmp_path, "app_django_migrate", "differs", defaults=defaults)


def test_b_jinja_text_differs(tmp_path):
    defaults = replace(FROZEN_DEFAULTS, "default('hknweb.settings') }}\"", "default('hknweb.settings')}}\"")
    fails_naming(tmp_path, "app_django_settings", "differs", defaults=defaults)


def test_b_missing_from_defaults(tmp_path):
    defaults = replace(FROZEN_DEFAULTS, "app_django_extra_commands: []\n", "")
    fails_naming(tmp_path, "app_django_extra_commands", "defaults/main.yml", "missing", defaults=defaults)


def test_b_no_defaults_file(tmp_path):
    code, out = run_in_process(make_role(tmp_path, defaults=None))
    assert code == 1, out
    for key in ("app_django_migrate", "app_django_collectstatic", "app_django_extra_commands"):
        assert f": {key}: missing" in out, out


def test_b_missing_default_in_spec(tmp_path):
    spec = replace(FROZEN_SPEC, "        type: bool\n        default: true\n        description: Run migrate.",
                   "        type: bool\n        description: Run migrate.")
    fails_naming(tmp_path, "app_django_migrate", "argument_specs.yml", "has no default", spec=spec)


def test_c_required_with_default_in_spec(tmp_path):
    spec = replace(FROZEN_SPEC, "        required: true\n", "        required: true\n        default: /tmp\n")
    fails_naming(tmp_path, "app_django_release_path", "argument_specs.yml", "required: true but has default",
                 spec=spec)


def test_c_required_in_defaults(tmp_path):
    defaults = FROZEN_DEFAULTS + "# Set by deploy.\napp_django_release_path: /tmp\n"
    fails_naming(tmp_path, "app_django_release_path", "defaults/main.yml", "required: true", defaults=defaults)


def test_d_no_description(tmp_path):
    spec = replace(FROZEN_SPEC, "        description: Run collectstatic.\n", "")
    fails_naming(tmp_path, "app_django_collectstatic", "has no description", spec=spec)


def test_d_no_type(tmp_path):
    spec = replace(FROZEN_SPEC, "        type: str\n        required: true\n", "        required: true\n")
    fails_naming(tmp_path, "app_django_release_path", "has no type", spec=spec)


def test_d_default_not_in_choices(tmp_path):
    spec = replace(FROZEN_SPEC, "choices: [\"{{ deploy_settings | default('hknweb.settings') }}\", other]",
                   "choices: [other, more]")
    fails_naming(tmp_path, "app_django_settings", "is not in choices", spec=spec)


def test_e_undocumented_key(tmp_path):
    defaults = replace(FROZEN_DEFAULTS, "# manage.py collectstatic --noinput.\n", "")
    [line] = fails_naming(tmp_path, "app_django_collectstatic", "no comment line", defaults=defaults)
    assert "defaults/main.yml:6: app_django_collectstatic:" in line, line


def test_all_problems_reported_at_once(tmp_path):
    defaults = replace(FROZEN_DEFAULTS, "app_django_migrate: true", "app_django_migrate: false")
    defaults = replace(defaults, "# More manage.py commands, each a list of arguments.\n", "")
    spec = replace(FROZEN_SPEC, "        description: Run collectstatic.\n", "")
    code, out = run_in_process(make_role(tmp_path, defaults, spec))
    assert code == 1, out
    assert [line.split(": ")[1] for line in out.splitlines()[:-1]] == [
        "app_django_migrate", "app_django_collectstatic", "app_django_extra_commands"], out


def test_every_real_role_copy_fails_on_a_stray_knob(tmp_path):
    """A copy of each real role with one undeclared, undocumented key appended to its defaults."""
    roles = sorted(p.parent.parent for p in ROLES.glob("*/meta/argument_specs.yml"))
    assert roles
    for role in roles:
        copy = tmp_path / "roles" / role.name
        shutil.copytree(role, copy)
        defaults = copy / "defaults" / "main.yml"
        defaults.parent.mkdir(exist_ok=True)
        text = defaults.read_text() if defaults.exists() else "---\n"
        defaults.write_text(text.rstrip("\n") + "\nstray_knob_for_test: 1\n")
    code, out = run_checker(tmp_path / "roles")
    assert code == 1, out
    for role in roles:
        assert (f"roles/{role.name}/defaults/main.yml: stray_knob_for_test: "
                "not an option of any entry point") in out, out
        assert re.search(rf"roles/{role.name}/defaults/main\.yml:\d+: stray_knob_for_test: no comment line",
                         out), out
    assert len(out.splitlines()) == 2 * len(roles) + 1, out
