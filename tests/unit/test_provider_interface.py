"""Every provider has every method of the one provider interface (`overmind.providers.Provider`,
a Protocol: a provider class does not inherit its methods, so one left out fails only when called)."""

from __future__ import annotations

import inspect

import pytest

from overmind import providers
from overmind.agent_options import PROVIDERS


def _methods() -> set[str]:
    return {name for name, member in vars(providers.Provider).items()
            if not name.startswith("_") and inspect.isfunction(member)}


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_provider_has_every_method_of_the_interface(name: str) -> None:
    provider = providers.get(name)
    missing = sorted(method for method in _methods() if not callable(getattr(provider, method, None)))
    assert not missing, f"{name} lacks {missing}"
    assert "before_resume" in _methods()
