"""Reading params.yaml: each entry point validates only the sections it reads.

A section's schema lives beside the code that reads it (``FetchParams`` in ``emoser.fetching``,
``TrainParams`` in ``emoser.training``, ...); a stage declares the sections it needs as one small
pydantic model and calls ``load_params`` with it. So a new ``report`` setting changes no code that
training imports, and ``dvc status`` does not ask to retrain. ``emoser.params.Params`` puts every
section together, with the checks that span sections, for ``emoser params`` and the tests.

A typo in a key or a value out of range is an error naming the key, never a silent default.
"""
from __future__ import annotations

import types
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from .errors import EmoserError

DEFAULT_PARAMS = Path("params.yaml")
# The top-level sections of params.yaml, in file order: a section not named here is a typo.
SECTIONS = ("fetch", "audio", "augment", "features", "split", "model", "train", "architectures", "evaluate",
            "cv", "baselines", "ours", "mlflow", "compute")


def _admits(annotation: Any, kind: type) -> bool:
    """Does a field of this type take values of ``kind`` as they are?"""
    if annotation is kind or annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _admits(get_args(annotation)[0], kind)
    if origin in (Union, types.UnionType):
        return any(_admits(arg, kind) for arg in get_args(annotation))
    if origin is Literal:
        return any(type(value) is kind for value in get_args(annotation))
    if kind is str:   # text: for str, paths and the like, never for numbers or yes/no
        return isinstance(annotation, type) and not issubclass(annotation, (bool, int, float))
    return False


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in get_args(annotation))
    if get_origin(annotation) is Literal:
        return " or ".join(repr(value) for value in get_args(annotation))
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _plain(value: Any, annotation: Any) -> None:
    """Refuse what pydantic would otherwise coerce without a word: a YAML yes/no for a number
    (``epochs: yes`` would train 1 epoch), text for a number or a yes/no."""
    if get_origin(annotation) in (tuple, list) and isinstance(value, (list, tuple)):
        items = [arg for arg in get_args(annotation) if arg is not Ellipsis] or [Any]
        for i, item in enumerate(value):
            _plain(item, items[min(i, len(items) - 1)])
        return
    if isinstance(value, bool) and not _admits(annotation, bool):
        raise ValueError(f"expected {_type_name(annotation)}, got {value!r} (YAML reads yes/no/on/off as true/false)")
    if isinstance(value, str) and not _admits(annotation, str):
        raise ValueError(f"expected {_type_name(annotation)}, got the text {value!r}")


class Section(BaseModel):
    """A section (or sub-section) of params.yaml: unknown keys are errors, values are read-only,
    and a value of the wrong kind is an error, not converted (``yes`` is not 1, ``"5"`` is not 5)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_silent_conversion(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is not None:
            _plain(value, cls.model_fields[info.field_name].annotation)
        return value


class JobsOnly(BaseModel):
    """Only a section's ``jobs``, for a stage that borrows another section's worker count (opensmile,
    embeddings); the owning stage validates the rest."""
    model_config = ConfigDict(extra="ignore", frozen=True)
    jobs: int


class ParamsError(EmoserError):
    """params.yaml is missing, unreadable or invalid; the message names the keys."""


Schema = TypeVar("Schema", bound=BaseModel)


def read_raw(path: Path | str = DEFAULT_PARAMS) -> dict[str, Any]:
    """params.yaml as plain data; its top-level keys checked against ``SECTIONS``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such params file") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections ({', '.join(SECTIONS)})")
    unknown = [key for key in raw if key not in SECTIONS]
    if unknown:
        raise ParamsError(f"{path}: unknown section(s) {unknown}; params.yaml has {', '.join(SECTIONS)}")
    return raw


def load_params(schema: type[Schema], path: Path | str = DEFAULT_PARAMS) -> Schema:
    """The sections ``schema`` names (its fields), validated; errors name every bad key."""
    return validate_raw(schema, read_raw(path), str(path))


def validate_raw(schema: type[Schema], raw: dict, source: str) -> Schema:
    """``load_params`` of params already read (``source`` names them in errors)."""
    path = source
    try:
        return schema.model_validate({key: raw[key] for key in schema.model_fields if key in raw})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ParamsError(f"{path}: {problems}") from None


def flatten(params: BaseModel, prefix: str = "") -> dict[str, object]:
    """Flatten nested params to dotted keys with plain values, as MLflow and DVC show them."""
    flat: dict[str, object] = {}

    def add(name: str, value: object) -> None:
        if isinstance(value, BaseModel):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, dict):
            for key, item in value.items():
                add(f"{name}.{key}", item)
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value

    for key, value in params:
        add(f"{prefix}{key}", value)
    return flat


def with_prefixes(flat: dict[str, object], sections: Iterable[str]) -> dict[str, object]:
    """The entries of a ``flatten``ed dict that belong to ``sections`` (what a stage logs to MLflow)."""
    prefixes = tuple(f"{s}." for s in sections)
    return {k: v for k, v in flat.items() if k.startswith(prefixes)}
