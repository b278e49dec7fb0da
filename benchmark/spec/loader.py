"""Load a spec file safely and report every problem with file, line and field path.

``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment,
so a spec can point at a data tree the user names (``root: ${CBIS_DDSM_ROOT:-/data}``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from benchmark.errors import UnknownNameError, UserError, did_you_mean
from benchmark.spec.field_path import parse as parse_field_path
from benchmark.spec.field_path import show as show_field_path
from benchmark.spec.overrides import apply as apply_overrides
from benchmark.spec.schema import Spec
from benchmark.spec.unique_keys import DuplicateKeyError, TooLargeError, UniqueKeyLoader

#: a spec file is a few KB; reading megabytes of YAML (pure Python) would take minutes
MAX_SPEC_BYTES = 1_000_000
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SpecError(UserError):
    """One or more problems in a spec; each line names the file, line and field."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        plural = "s" if len(problems) != 1 else ""
        super().__init__(f"{path}: {len(problems)} problem{plural}\n" + "\n".join(f"  - {p}" for p in problems))


def _field_path(loc: Iterable[Any]) -> str:
    return show_field_path(loc)


class _Lines:
    """Field path -> line number in the YAML text, from the composed node tree; a field a
    ``--set`` changed is located by that ``--set`` instead."""

    def __init__(self, text: str | None, overridden: dict[tuple[Any, ...], str] | None = None) -> None:
        self.overridden = overridden or {}
        try:
            self.root = yaml.compose(text) if text is not None else None
        except yaml.YAMLError:
            self.root = None

    def where(self, loc: Iterable[Any]) -> str:
        """``line 12: `` or ``--set a.b=1: `` for messages (empty when unknown)."""
        loc = tuple(loc)
        source = next((s for path, s in self.overridden.items() if loc[: len(path)] == path), None)
        if source is not None:
            return f"{source}: "
        line = self.line(loc)
        return f"line {line}: " if line else ""

    def line(self, loc: Iterable[Any]) -> int | None:
        node = self.root
        line = None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == part), None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def _interpolate(value: Any, loc: tuple[Any, ...], problems: list[tuple[tuple[Any, ...], str]]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), problems) for i, v in enumerate(value)]
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ and os.environ[name] != "":
                return os.environ[name]
            if default is not None:
                return default
            problems.append(
                (loc, f"environment variable {name} is not set and has no default (write ${{{name}:-default}})")
            )
            return m.group(0)

        return _VAR.sub(repl, value)
    return value


def _describe(err: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        loc = err["loc"]
        known = _known_fields(model, loc[:-1]) if model else []
        hint = did_you_mean(str(loc[-1]), known) or (f" Expected one of: {', '.join(known)}." if known else "")
        return f"unknown field '{loc[-1]}'.{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "located":
        return err["msg"]
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    return f"{err['msg']}{shown}"


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model at ``loc``."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        ann = current.model_fields[part].annotation
        args: list[Any] = [a for a in typing.get_args(ann) if isinstance(a, type)] or [ann]
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[0])
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


_LOCATED = re.compile(r"^(?:Value error, )?@([^:]+): (.*)$", re.S)


def format_validation_error(
    exc: ValidationError,
    lines: _Lines | None = None,
    prefix: tuple[Any, ...] = (),
    model: type[BaseModel] | None = None,
) -> list[str]:
    out = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        located = _LOCATED.match(str(err.get("msg", "")))
        if located:  # a validator that names its field (schema.located)
            loc = (*loc, *parse_field_path(located.group(1)))
            err = {**err, "msg": located.group(2), "type": "located"}
        where = lines.where(loc) if lines else ""
        out.append(f"{where}{_field_path(loc)}: {_describe(err, model)}")
    return out


def parse_spec(
    data: Any,
    path: Path | str = "<spec>",
    text: str | None = None,
    check_plugins: bool = True,
    overrides: Sequence[str] = (),
) -> Spec:
    """Validate already-loaded YAML data, with ``overrides`` (``--set key=value``) applied,
    into a :class:`Spec` (raises :class:`SpecError`)."""
    origin: dict[tuple[Any, ...], str] = {}
    if overrides and isinstance(data, dict):
        data, origin = apply_overrides(data, overrides)
    lines = _Lines(text, origin) if text is not None or origin else None
    if not isinstance(data, dict):
        raise SpecError(path, ["the file must hold a mapping (key: value) at the top level"])
    interp_problems: list[tuple[tuple[Any, ...], str]] = []
    data = _interpolate(data, (), interp_problems)
    problems = [f"{_field_path(loc)}: {msg}" for loc, msg in interp_problems]
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(path, problems + format_validation_error(exc, lines, model=Spec)) from None
    if problems:
        raise SpecError(path, problems)
    if check_plugins:
        problems = check_plugin_names(spec, lines)
        if problems:
            raise SpecError(path, problems)
        spec = with_validated_options(spec)
    spec._overrides = tuple(overrides)
    return spec


