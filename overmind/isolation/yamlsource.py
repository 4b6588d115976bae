"""YAML read with the line of every key, so each problem can be reported as `file:line`.

PyYAML composes the document into nodes that know their position; they are turned into plain
Python values here, recording `path -> line` on the way. Duplicate keys (which YAML parsers
silently resolve to the last one) are refused, and aliases cannot blow the document up.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]
_MAX_NODES = 100_000  # a contract has dozens; "billion laughs" aliases would have billions


class YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load(text: str) -> tuple[Any, dict[Path, int]]:
    """The document's value and the line of every key and list item in it."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        from overmind.mistakes import yaml_syntax

        line, what = yaml_syntax(text, error)
        raise YamlError(line, f"invalid YAML: {what}") from None
    except yaml.YAMLError as error:
        raise YamlError(1, f"invalid YAML: {error}") from None
    lines: dict[Path, int] = {(): 1}
    if node is None:
        return None, lines
    return _Converter(lines).value(node, ()), lines


class _Converter:
    def __init__(self, lines: dict[Path, int]) -> None:
        self.lines = lines
        self.constructor = yaml.constructor.SafeConstructor()
        self.nodes = 0

    def value(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise YamlError(node.start_mark.line + 1, "the document is too large (aliases expand too far)")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.value(item, (*path, index)))
            return items
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            raise YamlError(node.start_mark.line + 1, f"invalid value: {getattr(error, 'problem', error)}") from None

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError(line, "merge keys (<<) are not supported")
            key = self.value(key_node, path)
            if not isinstance(key, str):
                raise YamlError(line, f"keys must be strings, not {key!r}")
            if key in result:
                raise YamlError(line, f"duplicate key {key!r}")
            self.lines[(*path, key)] = line
            result[key] = self.value(value_node, (*path, key))
        return result


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of the deepest part of `path` the document has (a missing key: its parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
