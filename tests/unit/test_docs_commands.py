"""The vault commands the README and docs tell users to run, run as written (on copies of the files
they name): each appends one named, encrypted entry that the YAML file takes as it is, and that
decrypts to the input. A doc that drops --stdin-name (an unnamed value that breaks the file) fails."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VAULT = Path(sys.executable).parent / "ansible-vault"
COMMAND = re.compile(r"ansible-vault encrypt_string [^`\n]*?>> [^\s`]+")


def documented_commands():
    found = set()
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        found.update(COMMAND.findall(doc.read_text()))
    return sorted(found)


def test_the_docs_document_the_vault_commands():
    assert len(documented_commands()) >= 2  # secrets.py and ~/.my.cnf


@pytest.mark.skipif(not VAULT.exists(), reason=f"no ansible-vault next to {sys.executable}")
@pytest.mark.parametrize("command", documented_commands())
def test_a_documented_vault_command_appends_an_entry_the_file_can_take(tmp_path, command):
    name, source, target = re.search(r"--stdin-name (\w+) < (\S+) >> (\S+)", command).groups()
    (tmp_path / source).write_text("SECRET = 'line one'\nOTHER = 2\n")
    (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / target).write_text("---\ndeploy_path: ~/hknweb/prod\n")
    (tmp_path / "pw").write_text("docs-test-password\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_VAULT_PASSWORD_FILE=str(tmp_path / "pw"), PATH=f"{VAULT.parent}:{env.get('PATH', '')}")
    done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / target).read_text()

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))
    data = yaml.load(text, Loader=Loader)
    assert data["deploy_path"] == "~/hknweb/prod" and data[name].startswith("$ANSIBLE_VAULT;1.1;AES256")
    view = subprocess.run([str(VAULT), "decrypt", "--output", "-"], input=data[name], env=env,
                          capture_output=True, text=True)
    assert view.returncode == 0, view.stderr
    assert view.stdout == (tmp_path / source).read_text()
