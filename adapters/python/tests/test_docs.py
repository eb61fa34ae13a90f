"""The examples in the package's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import sockframe

MODULES = ["sockframe", *(f"sockframe.{m.name}" for m in pkgutil.iter_modules(sockframe.__path__))]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name == "sockframe.__main__":
        pytest.skip("runs the command line on import")
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_every_public_class_and_function_is_documented() -> None:
    public = [getattr(sockframe, name) for name in sockframe.__all__]
    code = [obj for obj in public if inspect.isclass(obj) or inspect.isfunction(obj)]
    assert len(code) > 20
    assert [obj.__name__ for obj in code if not inspect.getdoc(obj)] == []
