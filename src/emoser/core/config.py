"""Reading params.yaml: each entry point validates only the sections it reads.

Each section's schema is a module of ``emoser.params`` (``emoser.params.corpora.CorpusParams``,
``emoser.params.networks.TrainParams``, ...), apart from the code that reads it; a stage declares
the sections it needs as one small pydantic model and calls ``load_params`` with it. So a new
``report`` setting changes no code that training imports, and ``dvc status`` does not ask to
retrain. ``emoser.params.file.Params`` puts every section together, with the checks that span
sections, for ``emoser params`` and the tests.

A typo in a key, a value out of range or of the wrong kind is an error naming the key, never a
silent default or conversion (pydantic's strict mode: ``epochs: yes`` is not 1 epoch).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import ErrorDetails

from emoser.core.errors import EmoserError

DEFAULT_PARAMS = Path("params.yaml")
# The top-level sections of params.yaml, in file order: a section not named here is a typo.
SECTIONS = ("corpora", "roles", "audio", "augment", "features", "split", "model", "train", "architectures", "evaluate",
            "cv", "opensmile", "embeddings", "baselines", "whisper", "ours", "loco", "mlflow", "compute")


class Section(BaseModel):
    """A section (or sub-section) of params.yaml: unknown keys are errors, values are read-only,
    and a value of the wrong kind is an error, not converted (pydantic's strict mode: ``yes`` is not
    1, ``"5"`` is not 5; an int is a float)."""
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _lists_as_tuples(cls, value: Any) -> Any:
        """YAML reads sequences as lists; strict mode takes a tuple field only as a tuple."""
        return tuple(value) if isinstance(value, list) else value


# strict mode's type errors -> the kind of value the key takes, in the words of params.yaml
_KINDS = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str",
          "tuple_type": "list", "none_required": "None", "dict_type": "mapping"}


def _problem(errors: list[ErrorDetails]) -> str:
    """One key's errors (several when its type is a union) as one line: what it takes, what it got."""
    kinds = [_KINDS.get(e["type"]) or (e["msg"].removeprefix("Input should be ") if e["type"] == "literal_error"
                                        else None) for e in errors]
    if None in kinds:   # not a wrong kind (out of range, a custom check): pydantic's own words
        return errors[kinds.index(None)]["msg"].removeprefix("Value error, ")
    expected, got = " or ".join(k for k in kinds if k), errors[0]["input"]
    if isinstance(got, bool):
        return f"expected {expected}, got {got!r} (YAML reads yes/no/on/off as true/false)"
    if isinstance(got, str):
        return f"expected {expected}, got the text {got!r}"
    return f"expected {expected}, got {got!r}"


def _key(loc: tuple) -> str:
    """The params key of an error's location, without pydantic's union-member tags (``int``, ``tuple[...]``)."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p in _KINDS.values() or "[" in p or p == "none"))]
    return ".".join(parts) or "(top level)"



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
        by_key: dict[str, list[ErrorDetails]] = {}
        for err in exc.errors():
            by_key.setdefault(_key(err["loc"]), []).append(err)
        raise ParamsError(f"{path}: " + "; ".join(f"{key}: {_problem(errs)}" for key, errs in by_key.items())) from None


def flatten(params: BaseModel | Mapping[str, Any], prefix: str = "") -> dict[str, object]:
    """Flatten nested params (validated, or as read from params.yaml) to dotted keys with plain
    values, as MLflow and DVC show them."""
    flat: dict[str, object] = {}

    def add(name: str, value: object) -> None:
        if isinstance(value, BaseModel):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, dict):
            for key, item in value.items():
                add(f"{name}.{key}", item)
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value

    for key, value in (params.items() if isinstance(params, Mapping) else params):
        add(f"{prefix}{key}", value)
    return flat


def with_prefixes(flat: dict[str, object], sections: Iterable[str]) -> dict[str, object]:
    """The entries of a ``flatten``ed dict that belong to ``sections`` (what a stage logs to MLflow)."""
    prefixes = tuple(f"{s}." for s in sections)
    return {k: v for k, v in flat.items() if k.startswith(prefixes)}
