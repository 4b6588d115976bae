"""Validating what `run` is asked for, before systemd sees any of it."""

from __future__ import annotations

import pytest

from overmind.errors import OvermindError
from overmind.mission.spec import MissionSpec, parse_env
from overmind.names import log_identifier, name_from_unit, random_name, unit_name, validate_name
from overmind.quantities import parse_cpu_quota, parse_duration, parse_size


@pytest.mark.parametrize("text,expected", [("512M", 512 * 1024**2), ("2G", 2 * 1024**3), ("1.5k", 1536),
                                           ("100", 100), ("64MB", 64 * 1024**2)])
def test_sizes_use_binary_suffixes(text: str, expected: int) -> None:
    assert parse_size(text, "memory limit") == expected


@pytest.mark.parametrize("text", ["", "lots", "-5M", "0", "5X"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(OvermindError, match="invalid memory limit"):
        parse_size(text, "memory limit")


@pytest.mark.parametrize("text,plain,expected", [("90s", "s", 90), ("5min", "s", 300), ("2h", "s", 7200),
                                                 ("250ms", "s", 0.25), ("30", "s", 30), ("300", "ms", 0.3)])
def test_durations(text: str, plain: str, expected: float) -> None:
    assert parse_duration(text, "timeout", plain) == pytest.approx(expected)


def test_bad_durations_are_refused() -> None:
    for text in ("soon", "-1s", "5 fortnights", "0"):
        with pytest.raises(OvermindError):
            parse_duration(text, "timeout")


def test_cpu_quota_is_a_percentage() -> None:
    assert parse_cpu_quota("50%") == 50
    assert parse_cpu_quota("200") == 200
    with pytest.raises(OvermindError):
        parse_cpu_quota("half")


def test_env_keeps_values_verbatim_and_refuses_reserved_names() -> None:
    assert parse_env(["A=1", "B=x=y z", "C="]) == {"A": "1", "B": "x=y z", "C": ""}
    for bad in ("NOEQ", "1X=2", "OVERMIND_MISSION_ID=x", "A-B=1"):
        with pytest.raises(OvermindError):
            parse_env([bad])


@pytest.mark.parametrize("name", ["build", "a", "web-1.2_x", "A" * 63])
def test_good_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", ".x", "a/b", "../x", "a b", "a@b", "a\nb", "é", "A" * 64, "deadbeef"])
def test_bad_names(name: str) -> None:
    with pytest.raises(OvermindError):
        validate_name(name)


def test_names_map_to_units_and_back(monkeypatch) -> None:
    monkeypatch.delenv("OVERMIND_UNIT_PREFIX", raising=False)
    assert unit_name("build") == "overmind-agent@build.service"
    assert name_from_unit("overmind-agent@build.service") == "build"
    assert log_identifier("overmind-agent@build.service") == "overmind-agent@build"
    assert validate_name(random_name())


def test_a_bad_unit_prefix_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("OVERMIND_UNIT_PREFIX", "x@y")
    with pytest.raises(OvermindError):
        unit_name("build")


def test_spec_resolves_cwd_and_refuses_missing_ones(tmp_path) -> None:
    assert MissionSpec(command="true", cwd=str(tmp_path)).cwd == str(tmp_path)
    with pytest.raises(OvermindError, match="does not exist"):
        MissionSpec(command="true", cwd=str(tmp_path / "missing"))
    with pytest.raises(OvermindError, match="empty command"):
        MissionSpec(command="   ", cwd=str(tmp_path))
