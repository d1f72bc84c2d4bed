"""Settings objects (training, hardware evaluation, proxy, cost options) as pydantic models, and their one-line errors.

A field's type is enforced when the object is made (strictly: no bool where a number belongs, no
string where an integer belongs, and numbers keep the type they were given, so ``1`` stays ``1``
and the checkpoint key that hashes a settings object does not change). What a value must be
beyond its type is a :class:`Rule` in the field's annotation, checked by :meth:`Settings.check_rules`
when the caller can say how the setting is named (a CLI option, a YAML key path): settings may be
made first and checked later. Both kinds of error are a :class:`~cosearch.core.errors.ConfigError`
naming the setting and what it must be.

Values checked outside a settings object (hardware cards, search spaces, records read back) use
the same type tests: :func:`is_int`, :func:`is_real` and :func:`is_number`, the one place that
says a bool is not a number (YAML's ``true`` is an ``int`` to Python).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cosearch.core.errors import ConfigError

#: A number as given: an int stays an int (a float field would turn ``1`` into ``1.0``).
Number = int | float

_S = TypeVar("_S", bound="Settings")


def is_int(value: Any) -> TypeGuard[int]:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: Any) -> TypeGuard[int | float]:
    """An int or a float, not a bool (inf and NaN included)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float, not a bool."""
    return is_real(value) and math.isfinite(value)


def _any_value(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """What a setting must be: ``expected`` as messages say it (``"an integer >= 1"``) and ``holds``,
    the test of a value of the field's type (default: any)."""

    expected: str
    holds: Callable[[Any], bool] = _any_value


class Settings(BaseModel):
    """Frozen, no unknown keys, strict types; each field annotated ``Annotated[type, Rule(...)]``."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @classmethod
    def rule(cls, name: str) -> Rule:
        """The :class:`Rule` of field ``name``."""
        found = [m for m in cls.model_fields[name].metadata if isinstance(m, Rule)]
        if not found:
            raise TypeError(f"{cls.__name__}.{name} has no Rule in its annotation")
        return found[0]

    @classmethod
    def from_values(cls: type[_S], values: Mapping[str, Any], key: Callable[[str], str], source: str = "") -> _S:
        """Settings from user values; ConfigError (``source``, ``key(name)``) for an unknown key or a
        value of the wrong type."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            if error["type"] == "extra_forbidden":
                raise ConfigError(source, key(name), f"unknown key (allowed: {', '.join(cls.model_fields)})") from None
            raise ConfigError(source, key(name), f"must be {cls.rule(name).expected} (got {error['input']!r})") from None

    def check_rules(self, key: Callable[[str], str], source: str = "", given: Mapping[str, Any] | None = None) -> None:
        """ConfigError (``source``, ``key(name)``) for the first field, in declaration order, whose rule fails;
        the message shows the value as ``given`` (the user's values, where a float field made ``1`` ``1.0``)."""
        for name in type(self).model_fields:
            rule, value = self.rule(name), getattr(self, name)
            if not rule.holds(value):
                shown = given[name] if given is not None and name in given else value
                raise ConfigError(source, key(name), f"must be {rule.expected} (got {shown!r})")


__all__ = ["Number", "Rule", "Settings", "is_int", "is_number", "is_real"]
