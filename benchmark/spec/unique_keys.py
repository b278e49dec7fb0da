"""PyYAML's safe loader with the guards a spec file needs: what reads a spec file
(:mod:`benchmark.spec.loader`) and each ``--set`` value (:mod:`benchmark.spec.overrides`).

It refuses a key given twice in one mapping (YAML would silently keep the last), reads
merge keys (``<<: *base``, where a key written in the mapping overrides the merged one),
and refuses a document that would expand to more than :data:`MAX_NODES` values before
anything expands it: a few nested aliases (``*a``) can stand for billions of values, and
a spec is a few hundred.
"""

from __future__ import annotations

from typing import Any

import yaml

#: values a spec may expand to (aliases counted as often as they are used)
MAX_NODES = 100_000


class DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping (YAML would silently keep the last)."""


class TooLargeError(yaml.YAMLError):
    """A document that expands to more values than a spec could need."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _expanded_size(root: yaml.Node) -> int:
    """How many values ``root`` stands for once every alias is expanded, capped just above
    :data:`MAX_NODES`. The composed graph shares an aliased node, so each node is sized
    once; the recursion is no deeper than the composer's own."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = min(MAX_NODES + 1, 1 + sum(size(child) for child in _children(node)))
        return sizes[id(node)]

    return size(root)


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys and documents too large to be a spec."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node)
        if size > MAX_NODES:
            raise TooLargeError(
                f"the document expands to more than {MAX_NODES:,} values (aliases counted each time they are used); "
                "a spec needs a few hundred: refused before expanding it"
            )
        return self.construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *base, read by flatten_mapping
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(
                    f"line {line}: key '{key}' given twice in one mapping (first on line "
                    f"{seen[key]}); YAML would silently keep the last"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)
