"""Command-line options generated from the models that declare them.

A run-level flag (``--samples``) comes from a ``RunConfig`` field; a shortcut (``--epochs``) from
the ``Options`` of the component it sets; ``--trainer-option KEY=VALUE`` reaches any option of a
component. Types, help and defaults are read from those models when a command is used, so none of
them is written here.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

import click
from pydantic.fields import FieldInfo

from leti_core.app import OPTION_FIELDS, SHORTCUTS, Resolver, RunConfig, get_engine
from leti_core.passk import DEFAULT_KS

#: Component kind -> the repeatable KEY=VALUE flag for its options.
KIND_FLAGS = {
    "task": "--task-option",
    "environment": "--env-option",
    "sandbox": "--sandbox-option",
    "feedback": "--feedback-option",
    "sampler": "--sampler-option",
    "trainer": "--trainer-option",
}
#: Flags spelled other than their key.
FLAG_NAMES = {"learning_rate": "lr"}


def flag(key: str) -> str:
    return "--" + FLAG_NAMES.get(key, key).replace("_", "-")


def ks_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--k 1,10,100``: the pass@k to report (default: ``leti_core.passk.DEFAULT_KS``)."""
    return click.option(
        "--k",
        "ks",
        default=",".join(map(str, DEFAULT_KS)),
        show_default=True,
        callback=lambda c, p, v: parse_ks(v),
        help=help_text,
    )


def parse_ks(value: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter(f"{value!r}: each k must be a positive integer")
    return ks


def _pairs(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx=ctx, param=param)
        table[key.strip().replace("-", "_")] = text
    return table


def _kind_option(kind: str) -> click.Option:
    return click.Option(
        [KIND_FLAGS[kind], OPTION_FIELDS[kind]],
        multiple=True,
        metavar="KEY=VALUE",
        callback=_pairs,
        help=f"An option of the {kind} (repeatable); `leti plugins --options NAME` lists them.",
    )


def _click_type(annotation: Any, metadata: Sequence[Any] = ()) -> tuple[click.ParamType | None, bool]:
    """(click type, is a boolean flag) for a field's annotation and bounds."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation is bool:
        return None, True
    if typing.get_origin(annotation) is Literal:
        return click.Choice([str(arg) for arg in typing.get_args(annotation)]), False
    if annotation in (int, float):
        bounds = {
            name: getattr(item, name)
            for item in metadata
            for name in ("ge", "gt", "le", "lt")
            if getattr(item, name, None) is not None
        }
        if not bounds:
            return (click.INT if annotation is int else click.FLOAT), False
        ranged = click.IntRange if annotation is int else click.FloatRange
        return ranged(
            min=bounds.get("ge", bounds.get("gt")),
            max=bounds.get("le", bounds.get("lt")),
            min_open="gt" in bounds,
            max_open="lt" in bounds,
        ), False
    return click.STRING, False


def _default_text(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    return "" if default is None else f" [{default}]"


def _field_option(key: str, field: str) -> click.Option:
    """The flag ``--key`` for the RunConfig field ``field``."""
    return _option(key, RunConfig.model_fields[field], "", dest=field)


def _option(key: str, info: FieldInfo | None, origin: str, dest: str | None = None) -> click.Option:
    dest = dest or key
    kind, is_flag = _click_type(info.annotation, info.metadata) if info is not None else (click.STRING, False)
    description = (info.description or "") if info is not None else ""
    help_text = f"{description.rstrip('.')}{_default_text(info) if info else ''}{origin}".strip()
    name = flag(key)
    if is_flag:
        return click.Option([f"{name}/--no-{name[2:]}", dest], default=None, help=help_text)
    return click.Option([name, dest], type=kind, default=None, help=help_text)


def _shortcut_option(key: str, kinds: Sequence[str]) -> click.Option:
    """A shortcut's flag, typed and described by the option of the default component it sets."""
    resolver = Resolver(get_engine().registry)
    targets = [(kind, option) for kind, option in SHORTCUTS[key] if kind in kinds]
    origin = " (" + ", ".join(f"{kind} option {option}" for kind, option in targets) + ")"
    for kind, option in targets:
        try:
            cls = resolver.component_class(kind, RunConfig())
        except Exception:  # the default component is not installed: still offer the flag
            cls = None
        info = cls.Options.model_fields.get(option) if cls is not None else None
        if info is not None:
            return _option(key, info, origin)
    return _option(key, None, origin)


class ModelCommand(click.Command):
    """A command whose flags for RunConfig fields, shortcuts and component options are generated
    from the models on first use (help or parsing), so that `leti --help` loads no plugin."""

    def __init__(
        self,
        *args: Any,
        fields: Sequence[str | tuple[str, str]] = (),
        shortcuts: Sequence[str] = (),
        kinds: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model_fields, self.shortcuts, self.kinds = tuple(fields), tuple(shortcuts), tuple(kinds)
        self._generated = False

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if not self._generated:
            self._generated = True
            generated: list[click.Parameter] = [
                _field_option(*((item, item) if isinstance(item, str) else item)) for item in self.model_fields
            ]
            generated += [_shortcut_option(key, self.kinds) for key in self.shortcuts]
            generated += [_kind_option(kind) for kind in self.kinds]
            self.params.extend(generated)
        return super().get_params(ctx)


def model_command(
    name: str, *, fields: Sequence[str | tuple[str, str]] = (), shortcuts: Sequence[str] = (), kinds: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], ModelCommand]:
    """``@click.command`` with generated flags (see ModelCommand)."""
    return click.command(name, cls=ModelCommand, fields=fields, shortcuts=shortcuts, kinds=kinds)


def shortcuts_for(kinds: Sequence[str]) -> list[str]:
    """The shortcuts that set an option of one of ``kinds``."""
    return [key for key, targets in SHORTCUTS.items() if any(kind in kinds for kind, _ in targets)]


def given_layer(values: dict[str, Any]) -> dict[str, Any]:
    """What the user gave on the command line, as a config layer (unset flags left out)."""
    return {key: value for key, value in values.items() if value not in (None, {}, ())}
