"""Mistakes in what people type and write, said in plain words: a mistyped command or key gets
"did you mean", a pydantic complaint becomes `must be a string`, a TOML or YAML syntax error
says what is unclosed and where it opened.

One translation for every hand-written file (blueprints in `overmind.blueprint.load`,
`.overmind.yml` in `overmind.isolation.contract`) and for the command line. Nothing heavy is
imported here: callers pass in pydantic's errors and models, tomlkit's and PyYAML's exceptions.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal

Dialect = Literal["toml", "yaml"]
Loc = tuple[str | int, ...]

# What a file's own words for pydantic's types are: TOML has arrays and tables, YAML lists and mappings.
_SHAPES = {"toml": {"list": "an array", "dict": "a table"}, "yaml": {"list": "a list", "dict": "a mapping"}}
_TYPES = {"string_type": "must be a string", "int_type": "must be an integer", "float_type": "must be a number",
          "bool_type": "must be true or false", "missing": "is required"}
_SHAPED = {"list_type": "list", "dict_type": "dict", "model_type": "dict", "model_attributes_type": "dict"}


# -- did you mean ---------------------------------------------------------------------------
def closest(word: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The choice `word` was probably meant to be: an alias people use for it (`ls` for `ps`),
    else the nearest spelling; None when nothing is close."""
    import difflib

    known = list(choices)
    meant = (aliases or {}).get(word)
    if meant in known:
        return meant
    found = difflib.get_close_matches(word, known, n=1)
    return found[0] if found else None


def suggestion(word: str, choices: Iterable[str]) -> str:
    """`; did you mean "command"?`, or nothing: the tail of a file problem's message."""
    meant = closest(word, choices)
    return f"; did you mean {json.dumps(meant)}?" if meant else ""


# -- pydantic ---------------------------------------------------------------------------------
def pydantic_message(error: Mapping[str, Any], dialect: Dialect, model: type | None = None) -> str:
    """One of pydantic's errors in the file's words; an unknown key names the known key it is
    closest to (the keys of whatever `model` has at that place)."""
    kind = str(error["type"])
    if kind == "extra_forbidden":
        loc = tuple(error["loc"])
        known = known_keys(model, loc[:-1]) if model is not None else []
        return "unknown key" + suggestion(str(loc[-1]), known)
    if kind in _TYPES:
        return _TYPES[kind]
    if kind in _SHAPED:
        return f"must be {_SHAPES[dialect][_SHAPED[kind]]}"
    text = str(error["msg"]).removeprefix("Value error, ")
    return text.replace("Input should be", "must be", 1)


