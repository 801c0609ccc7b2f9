"""The team-day benchmark's command line and its in-process pieces (no timing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench import team_day
from bench.team_day_agents import TOOLS, plan, teammate


def test_defaults_are_fifty_agents_for_three_minutes() -> None:
    args = team_day.parse([])
    assert (args.agents, args.seconds, args.only) == (50, 180, None)
    assert args.out.name == "team_day.md"


def test_a_short_run_of_one_part() -> None:
    args = team_day.parse(
        ["--agents", "10", "--seconds", "15", "--only", "agent-mail", "--out", "x.md"]
    )
    assert (args.agents, args.seconds, args.only, args.out) == (10, 15, "agent-mail", Path("x.md"))


@pytest.mark.parametrize(
    "argv",
    [["--only", "mysql"], ["--agents", "1"], ["--seconds", "0"], ["--agents", "many"]],
)
def test_bad_arguments_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        team_day.parse(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_every_agent_writes_to_someone_else_on_the_team() -> None:
    names = team_day.agent_names(5)
    assert names == ["agent-00", "agent-01", "agent-02", "agent-03", "agent-04"]
    for name in names:
        rng = plan(name, seed=23)
        picks = {teammate(rng, name, names) for _ in range(50)}
        assert name not in picks
        assert picks <= set(names)


def test_same_seed_same_choices() -> None:
    names = team_day.agent_names(10)
    first = [teammate(plan("agent-03", 23), "agent-03", names) for _ in range(3)]
    again = [teammate(plan("agent-03", 23), "agent-03", names) for _ in range(3)]
    assert first == again


def test_results_of_every_client_process_are_summed_by_tool() -> None:
    def result(ns: int, error: str | None) -> dict[str, object]:
        return {
            "latencies": {tool: [ns] for tool in TOOLS},
            "errors": {tool: [error] if error else [] for tool in TOOLS},
        }

    summary = team_day.summarise([result(1_000_000, None), result(3_000_000, "refused")])
    assert set(summary) == set(TOOLS)
    for tool in TOOLS:
        assert summary[tool]["latencies"] == [0.001, 0.003]
        assert summary[tool]["errors"] == ["refused"]


def test_conditions_name_the_load_and_the_cores() -> None:
    text = team_day.conditions()
    assert "Load average (1, 5, 15 min):" in text
    assert f"cores: {__import__('os').cpu_count()}" in text


def test_agent_mail_answers_are_unwrapped_and_refusals_raised() -> None:
    from types import SimpleNamespace

    from bench.agent_mail import _data

    listed = SimpleNamespace(is_error=False, structured_content={"result": [{"subject": "hi"}]})
    assert _data(listed) == [{"subject": "hi"}]
    one = SimpleNamespace(is_error=False, structured_content={"id": 3, "result": "x"})
    assert _data(one) == {"id": 3, "result": "x"}
    refused = SimpleNamespace(is_error=True, content=[SimpleNamespace(text="no such agent")])
    with pytest.raises(RuntimeError, match="no such agent"):
        _data(refused)
