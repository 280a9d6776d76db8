"""How a setting is declared and read: each field of a settings dataclass carries its default and its check.

`setting(default, check)` declares one key of configs/project.yaml, `section(cls)` a nested mapping of them;
`SettingsReader.read` walks those fields, so a default is written once, next to the rule that refuses a bad
value. Errors name the key, the value, what is allowed and, where it helps, an example.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any

from .errors import UserError

REQUIRED: Any = MISSING  # a setting without a default: the file must have it
_ABSENT = object()  # a key the file does not have, told apart from one set to null
SWITCH_WORDS = {"on": True, "off": False}  # a switch section written as a word (YAML reads off as false)


class Invalid(ValueError):
    """Raised by a check: what is allowed, and the part of the value at fault when it is not the whole."""

    def __init__(self, allowed: str, subkey: str = "", value: Any = _ABSENT) -> None:
        super().__init__(allowed)
        self.allowed, self.subkey, self.value = allowed, subkey, value


# Checks: each takes the value as YAML parsed it and returns the value the code uses -------------------


@dataclass(frozen=True)
class Number:
    """A number (or an integer) within bounds; null only when `nullable`."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    nullable: bool = False

    def __call__(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        wanted = "an integer" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int if self.integer else int | float):
            raise Invalid(f"expected {wanted}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise Invalid(f"expected {wanted} {self._bounds()}")
        return value

    def _bounds(self) -> str:
        if self.low is not None and self.high is not None:
            return f"between {self.low} and {self.high}"
        return f"at least {self.low}" if self.low is not None else f"at most {self.high}"


@dataclass(frozen=True)
class Choice:
    """One of the allowed words; null too when `nullable` (its default is then null)."""

    allowed: tuple[str, ...]
    nullable: bool = False

    def __call__(self, value: Any) -> Any:
        if (value is None and self.nullable) or (value is not None and value in self.allowed):
            return value
        raise Invalid(f"allowed: {', '.join(('null',) * self.nullable + self.allowed)}")


@dataclass(frozen=True)
class Choices:
    """A list of the allowed words, each at most once (an empty list is allowed: nothing chosen)."""

    allowed: tuple[str, ...]

    def __call__(self, value: Any) -> tuple[str, ...]:
        value = [] if value is None else value
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise Invalid(f"expected a list of: {', '.join(self.allowed)}")
        for item in value:
            if item not in self.allowed:
                raise Invalid(f"allowed: {', '.join(self.allowed)}", value=item)
        if len(set(value)) < len(value):
            raise Invalid("expected each at most once")
        return tuple(value)


def flag(value: Any) -> bool:
    """true or false (on and off too)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in SWITCH_WORDS:
        return SWITCH_WORDS[value]
    raise Invalid("expected true or false")


def text(value: Any) -> str:
    """A non-empty text, without surrounding spaces."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("expected a non-empty text")
    return value.strip()


def optional_text(value: Any) -> str | None:
    """A non-empty text, or null (an empty text is null too)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(value)


def any_text(value: Any) -> str:
    """Any scalar, taken as its text; null is the empty text."""
    return "" if value is None else str(value)


def any_value(value: Any) -> Any:
    return value


def column_name(value: Any) -> str | None:
    """A column name, or null (an empty text is null too)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise Invalid("expected a column name or null")
    return value.strip()


def column_names(value: Any) -> tuple[str, ...]:
    """A list of column names, or one text of comma-separated names; null is none."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid("expected a list of column names")
    return tuple(item.strip() for item in value if item.strip())


def texts(value: Any) -> tuple[str, ...]:
    """A list of texts kept as written (a marker such as "-" is a value, not a separator); numbers such as
    -999 are taken as their text."""
    value = value or []
    if not isinstance(value, list) or not all(
        isinstance(item, str | int | float) and not isinstance(item, bool) for item in value
    ):
        raise Invalid('expected a list of texts, quoted, e.g. ["n/a", "null", "-999"]')
    return tuple(str(item) for item in value if str(item).strip())


# Declarations --------------------------------------------------------------------------------------------

SETTING, SECTION = "setting", "section"  # keys of a field's metadata


@dataclass(frozen=True)
class Setting:
    """What a field of a settings dataclass declares beside its default."""

    check: Callable[[Any], Any]
    key: str | None = None  # where it sits in its section when not under the field's name
    answer: str | None = None  # the template question whose answer the file was written with
    env: str | None = None  # read from this environment variable only, never from the file


@dataclass(frozen=True)
class Nested:
    """What a field holding a nested mapping of settings declares."""

    cls: type
    key: str | None = None
    label: str | None = None  # "a mapping of <label> settings"; the key when None
    # A section that may also be written as one word: off/false (its `enabled` setting false) or on/true.
    switch: bool = False


def setting(default: Any = REQUIRED, check: Callable[[Any], Any] = any_value, **declared: Any) -> Any:
    """A field that is one setting: its default (REQUIRED: none) and the check of a value from the file."""
    metadata = {SETTING: Setting(check, **declared)}
    if default is REQUIRED:
        return field(metadata=metadata)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def section(cls: type, key: str | None = None, label: str | None = None, switch: bool = False) -> Any:
    """A field that is a mapping of settings declared by `cls`; required when one of them is. `switch`: the
    section may be written as off/false or on/true instead (`cls` then has an `enabled` setting)."""
    metadata = {SECTION: Nested(cls, key, label, switch)}
    required = any(item.required for item in declared_settings(cls))
    return field(metadata=metadata) if required else field(default_factory=cls, metadata=metadata)


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent and key else parent or key


@dataclass(frozen=True)
class Declared:
    """One setting as the file holds it: its dotted key, its default and its declaration."""

    key: str
    default: Any
    setting: Setting

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _default(item: Field) -> Any:
    if item.default_factory is not MISSING:
        return item.default_factory()
    return item.default


def declared_settings(cls: type, prefix: str = "") -> Iterator[Declared]:
    """Every setting that `cls` reads from the file, nested sections included, in declaration order."""
    for item in fields(cls):
        if SECTION in item.metadata:
            declared = item.metadata[SECTION]
            yield from declared_settings(declared.cls, _join(prefix, declared.key or item.name))
        elif SETTING in item.metadata and not item.metadata[SETTING].env:
            declared = item.metadata[SETTING]
            yield Declared(_join(prefix, declared.key or item.name), _default(item), declared)


def as_written(value: Any) -> Any:
    """A value as YAML writes it: lists for tuples."""
    if isinstance(value, tuple):
        return [as_written(item) for item in value]
    if isinstance(value, dict):
        return {key: as_written(item) for key, item in value.items()}
    return value


def with_environment(settings: Any) -> Any:
    """`settings` with each setting declared `env=` taken from that environment variable (unset or empty:
    None)."""
    values = {
        item.name: os.environ.get(item.metadata[SETTING].env) or None
        for item in fields(settings)
        if SETTING in item.metadata and item.metadata[SETTING].env
    }
    return replace(settings, **values)


def file_view(settings: Any) -> dict[str, Any]:
    """The settings a dataclass instance holds, as configs/project.yaml writes them (environment-only ones
    left out): reading this mapping back gives the same values."""
    view: dict[str, Any] = {}
    for item in fields(settings):
        declared = item.metadata.get(SECTION) or item.metadata.get(SETTING)
        if declared is None or getattr(declared, "env", None):
            continue
        value = getattr(settings, item.name)
        *parents, leaf = (declared.key or item.name).split(".")
        node = view
        for part in parents:
            node = node.setdefault(part, {})
        nested = SECTION in item.metadata
        node[leaf] = file_view(value) if nested else as_written(value)
    return view


# Reading -------------------------------------------------------------------------------------------------


def _keys(node: dict[str, Any], parent: str = "") -> list[str]:
    """Dotted paths of every key in the mapping, parents before their children."""
    paths = []
    for key, value in node.items():
        path = f"{parent}.{key}" if parent else str(key)
        paths.append(path)
        if isinstance(value, dict):
            paths += _keys(value, path)
    return paths


def _on_path(key: str, name: str) -> bool:
    """`key` is `name`, one of its parents or inside it (the empty key is everyone's parent)."""
    return not key or key == name or name.startswith(f"{key}.") or key.startswith(f"{name}.")


def _child(name: str, parent: str) -> str:
    """The part of `name` right below `parent`: data.target below data is target."""
    rest = name[len(parent) + 1 :] if parent else name
    return rest.split(".")[0] if name != parent else ""


class SettingsReader:
    """Reads the settings a dataclass declares from the parsed YAML, remembering every key it asked for."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.read_keys: set[str] = set()  # every key asked for: what the file may hold

    def read(self, cls: type, prefix: str = "") -> dict[str, Any]:
        """The values of the fields of `cls` that the file holds (others keep their default), checked."""
        values = {}
        for item in fields(cls):
            if SECTION in item.metadata:
                declared = item.metadata[SECTION]
                values[item.name] = self.read_section(declared, _join(prefix, declared.key or item.name))
            elif SETTING in item.metadata and not item.metadata[SETTING].env:
                declared = item.metadata[SETTING]
                value = self.value(_join(prefix, declared.key or item.name), declared.check, item)
                if value is not _ABSENT:
                    values[item.name] = value
        return values

    def read_section(self, declared: Nested, key: str) -> Any:
        node = self._lookup(key, None)
        if declared.switch and (isinstance(node, bool) or (isinstance(node, str) and node in SWITCH_WORDS)):
            self.read_keys.add(key)
            enabled = node if isinstance(node, bool) else SWITCH_WORDS[node]
            return declared.cls(**{**self.read(declared.cls, key), "enabled": enabled})
        if node is not None and not isinstance(node, dict):
            raise self.fail(key, node, f"expected a mapping of {declared.label or key} settings")
        return declared.cls(**self.read(declared.cls, key))

    def value(self, key: str, check: Callable[[Any], Any], item: Field) -> Any:
        """The checked value at `key`; _ABSENT when the file leaves it to the default."""
        self.read_keys.add(key)
        value = self._lookup(key, _ABSENT)
        if value is _ABSENT:
            if item.default is MISSING and item.default_factory is MISSING:
                raise UserError(f"{self.source}: missing setting {key}")
            return _ABSENT
        try:
            return check(value)
        except Invalid as invalid:
            at_fault = value if invalid.value is _ABSENT else invalid.value
            raise self.fail(_join(key, invalid.subkey), at_fault, invalid.allowed) from None

    def _lookup(self, key: str, default: Any) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def refuse_moved(self, moved: dict[str, tuple[str, str]]) -> None:
        """A setting at its old place would be silently ignored: say where it lives now instead."""
        for old, (new, version) in moved.items():
            if self._lookup(old, _ABSENT) is not _ABSENT:
                raise UserError(
                    f"{self.source}: {old} is now {new} (template {version}); move it there, or run "
                    "`copier update`, which moves it for you"
                )

    def refuse_unknown(self) -> None:
        """A key nobody reads is a typo or a setting of another release: it would leave the default in
        place without a word. Name it, and the closest known key beside it."""
        known = self.read_keys
        for key in _keys(self.raw):
            if any(_on_path(key, name) for name in known):
                continue
            parent, _, leaf = key.rpartition(".")
            siblings = sorted({_child(name, parent) for name in known if _on_path(parent, name)} - {""})
            close = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.6)
            hint = f"did you mean {_join(parent, close[0])}? " if close else ""
            where = f"under {parent}" if parent else "at the top level"
            known_here = ", ".join(siblings)
            raise UserError(f"{self.source}: unknown setting {key}; {hint}known {where}: {known_here}")

    def fail(self, key: str, value: Any, allowed: str) -> UserError:
        return UserError(f"{self.source}: {key} is {value!r}; {allowed}")
