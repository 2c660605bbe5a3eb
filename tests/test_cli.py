"""The one error path every tool's `main` shares: expected errors → one line and exit 1, a planned
stop (`ToolExit`) → its line and its own code, stray arguments refused."""

from __future__ import annotations

import pytest

from electra_tf.cli import ToolExit, absl_main, exit_on_bad_input


def _raise(error: BaseException):
    def body(*_):
        raise error

    return body


@pytest.mark.parametrize(
    "error, code, line",
    [
        (ValueError("bad --flag value"), 1, "tool: error: bad --flag value"),
        (FileNotFoundError("no such file: x"), 1, "tool: error: no such file: x"),
        (ToolExit("stopped by SIGTERM after step 7", 75), 75, "tool: stopped by SIGTERM after step 7"),
        (KeyboardInterrupt(), 130, "tool: interrupted; no output written"),
    ],
)
def test_errors_become_one_line_and_their_exit_code(capsys, error, code, line):
    with pytest.raises(SystemExit) as exited:
        exit_on_bad_input("tool", _raise(error))
    assert exited.value.code == code
    assert capsys.readouterr().err.splitlines() == [line]


def test_positional_arguments_reach_only_a_tool_that_takes_them(capsys):
    seen = []
    absl_main("files", seen.extend, positional_args=True)(["prog", "a.tfrecord", "b.tfrecord"])
    assert seen == ["a.tfrecord", "b.tfrecord"]
    with pytest.raises(SystemExit) as exited:
        absl_main("tool", lambda: seen.append("ran"))(["prog", "stray"])
    assert exited.value.code == 1 and seen == ["a.tfrecord", "b.tfrecord"]
    assert capsys.readouterr().err.splitlines() == ["tool: error: unexpected arguments stray"]
