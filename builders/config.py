"""Build configuration: `.s2i/environment` plus the process environment, parsed once and validated.

The real s2i CLI already exports `.s2i/environment` into assemble's environment; we read the file as
well so that a build driven any other way (a plain `docker build`, our own `build` command) sees the
same values. The process environment wins, as with `s2i build -e`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from builders.errors import ComponentError, ConfigError, EnvironmentFileError, InvalidValueError

ENV_FILE = Path(".s2i") / "environment"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

Installer = Literal["uv", "pip"]


class ServiceType(enum.Enum):
    MODEL = "MODEL"
    ROUTER = "ROUTER"
    TRANSFORMER = "TRANSFORMER"
    OUTPUT_TRANSFORMER = "OUTPUT_TRANSFORMER"
    COMBINER = "COMBINER"
    OUTLIER_DETECTOR = "OUTLIER_DETECTOR"

    @property
    def required_methods(self) -> tuple[tuple[str, ...], ...]:
        """Groups of method names; the class needs at least one name of every group."""
        return _REQUIRED[self]

    @property
    def wrapper_name(self) -> str:
        """The name seldon-core-microservice's --service-type accepts (it has no OUTPUT_TRANSFORMER:
        the wrapper serves /transform-output for every type, so TRANSFORMER is equivalent)."""
        return "TRANSFORMER" if self is ServiceType.OUTPUT_TRANSFORMER else self.value


_REQUIRED: dict[ServiceType, tuple[tuple[str, ...], ...]] = {
    ServiceType.MODEL: (("predict", "predict_raw"),),
    ServiceType.ROUTER: (("route", "route_raw"),),
    ServiceType.TRANSFORMER: (("transform_input", "transform_input_raw"),),
    ServiceType.OUTPUT_TRANSFORMER: (("transform_output", "transform_output_raw"),),
    ServiceType.COMBINER: (("aggregate", "aggregate_raw"),),
    ServiceType.OUTLIER_DETECTOR: (("transform_input", "transform_input_raw", "score"),),
}


@dataclass(frozen=True)
class BuildConfig:
    model_name: str
    service_type: ServiceType = ServiceType.MODEL
    payload_passthrough: bool = False
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    installer: Installer = "uv"
    persistence: bool = False
    notices: tuple[str, ...] = ()
    # The process environment assemble was given (s2i's -e values and .s2i/environment included),
    # captured once by load(): PATH, HOME, proxies, CA bundles (SSL_CERT_FILE, REQUESTS_CA_BUNDLE),
    # PIP_*/UV_* settings and whatever the user's setup.py or model import reads. Every child process
    # starts from it (builders/childenv.py); nothing after load() reads os.environ. Sorted pairs, so
    # the config stays immutable; compare=False/repr=False: it is an input, not a setting.
    environment: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    @property
    def module(self) -> str:
        """The module the wrapper imports: `MyModel` for `MyModel`, `pkg.mod` for `pkg.mod.Class`."""
        return self.model_name.rsplit(".", 1)[0] if "." in self.model_name else self.model_name

    @property
    def class_name(self) -> str:
        return self.model_name.rsplit(".", 1)[-1]


def parse_env_file(text: str, path: str) -> dict[str, str]:
    """Parse `.s2i/environment`: KEY=VALUE lines; `#` comments, blank lines and CRLF allowed.

    The value is everything after the first `=`; one pair of matching surrounding quotes is removed.
    """
    result: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise EnvironmentFileError(path, lineno, raw)
        result[key] = unquote(value.strip())
    return result


def unquote(value: str) -> str:
    """Remove one pair of matching surrounding quotes. The s2i CLI passes `.s2i/environment` values
    with their quotes, so `MODEL_NAME="MyModel"` reaches assemble as `"MyModel"`."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def read_env_file(source_dir: Path) -> dict[str, str]:
    path = source_dir / ENV_FILE
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path} is not UTF-8 text", "Save .s2i/environment as UTF-8 (plain ASCII is fine)."
        ) from None
    return parse_env_file(text, str(path))