def _differs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two option mappings differ as stored (``0`` and ``0.0`` do; ``==`` says not)."""
    return json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str)


def with_validated_options(spec: Spec) -> Spec:
    """``spec`` with every plugin's options (and the dataset's) as the plugin's options
    model reads them, as JSON values: ``seed: "0"``, ``seed: 0.0`` and
    ``seed: "${SEED:-0}"`` are then one value, so they give one run id (a run already done
    is not trained again)."""
    from benchmark.registry.calls import options_model
    from benchmark.registry.loading import registries
    from benchmark.spec.plugin_fields import named_plugins

    def read(model: Any, options: dict[str, Any]) -> dict[str, Any]:
        if model is None or not options:
            return options
        return dict(model.model_validate(options).model_dump(mode="json", exclude_unset=True))

    regs = registries(spec.plugins)
    data = spec.model_dump(exclude_unset=True)  # what was given: defaults stay defaults (some exclude each other)
    changed = False
    for named in named_plugins(spec):
        options = read(options_model(regs.get(named.kind, named.name)), named.options)
        if _differs(options, named.options):
            node: Any = data
            for part in named.loc:
                node = node[part]
            node["options"], changed = options, True
    dataset = read(getattr(regs.get("dataset", spec.dataset.plugin).obj, "Options", None), spec.dataset.options)
    if _differs(dataset, spec.dataset.options):
        data["dataset"]["options"], changed = dataset, True
    return Spec.model_validate(data) if changed else spec


def check_plugin_names(spec: Spec, lines: _Lines | None = None) -> list[str]:
    """Every plugin the spec names must be registered and its options valid for it."""
    from benchmark.registry.calls import validated_options
    from benchmark.registry.loading import EXTRA_PLUGINS, registries
    from benchmark.spec.plugin_fields import named_plugins

    regs = registries(spec.plugins)
    problems = []
    for named in named_plugins(spec):
        loc, kind, name, options = named.loc, named.kind, named.name, named.options
        where = lambda loc: lines.where(loc) if lines else ""  # noqa: E731
        try:
            entry = regs.get(kind, name)
            if options:
                validated_options(entry, options)
        except UnknownNameError as exc:
            problems.append(f"{where(loc)}{_field_path(loc)}: {exc.message}{_installed_failures(regs)}")
        except ValidationError as exc:
            problems += format_validation_error(exc, lines, prefix=(*loc, "options"), model=None)
        except UserError as exc:
            problems.append(f"{where((*loc, 'options'))}{_field_path((*loc, 'options'))}: {exc.message}")
    for failure in regs.failed(spec.plugins):
        problems.append(f"plugins: module '{failure.plugin}' could not be loaded: {failure.error.splitlines()[0]}")
    for failure in regs.failed(m for m in os.environ.get(EXTRA_PLUGINS, "").split(",") if m):
        problems.append(f"--plugin {failure.plugin}: could not be loaded: {failure.error.splitlines()[0]}")
    if spec.dataset.plugin in regs["dataset"]:
        options_model = getattr(regs.get("dataset", spec.dataset.plugin).obj, "Options", None)
        if options_model is not None:
            try:
                options_model.model_validate(spec.dataset.options)
            except ValidationError as exc:
                problems += format_validation_error(exc, lines, prefix=("dataset", "options"), model=None)
    return problems


def _installed_failures(regs: Any) -> str:
    """For an unknown name: the installed plugins that failed to load or had items refused
    (the name may be theirs), which ``cbis-bench plugins`` explains."""
    failed = sorted({f.plugin for f in regs.failures if not f.source.startswith("module ")})
    return (
        (
            f" (installed plugin(s) that failed to load or had items refused: {', '.join(failed)}; "
            "`cbis-bench plugins` says why)"
        )
        if failed
        else ""
    )


def load_spec(path: str | Path, check_plugins: bool = True, overrides: Sequence[str] = ()) -> Spec:
    """Read and validate a spec file. Raises :class:`SpecError` naming every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such spec file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder, not a spec file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read spec file ({exc.strerror})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            path, [f"{len(raw):,} bytes: larger than a spec can be ({MAX_SPEC_BYTES:,}; a spec is a few KB)"]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            path, [f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the spec as UTF-8"]
        ) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except (DuplicateKeyError, TooLargeError) as exc:
        raise SpecError(path, [str(exc)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(path, [f"{where}not valid YAML ({problem})"]) from None
    return parse_spec(data, path, text, check_plugins=check_plugins, overrides=overrides)
