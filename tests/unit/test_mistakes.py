"""One translation of mistakes into plain words, for the command line, blueprints and .overmind.yml."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from overmind import mistakes
from overmind.blueprint.schema import BlueprintFile
from overmind.isolation.contract import ContractFile

SOURCES = Path(mistakes.__file__).parent


def _errors(model: type, data: dict) -> list[dict]:
    try:
        model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as error:
        return [dict(e) for e in error.errors()]
    raise AssertionError("valid")


def test_closest_prefers_a_habit_then_the_nearest_spelling() -> None:
    assert mistakes.closest("ls", ["ps", "logs"], {"ls": "ps"}) == "ps"
    assert mistakes.closest("stauts", ["status", "stop"]) == "status"
    assert mistakes.closest("frobnicate", ["status", "stop"]) is None
    assert mistakes.suggestion("comand", ["command"]) == '; did you mean "command"?'


def test_an_unknown_key_is_matched_against_the_keys_at_its_place_also_inside_a_union() -> None:
    ready = [e for e in _errors(ContractFile, {"services": {"web": {"command": "x", "ready": {"timout": 1}}}})
             if e["type"] == "extra_forbidden"][0]
    assert mistakes.pydantic_message(ready, "yaml", ContractFile) == 'unknown key; did you mean "timeout"?'
    agent = _errors(BlueprintFile, {"agents": {"a": {"command": "x", "max_restart": 2}}})[0]
    assert mistakes.pydantic_message(agent, "toml", BlueprintFile) == 'unknown key; did you mean "max_restarts"?'


def test_types_are_said_in_each_files_words() -> None:
    toml = _errors(BlueprintFile, {"agents": {"a": {"command": "x", "depends_on": "b"}}})[0]
    yaml = _errors(ContractFile, {"ports": "api"})[0]
    assert mistakes.pydantic_message(toml, "toml") == "must be an array"
    assert mistakes.pydantic_message(yaml, "yaml") == "must be a list"


def test_only_the_one_translation_rewords_pydantic() -> None:
    rewording = [path.relative_to(SOURCES).as_posix() for path in SOURCES.rglob("*.py")
                 if "Input should be" in path.read_text()]
    assert rewording == ["mistakes.py"]
