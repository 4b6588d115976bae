"""Blueprint files: parsing, validation with file:line: key errors, and the dependency graph."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from overmind.blueprint.dag import CycleError, topological_order
from overmind.blueprint.load import load
from overmind.blueprint.locate import KeyLines
from overmind.errors import OvermindError
from tests.helpers import EXAMPLES


def write(tmp_path: Path, text: str, name: str = "blueprint.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def error_of(tmp_path: Path, text: str) -> OvermindError:
    with pytest.raises(OvermindError) as caught:
        load(write(tmp_path, text))
    return caught.value


def test_an_upstream_file_loads_unchanged_named_after_the_file(tmp_path: Path) -> None:
    blueprint = load(write(tmp_path, (EXAMPLES / "pipeline.toml").read_text(), "pipeline.toml"))
    assert blueprint.name == "pipeline"
    assert [a.name for a in blueprint.agents] == ["setup", "build", "deploy"]
    build = blueprint.agent("build")
    assert (build.spec.provider, build.spec.type, build.depends_on, build.replicas) == ("raw", "task", ("setup",), 1)
    assert build.spec.command == "echo 'stage 2: build complete'"
    assert build.spec.cwd == str(tmp_path)


def test_agents_come_in_dependency_order_ties_in_file_order(tmp_path: Path) -> None:
    blueprint = load(write(tmp_path, """
        [agents.deploy]
        command = "d"
        depends_on = ["build", "docs"]
        [agents.docs]
        command = "x"
        [agents.build]
        command = "b"
        depends_on = ["setup"]
        [agents.setup]
        command = "s"
    """))
    assert [a.name for a in blueprint.agents] == ["docs", "setup", "build", "deploy"]


def test_every_field_maps_onto_the_mission_spec(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    agent = load(write(tmp_path, """
        name = "full"
        [agents.w]
        command = "run"
        type = "session"
        cwd = "work"
        env = { A = "1", B = "two words" }
        restart = "on_failure"
        max_restarts = 3
        max_seconds = "2min"
        backoff = 500
        backoff_max = "10s"
        activity_timeout = "90s"
        memory_max = "512M"
        cpu_quota = "50%"
        tasks_max = 20
        timeout = 3600
        stop_timeout = "5s"
        replicas = 3
    """)).agents[0]
    spec = agent.spec
    assert spec.cwd == str(tmp_path / "work")
    assert spec.env == {"A": "1", "B": "two words"}
    assert (spec.restart.policy, spec.restart.max_restarts, spec.restart.max_seconds) == ("on-failure", 3, 120)
    assert (spec.restart.backoff, spec.restart.backoff_max) == (0.5, 10)  # plain numbers are ms, as for run
    assert (spec.activity_timeout, spec.stop_timeout, spec.limits.timeout) == (90, 5, 3600)
    assert (spec.limits.memory_max, spec.limits.cpu_quota, spec.limits.tasks_max) == (512 * 1024**2, 50, 20)
    assert agent.replicas == 3


@pytest.mark.parametrize(("text", "expected"), [
    ("""
        [agents.setup]
        command = "true"

        [agents.build]
        command = "true"
        depends_on = ["setp"]
     """, 'blueprint.toml:7: agents.build.depends_on: unknown agent "setp"; did you mean "setup"?'),
    ("""
        [agents.a]
        command = "true"
        depends_on = [
          "a",
        ]
     """, 'blueprint.toml:5: agents.a.depends_on: "a" cannot depend on itself'),
    ("""
        [agents.a]
        comand = "true"
     """, 'blueprint.toml:3: agents.a.comand: unknown key; did you mean "command"?'),
    ("""
        name = "x"
        colour = "blue"
        [agents.a]
        command = "true"
     """, "blueprint.toml:3: colour: unknown key"),
    ("""
        [agents.a]
        command = "true"
        tasks_max = "many"
     """, "blueprint.toml:4: agents.a.tasks_max: must be an integer"),
    ("""
        [agents.a]
        command = "true"
        replicas = -1
     """, "blueprint.toml:4: agents.a.replicas: must be greater than or equal to 0"),
    ("""
        [agents.a]
        command = "true"
        type = "daemon"
     """, "blueprint.toml:4: agents.a.type: must be 'task' or 'session'"),
    ("""
        [agents.a]
        command = "true"
        memory_max = "lots"
     """, 'blueprint.toml:4: agents.a.memory_max: invalid value "lots" (use e.g. 512M or 2G)'),
    ("""
        [agents.a]
        command = "true"
        restart = "always"
     """, 'blueprint.toml:4: agents.a.restart: "always" never lets a task finish;'
          ' use type = "session" for an agent that keeps running'),
    ("""
        [agents.a]
        cwd = "/"
     """, "blueprint.toml:2: agents.a: needs a command"),
    ("""
        [agents.a]
        prompt = "say hi"
     """, 'blueprint.toml:3: agents.a.prompt: a raw agent runs a command; a prompt needs a provider such as "claude"'),
    ("""
        [agents.a]
        command = "true"
        provider = "clade"
     """, 'blueprint.toml:4: agents.a.provider: unknown provider "clade"; did you mean "claude"?'),
    ("""
        [agents.a]
        command = "true"
        schedule = "every day at nine"
     """, "blueprint.toml:4: agents.a.schedule: invalid calendar expression 'every day at nine'"),
    ("""
        [agents.a]
        command = "true"
        schedule = "1h"
        persistent = true
     """, "blueprint.toml:5: agents.a.persistent: needs a calendar schedule; an interval counts from the last run"),
    ("""
        [agents.a]
        command = "true"
        overlap = "queue"
     """, "blueprint.toml:4: agents.a.overlap: applies only to a scheduled agent (set schedule)"),
    ("""
        [agents.nightly]
        command = "true"
        schedule = "daily"
        [agents.b]
        command = "true"
        depends_on = ["nightly"]
     """, 'blueprint.toml:7: agents.b.depends_on: "nightly" runs on a schedule: nothing can depend on it'),
    ("""
        [agents.a]
        command = "true"
        [agents.nightly]
        command = "true"
        schedule = "daily"
        depends_on = ["a"]
     """, "blueprint.toml:7: agents.nightly.depends_on: a scheduled agent runs on its own schedule, after nothing"),
    ("""
        [agents.a]
        command = "true"
        model = "opus"
     """, "blueprint.toml:4: agents.a.model: does not apply to raw agents"),
    ("""
        [agents.a]
        provider = "codex"
        prompt = "fix it"
        max_turns = 3
     """, "blueprint.toml:5: agents.a.max_turns: does not apply to codex agents"),
    ("""
        [agents.a]
        provider = "claude"
        prompt = "ship it"
        on_permission = "sometimes"
     """, "blueprint.toml:5: agents.a.on_permission: must be 'ask', 'deny' or 'allow'"),
    ("""
        [agents.a]
        command = "true"
        env = { OVERMIND_MISSION_ID = "x" }
     """, "blueprint.toml:4: agents.a.env: environment variable OVERMIND_MISSION_ID is reserved for overmind"),
    ("""
        [agents.a]
        command = "true"
        cwd = "no/such/dir"
     """, "blueprint.toml:4: agents.a.cwd: directory 'no/such/dir' does not exist"),
    ("""
        [agents."a b"]
        command = "true"
     """, "blueprint.toml:2: agents.\"a b\": invalid agent name: use letters, digits, '-' and '_'"),
    ("""
        name = "empty"
     """, "blueprint.toml:1: agents: add at least one [agents.<name>] table with a command"),
])
def test_problems_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text).message.replace(str(tmp_path) + "/", "") == expected


def test_agents_of_a_provider_take_a_prompt_and_its_options(tmp_path: Path) -> None:
    blueprint = load(write(tmp_path, """
        [agents.review]
        provider = "claude"
        prompt = "review the diff"
        model = "opus"
        max_turns = 3
        max_budget_usd = 2
        [agents.chat]
        provider = "claude"
        type = "session"
        on_permission = "ask"
        permission_timeout = "10m"
        [agents.older]
        provider = "codex"
        command = "the prompt, as older files give it"
    """))
    review = blueprint.agent("review").spec
    assert (review.command, review.agent.model, review.agent.max_turns, review.agent.max_budget_usd) == (
        "review the diff", "opus", 3, 2)
    chat = blueprint.agent("chat").spec
    assert (chat.command, chat.agent.on_permission, chat.agent.permission_timeout) == ("", "ask", 600)
    assert blueprint.agent("older").spec.command == "the prompt, as older files give it"


def test_a_scheduled_agent_keeps_its_timing(tmp_path: Path) -> None:
    agents = load(write(tmp_path, """
        [agents.nightly]
        command = "./report.sh"
        schedule = "Mon..Fri 09:00"
        persistent = true
        randomized_delay = "5min"
        [agents.poll]
        command = "true"
        schedule = "30min"
        overlap = "queue"
    """)).agents
    nightly, poll = agents[0].timing, agents[1].timing
    assert nightly is not None and poll is not None
    assert (nightly.schedule.calendar, nightly.persistent, nightly.randomized_delay) == (
        "Mon..Fri *-*-* 09:00:00", True, 300)
    assert (poll.schedule.every, poll.overlap) == (1800, "queue")


def test_a_cycle_is_named_at_the_line_of_its_first_agent(tmp_path: Path) -> None:
    error = error_of(tmp_path, """
        [agents.a]
        command = "true"
        depends_on = ["c"]
        [agents.b]
        command = "true"
        depends_on = ["a"]
        [agents.c]
        command = "true"
        depends_on = ["b"]
        [agents.d]
        command = "true"
        depends_on = ["c"]
    """)
    assert error.message.endswith("blueprint.toml:4: agents.a.depends_on: dependency cycle: a -> c -> b -> a")


def test_the_first_problem_is_reported_and_the_rest_counted(tmp_path: Path) -> None:
    error = error_of(tmp_path, """
        [agents.a]
        command = 1
        [agents.b]
        command = "true"
        bogus = 2
    """)
    assert error.message.endswith("blueprint.toml:3: agents.a.command: must be a string")
    assert error.hint == "1 more problem in this file"


def test_files_that_cannot_be_read_are_one_line_errors(tmp_path: Path) -> None:
    for path, message in ((tmp_path / "none.toml", "no such file"), (tmp_path, "is a directory")):
        with pytest.raises(OvermindError, match=message):
            load(str(path))
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(OvermindError, match="not UTF-8"):
        load(str(tmp_path / "binary.toml"))


def test_a_file_name_that_is_no_valid_name_asks_for_a_name_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[agents.a]\ncommand = "true"\n', "my pipeline.toml")
    with pytest.raises(OvermindError, match=r'invalid blueprint name "my pipeline" \(from the file name; set name'):
        load(path)
    assert load(write(tmp_path, 'name = "mine"\n[agents.a]\ncommand = "true"\n', "my pipeline.toml")).name == "mine"


def test_key_lines_follow_strings_arrays_and_inline_tables() -> None:
    lines = KeyLines(textwrap.dedent('''\
        name = "x"  # a comment with [brackets]
        [agents.a]
        command = """
        [agents.fake]
        fake = 1
        """
        env = { A = "1", "B.C" = 'x' }
        depends_on = [
          "b",  # first
          'c',
        ]
        agents.z.command = "dotted"
        [[list]]
        k = 1
        [[list]]
        k = 2
    '''))
    assert lines.line(("name",)) == 1
    assert lines.line(("agents", "a")) == 2
    assert lines.line(("agents", "a", "command")) == 3
    assert lines.line(("agents", "fake")) == 2  # inside a string: only its ancestor "agents" is known
    assert lines.line(("agents", "a", "env", "B.C")) == 7
    assert lines.line(("agents", "a", "depends_on", 1)) == 10
    assert lines.line(("agents", "a", "depends_on", 5)) == 8  # falls back to the key
    assert lines.line(("agents", "a", "agents", "z", "command")) == 12
    assert lines.line(("list", 1, "k")) == 16
    assert lines.line(("nowhere",)) == 1


def test_topological_order_names_a_cycle_and_ignores_nothing() -> None:
    assert topological_order({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}) == ["a", "b", "c", "d"]
    with pytest.raises(CycleError) as caught:
        topological_order({"x": [], "a": ["b"], "b": ["a"], "after": ["a"]})
    assert caught.value.cycle == ["a", "b", "a"]


@pytest.mark.parametrize(("text", "expected"), [
    ('[agents.a]\ncommand = "true\n', '2: invalid TOML: unclosed string: the " opened on this line has no closing "'),
    ('[agents.a]\ncommand = """true\n\n', "2: invalid TOML: unclosed multi-line string"),
    ('[agents.a\ncommand = "true"\n', "1: invalid TOML: unclosed table header: add the closing ]"),
    ('[agents.a]\ncommand = "true"\ndepends_on = ["b"\n[agents.b]\ncommand = "true"\n',
     "3: invalid TOML: unclosed array: the [ opened on this line has no closing ]"),
    ('[agents.a]\ncommand =\n', '2: invalid TOML: a value is missing after "="'),
    ('[agents.a]\ncommand = true now\n', "2: invalid TOML: unexpected"),
    ('[agents.a]\ncommand = make\n', '2: invalid TOML: a string needs quotes'),
    ('[agents.a]\ncommand = "a\\qb"\n', "2: invalid TOML: unknown escape \\q in a string"),
    ('[agents.a]\ncommand = "x"\ncommand = "y"\n', '3: invalid TOML: "command" is defined twice'),
    ('[agents.a]\ncommand = "x"\n[agents.a]\n', "3: invalid TOML: table [agents.a] is defined twice"),
])
def test_toml_syntax_errors_say_what_is_wrong_in_plain_words_at_file_line(tmp_path: Path, text: str,
                                                                          expected: str) -> None:
    message = error_of(tmp_path, text).message
    assert message.startswith(f"{tmp_path}/blueprint.toml:{expected}"), message