def _bool(key: str, value: str, source: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidValueError(key, value, "true, false, 1, 0, yes, no", source)


def _words(value: str) -> tuple[str, ...]:
    return tuple(value.replace(",", " ").split())


def load(source_dir: Path, environ: Mapping[str, str]) -> BuildConfig:
    """Merge `.s2i/environment` under the process environment and validate everything cheap.

    The process environment is captured here too, whole (`BuildConfig.environment`): it is what every
    child process of the build starts from (builders/childenv.py), and nothing after this reads it.
    """
    from_file = read_env_file(source_dir)
    merged = {**from_file, **{k: unquote(v.strip()) for k, v in environ.items() if k in _KNOWN}}

    def source(key: str) -> str:
        return "the build environment" if key in environ else str(source_dir / ENV_FILE)

    config = BuildConfig(
        model_name=_model_name(merged, source_dir, source),
        service_type=_service_type(merged, source),
        installer=_installer(merged, source),
        persistence=_bool("PERSISTENCE", merged.get("PERSISTENCE", "0"), source("PERSISTENCE")),
        payload_passthrough=_bool(
            "PAYLOAD_PASSTHROUGH",
            merged.get("PAYLOAD_PASSTHROUGH", "false"),
            source("PAYLOAD_PASSTHROUGH"),
        ),
        extra_index_urls=_words(merged.get("EXTRA_INDEX_URL", "")),
        trusted_hosts=_words(merged.get("PIP_TRUSTED_HOST", "")),
        notices=_notices(merged),
        environment=tuple(sorted(environ.items())),
    )
    module_file(source_dir, config)
    return config


def _model_name(merged: Mapping[str, str], source_dir: Path, source: Callable[[str], str]) -> str:
    model_name = merged.get("MODEL_NAME", "").strip()
    if not model_name:
        raise ConfigError(
            f"MODEL_NAME is not set (looked in {source_dir / ENV_FILE} and the build environment)",
            "Add MODEL_NAME=<YourClass> to .s2i/environment, naming the class defined in "
            "<YourClass>.py, or pass `-e MODEL_NAME=<YourClass>` to s2i build.",
        )
    if not _DOTTED.fullmatch(model_name):
        raise InvalidValueError(
            "MODEL_NAME",
            model_name,
            "a Python class name (MyModel) or dotted path (package.module.MyModel)",
            source("MODEL_NAME"),
        )
    return model_name


def _service_type(merged: Mapping[str, str], source: Callable[[str], str]) -> ServiceType:
    raw_type = merged.get("SERVICE_TYPE", "MODEL").strip().upper() or "MODEL"
    try:
        return ServiceType(raw_type)
    except ValueError:
        raise InvalidValueError(
            "SERVICE_TYPE",
            merged["SERVICE_TYPE"],
            ", ".join(t.value for t in ServiceType),
            source("SERVICE_TYPE"),
        ) from None


def _installer(merged: Mapping[str, str], source: Callable[[str], str]) -> Installer:
    installer = merged.get("INSTALLER", "uv").strip().lower() or "uv"
    choices: dict[str, Installer] = {"uv": "uv", "pip": "pip"}
    if installer in choices:
        return choices[installer]
    raise InvalidValueError("INSTALLER", merged["INSTALLER"], "uv, pip", source("INSTALLER"))


def _notices(merged: Mapping[str, str]) -> tuple[str, ...]:
    notices = []
    if "PERSISTENCE" in merged:
        notices.append(
            "PERSISTENCE is a legacy setting: seldon-core 1.18 accepts it but no longer persists "
            "state; it is passed through unchanged."
        )
    if "API_TYPE" in merged:
        notices.append(
            f"API_TYPE={merged['API_TYPE']!r} is a legacy setting and is ignored: the image serves "
            "REST and gRPC together."
        )
    return tuple(notices)


def module_file(source_dir: Path, config: BuildConfig) -> Path:
    """The file that defines MODEL_NAME's module; raises if the source folder lacks it."""
    relative = Path(*config.module.split("."))
    for candidate in (relative.with_suffix(".py"), relative / "__init__.py"):
        if (source_dir / candidate).is_file():
            return source_dir / candidate
    present = sorted(p.name for p in source_dir.glob("*.py"))
    raise ComponentError(
        f"MODEL_NAME={config.model_name!r} needs {relative.with_suffix('.py')} in the source folder "
        f"{source_dir}, and there is no such file"
        + (f" (Python files present: {', '.join(present)})" if present else " (it has no .py files)"),
        f"Rename your file to {relative.with_suffix('.py')} or set MODEL_NAME to the class and file "
        "you have: the file name and the class name must match (MyModel.py defines class MyModel).",
    )


# Every variable the builder itself reads; the rest of the environment is the wrapper's business.
_KNOWN = frozenset(
    {
        "MODEL_NAME",
        "SERVICE_TYPE",
        "PAYLOAD_PASSTHROUGH",
        "EXTRA_INDEX_URL",
        "PIP_TRUSTED_HOST",
        "INSTALLER",
        "PERSISTENCE",
        "API_TYPE",
    }
)