def known_keys(model: Any, loc: Loc) -> list[str]:
    """The keys the table at `loc` (pydantic's error location, union members included) may have."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    return [key for member in _members(current) if _is_model(member) for key in _keys(member)]


def _step(annotation: Any, part: str | int) -> Any:
    """What is at `part` inside a value of this type."""
    for member in _members(annotation):
        if _is_model(member):
            if isinstance(part, str):
                fields = member.model_fields
                field = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
                if field is not None:
                    return field.annotation
        elif typing.get_origin(member) is dict:
            return typing.get_args(member)[1]
        elif typing.get_origin(member) is list and isinstance(part, int):
            return typing.get_args(member)[0]
    # pydantic names the member of a union it tried: `ready.ReadyTable.timout`
    named = [m for m in _members(annotation) if getattr(m, "__name__", None) == part]
    return named[0] if named else None


def _members(annotation: Any) -> list[Any]:
    """The types a value of this annotation may have (Optional, unions and Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and hasattr(annotation, "model_fields")


def _keys(model: Any) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


# -- TOML syntax ------------------------------------------------------------------------------
def toml_syntax(source: str, error: Any) -> tuple[int, str]:
    """tomlkit's ParseError as (line, what is wrong): where a string, table header, array or
    inline table was opened and not closed, rather than the character where tomlkit gave up."""
    line, col = int(getattr(error, "line", 1) or 1), int(getattr(error, "col", 0) or 0)
    kind = type(error).__name__
    text = re.sub(r" at line \d+ col \d+$", "", str(error))
    lines = source.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if kind == "InvalidCharInStringError" and here[col - 1:col] == "\\":
        return line, (f"unknown escape \\{here[col:col + 1]} in a string: write \\\\ for a backslash,"
                      " or use '...' quotes, which take no escapes")
    offset = _offset(source, line, col)
    ended = kind == "UnexpectedEofError" or "'\\x00'" in str(error)  # tomlkit's end of text
    if kind != "InvalidControlChar" or source[offset:offset + 1] in ("\n", "\r", ""):
        opened = _open_at(source, len(source) if ended else offset)
        if opened is not None:
            return opened[1], opened[0]
    char = "" if ended else source[offset:offset + 1]
    before = here[:col].rstrip()
    if kind == "UnexpectedCharError" and char and char not in "\r\n" and before.endswith("="):
        return line, 'a string needs quotes: write the value in "..."'
    if kind == "UnexpectedCharError" and before.endswith("="):
        return line, 'a value is missing after "="'
    if kind == "UnexpectedCharError" and "=" not in before and re.fullmatch(r"\s*[A-Za-z0-9_.\"'-]+", before):
        return line, f'expected "=" after the key {before.strip()}'
    if kind == "UnexpectedCharError" and char:
        return line, f"unexpected {json.dumps(char)} after the value: one key = value per line"
    if kind == "EmptyKeyError":
        return line, 'a key is missing before "="'
    match = re.fullmatch(r'Key "(.+)" already exists\.?', text)
    if match:
        header = here.strip()
        return line, f"table {header} is defined twice" if header.startswith("[") else \
            f"{json.dumps(match[1])} is defined twice"
    return line, text[:1].lower() + text[1:]


def _offset(source: str, line: int, col: int) -> int:
    lines = source.splitlines(keepends=True)
    return sum(len(text) for text in lines[:line - 1]) + col


def _open_at(source: str, end: int) -> tuple[str, int] | None:
    """What is still open at offset `end` of a TOML text (scanned from the start), and its line."""
    stack: list[tuple[str, int]] = []  # ("header" | "header]" ([[...]]) | "[" | "{", line opened on)
    i, line, line_start = 0, 1, True
    while i < end:
        char = source[i]
        quote = next((q for q in ('"""', "'''", '"', "'") if source.startswith(q, i)), None)
        if quote is not None:
            close = _string_end(source, i + len(quote), quote, end)
            if close is None:
                what = "multi-line string" if len(quote) == 3 else "string"
                return f"unclosed {what}: the {quote} opened on this line has no closing {quote}", line
            line += source.count("\n", i, close)
            i, line_start = close, False
            continue
        if char == "#":
            newline = source.find("\n", i, end)
            i = newline if newline >= 0 else end
            continue
        if char == "\n":
            if stack and stack[-1][0].startswith("header"):
                break  # a table header ends on its line
            line, line_start = line + 1, True
        elif char == "[" and line_start and not stack:
            double = source.startswith("[[", i)  # [[array.of.tables]]: closed by ]]
            stack.append(("header" + "]" * double, line))
            i += double
        elif char in "[{" and not (stack and stack[-1][0].startswith("header")):
            stack.append((char, line))
        elif char in "]}" and stack:
            if stack[-1][0] != "header]":
                stack.pop()
            elif source.startswith("]]", i):
                stack.pop()
                i += 1
        if not char.isspace():
            line_start = False
        i += 1
    if not stack:
        return None
    kind, opened_on = stack[-1]
    if kind.startswith("header"):
        return f"unclosed table header: add the closing ]{kind[6:]}", opened_on
    if kind == "[":
        return "unclosed array: the [ opened on this line has no closing ]", opened_on
    return "unclosed inline table: the { opened on this line has no closing } (on the same line)", opened_on


def _string_end(source: str, start: int, quote: str, end: int) -> int | None:
    """The offset just after the string's closing quote, or None if it is still open at `end`."""
    i = start
    while i < end:
        if quote[0] == '"' and source[i] == "\\":
            i += 2
            continue
        if len(quote) == 1 and source[i] == "\n":
            return None
        if source.startswith(quote, i):
            return i + len(quote)
        i += 1
    return None


# -- YAML syntax ------------------------------------------------------------------------------
def yaml_syntax(source: str, error: Any) -> tuple[int, str]:
    """PyYAML's MarkedYAMLError as (line, what is wrong), with the line where the unclosed thing opened."""
    problem = str(getattr(error, "problem", "") or "")
    context = str(getattr(error, "context", "") or "")
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    opened = getattr(error, "context_mark", None)
    opened_line = opened.line + 1 if opened is not None else line
    if "found unexpected end of stream" in problem and "quoted scalar" in context:
        return opened_line, "unclosed string: the quote opened on this line is never closed"
    if "flow sequence" in context and "expected ',' or ']'" in problem:
        return opened_line, "unclosed list: the [ opened on this line has no closing ]"
    if "flow mapping" in context and "expected ',' or '}'" in problem:
        return opened_line, "unclosed mapping: the { opened on this line has no closing }"
    lines = source.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "cannot start any token" in problem and "\t" in here[:len(here) - len(here.lstrip())]:
        return line, "a tab indents this line: YAML indents with spaces"
    if "mapping values are not allowed here" in problem:
        return line, 'unexpected ":": a value with ": " in it needs quotes'
    return line, problem or context or str(error)
