"""logs.yml and the run's log file (issue 20, item 7): "since the last deploy" is the time of the last
deploy/rollback/revert/recover line of revisions.log (a hand-written or cut line is skipped); journalctl
is asked for both units, the line count and that time; the run log's file name sorts by time and never
holds two runs; what a result said is bounded."""

import datetime

from ansible_collections.hknweb.deploy.plugins.callback import run_log
from ansible_collections.hknweb.deploy.plugins.module_utils import logs

LOG = ["2026-12-01T10:00:00Z\tdeploy\t20261201T100000Z\tabc\tmaster\talice",
       "2026-12-02T11:30:00Z\trollback\t20261201T100000Z\tabc\tmaster\tbob",
       "garbage line", "2026-13-40T00:00:00Z\tdeploy\tx\ty\tz\tw"]


def test_since_the_last_deploy_is_the_last_event_line_that_parses():
    epoch, line = logs.last_change(LOG)
    assert line == LOG[1]
    assert epoch == int(datetime.datetime(2026, 12, 2, 11, 30, tzinfo=datetime.timezone.utc).timestamp())
    assert logs.last_change([]) == (None, None) and logs.last_change(["a\tb"]) == (None, None)


def test_journalctl_is_asked_for_both_units_the_count_and_the_time():
    assert logs.argv(["hknweb.service", "hknweb.socket"], 50, 1700000000) == [
        "journalctl", "--user", "--no-pager", "-o", "short-iso", "-n", "50", "-u", "hknweb.service",
        "-u", "hknweb.socket", "--since=@1700000000"]
    assert "--since" not in " ".join(logs.argv(["a.service"], 10))


def test_the_run_log_file_name_sorts_by_time_and_names_the_playbook_and_the_process():
    when = datetime.datetime(2026, 12, 4, 1, 2, 3, tzinfo=datetime.timezone.utc)
    assert run_log.file_name("/repo/deploy.yml", when, 42) == "20261204T010203Z-deploy-42.log"


def test_what_a_result_said_is_one_text_bounded():
    assert run_log.said({"msg": ["a", "b"]}) == "a\nb"
    assert run_log.said({"stderr": "boom"}) == "boom"
    assert run_log.said({"msg": "x" * 5000}).endswith(" ...") and len(run_log.said({"msg": "x" * 5000})) < 4100
