"""Experiment YAML -> validated, resolved objects. Every error names the file and the key path.

Schema (see README "Experiment files" for the full guide)::

    name: cifar10_xpert            # run directory name (runs/<name>/)
    description: ...
    seed: 0
    common_seed: false             # true: every candidate evaluated with one seed (same init
                                   # weights, batches, noise draws: common random numbers)
    data: {dataset: cifar10, root: null, batch_size: 128, download: false}
    space: search_spaces/xpert_vgg16.yaml   # or an inline mapping (cosearch.space)
    evaluators: [proxy, cost]      # names or {type: module:Class, options: {...}}
                                   # cheap first: [cost, {type: proxy, skip_when: [constraints]},
                                   #               {type: cost, options: {use_activity: true}}]
    objectives:
      - {metric: proxy_score, direction: maximize}
      - {metric: hw_edap, direction: minimize}
    constraints:
      - {metric: hw_area_mm2, "<=": 60}       # or {metric: ..., op: "<=", bound: 60}
    searcher: {type: nsga2, options: {population_size: 20}}
    trials: 200
    fail_fast: 10                  # stop (exit 3) when the first 10 trials of a session all fail
                                   # with one reason; 0: never
    backend: local
    enqueue:                       # baselines evaluated first
      - name: vgg16
        values: {network: {channels: [...]}, hardware: {...}}   # or params: {name: value}
    reference_point: {proxy_score: 0, hw_edap: 1.0e12}          # hypervolume reference
    hardware: {...}                # passed to hardware evaluators (cards, node, defaults)
    proxy: {...}                   # passed to the proxy evaluator
    phases:                        # optional multi-phase plan (replaces searcher/trials)
      - {name: groups, trials: 100, space: ..., searcher: {type: nsga2}}
      - {name: layers, trials: 100, inherit: {enqueue: pareto, fix: ["timesteps"]}}
      - {name: refine, trials: 20, inherit: {enqueue: pareto, top: 20, sample: false},
         evaluators: [proxy, cost, train]}   # a phase may run its own evaluators
"""

from __future__ import annotations

import fnmatch
import inspect
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from cosearch.core.errors import ConfigError
from cosearch.core.files import read_yaml
from cosearch.core.samplers import SAMPLERS, sampler_option_error, sampler_option_names
from cosearch.data import DATASETS
from cosearch.space import SearchSpace, load_space, parse_space, with_fixed

Direction = Literal["minimize", "maximize"]


def _one_of(value: str, allowed: Mapping[str, Any]) -> str:
    """``value`` when it names an entry of the registry ``allowed``, else the error listing them."""
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)} (got {value!r})")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataConfig(_Strict):
    """Dataset for data-dependent evaluators (the proxy). ``root`` falls back to $COSEARCH_DATA."""

    dataset: str = "cifar10"
    root: str | None = None
    batch_size: int = Field(128, gt=0)
    download: bool = False

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        return _one_of(value, DATASETS)


class ObjectiveConfig(_Strict):
    metric: str
    direction: Direction


def _op_shorthand(data: Any, ops: tuple[str, ...]) -> Any:
    """``{metric: M, "<=": B}`` -> ``{metric: M, op: "<=", bound: B}`` for the comparison ``ops``."""
    if isinstance(data, Mapping):
        found = [op for op in ops if op in data]
        if len(found) == 1 and "op" not in data:
            data = {k: v for k, v in data.items() if k != found[0]} | {"op": found[0], "bound": data[found[0]]}
    return data


class ConstraintConfig(_Strict):
    """``metric op bound``; stored as a violation value that is <= 0 when satisfied."""

    metric: str
    op: Literal["<=", ">="]
    bound: float = Field(allow_inf_nan=False)  # a NaN bound would make every comparison false

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _op_shorthand(data, ("<=", ">="))

    def violation(self, value: float) -> float:
        """<= 0 when the constraint holds (Optuna's convention)."""
        return value - self.bound if self.op == "<=" else self.bound - value


class _Typed(_Strict):
    """A section whose short form is just its type name (``searcher: tpe``)."""

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data


class PreselectConfig(_Strict):
    """Surrogate-guided pre-selection (:mod:`cosearch.search.preselect`, docs/search.md): once the
    phase has ``startup`` finished trials that were not screened, each new trial is the best of ``pool`` random draws,
    priced by the evaluators before the first ``skip_when`` screen and ranked by the hypervolume it
    is predicted to add (a Bayesian linear model of the expensive metrics, Thompson-sampled)."""

    pool: int = Field(256, ge=2)
    startup: int = Field(20, ge=1)


class SearcherConfig(_Typed):
    type: str = "tpe"
    options: dict[str, Any] = Field(default_factory=dict)
    preselect: PreselectConfig | None = None

    @model_serializer(mode="wrap")
    def _without_empty_preselect(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``preselect`` key when unset, so run directories made before it existed still resume."""
        data: dict[str, Any] = handler(self)
        if data.get("preselect") is None:
            data.pop("preselect", None)
        return data

    @field_validator("type")
    @classmethod
    def _known_sampler(cls, value: str) -> str:
        return _one_of(value, SAMPLERS)

    @model_validator(mode="after")
    def _known_options(self) -> SearcherConfig:
        allowed = sampler_option_names(self.type)
        for key in self.options:
            if key not in allowed:
                raise ValueError(f"options.{key}: not an option of the {self.type} searcher; allowed: {', '.join(allowed)}")
        rejected = sampler_option_error(self.type, self.options)
        if rejected is not None:
            option, message = rejected
            raise ValueError(f"options{'.' + option if option else ''}: the {self.type} sampler rejects it: {message}")
        return self


class BackendConfig(_Typed):
    """Where evaluations run: ``local`` (this process, sequential) or ``ray`` (workers, batched).

    Ray settings: ``address`` of a cluster (else $RAY_ADDRESS, else a local Ray is started);
    ``workers`` evaluation actors, each reserving ``cpus_per_worker`` / ``gpus_per_worker``;
    ``batch_size`` candidates per Ray task (amortises Ray's per-call cost for cheap evaluators);
    ``timeout_s`` per candidate (a hung evaluation is killed and its trial failed);
    ``retries`` for candidates whose worker died; ``temp_dir`` for a local Ray's session files.
    """

    type: Literal["local", "ray"] = "local"
    address: str | None = None
    workers: int = Field(2, gt=0)
    batch_size: int = Field(1, gt=0)
    cpus_per_worker: float = Field(1.0, ge=0)
    gpus_per_worker: float = Field(0.0, ge=0)
    timeout_s: float | None = Field(None, gt=0)
    retries: int = Field(0, ge=0)
    temp_dir: str | None = None


class SkipConditionConfig(_Strict):
    """``metric op bound``: the evaluator it is listed on, and every one after it, is skipped when
    this holds on the metrics of the evaluators before (``{metric: hw_adc_bits_min, "<=": 1}``)."""

    metric: str
    op: Literal["<", "<=", ">", ">="]
    bound: float = Field(allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _op_shorthand(data, ("<", "<=", ">", ">="))


class EvaluatorConfig(_Typed):
    """One evaluator of the pipeline. ``skip_when``: cheap-first screening (docs/search.md): the
    word ``constraints`` (skip when a constraint whose metric is already known is violated) and/or
    skip conditions; a skipped trial is recorded infeasible with the metrics known so far."""

    type: str
    options: dict[str, Any] = Field(default_factory=dict)
    skip_when: list[Any] = Field(default_factory=list)  # "constraints" | SkipConditionConfig

    @field_validator("skip_when")
    @classmethod
    def _skip_items(cls, items: list[Any]) -> list[Any]:
        parsed: list[Any] = []
        for k, item in enumerate(items):
            allowed = "allowed: 'constraints' or a condition {metric: NAME, OP: BOUND} with OP one of <, <=, >, >="
            if item == "constraints":
                parsed.append(item)
            elif isinstance(item, Mapping):
                try:
                    parsed.append(SkipConditionConfig.model_validate(item))
                except ValidationError as exc:
                    problem = "; ".join(f"{_loc_path(list(e['loc'])) or 'condition'}: {e['msg']}" for e in exc.errors())
                    raise ValueError(f"item {k} ({item!r}): {problem}; {allowed}") from None
            else:
                raise ValueError(f"item {k} is {item!r}; {allowed}")
        return parsed

    @model_serializer(mode="wrap")
    def _without_empty_skip(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``skip_when`` key when empty, so run directories made before it existed still resume."""
        data: dict[str, Any] = handler(self)
        if not data.get("skip_when"):
            data.pop("skip_when", None)
        return data


class BaselineConfig(_Strict):
    """A design evaluated before the search: by Optuna params, by section values, or both."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("values")
    @classmethod
    def _sections(cls, values: dict[str, Any]) -> dict[str, Any]:
        for key in values:
            if key not in ("network", "timesteps", "hardware"):
                raise ValueError(f"unknown section {key!r}; allowed: network, timesteps, hardware")
        return values


class InheritConfig(_Strict):
    """How a phase starts from the previous phase's result.

    ``enqueue``: which previous designs to evaluate first (``pareto``: every feasible
    non-dominated design; ``best``: the Pareto design best on the first objective; ``none``).
    ``fix``: glob patterns of this phase's parameter names fixed to the ``best`` design's values.
    ``top``: enqueue at most this many of those designs (best first on the first objective).
    ``sample``: false = the phase evaluates only the designs it inherits (its budget is
    ``min(trials, inherited designs)``), as a re-ranking phase over a Pareto set does.
    """

    enqueue: Literal["pareto", "best", "none"] = "pareto"
    fix: list[str] = Field(default_factory=list)
    top: int | None = Field(None, gt=0)
    sample: bool = True


class PhaseConfig(_Strict):
    name: str
    trials: int = Field(gt=0, strict=True)
    space: str | dict[str, Any] | None = None
    searcher: SearcherConfig | None = None
    fix: dict[str, Any] = Field(default_factory=dict)
    enqueue: list[BaselineConfig] = Field(default_factory=list)
    inherit: InheritConfig | None = None
    evaluators: list[EvaluatorConfig] | None = Field(None, min_length=1)  # default: the experiment's

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name) or set(name) == {"."}:
            raise ValueError(f"must be 1-100 letters, digits, '_', '.', '-' and not only dots (it names a "
                             f"folder; got {name[:120]!r})")
        return name


class ExperimentConfig(_Strict):
    name: str
    description: str = ""
    seed: int = Field(0, ge=0, strict=True)  # strict: `seed: true` or "3" is refused, not coerced to 1 / 3
    common_seed: bool = Field(False, strict=True)
    data: DataConfig = Field(default_factory=DataConfig)
    space: str | dict[str, Any]
    evaluators: list[EvaluatorConfig] = Field(min_length=1)
    objectives: list[ObjectiveConfig] = Field(min_length=1)
    constraints: list[ConstraintConfig] = Field(default_factory=list)
    searcher: SearcherConfig = Field(default_factory=SearcherConfig)
    trials: int = Field(100, gt=0, strict=True)
    fail_fast: int = Field(10, ge=0)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    enqueue: list[BaselineConfig] = Field(default_factory=list)
    reference_point: dict[str, Annotated[float, Field(allow_inf_nan=False)]] | None = None  # NaN / inf: hypervolume 0
    hardware: dict[str, Any] = Field(default_factory=dict)
    proxy: dict[str, Any] = Field(default_factory=dict)
    phases: list[PhaseConfig] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return PhaseConfig._name(name)

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        metrics = [o.metric for o in self.objectives]
        if len(set(metrics)) != len(metrics):
            raise ValueError("objectives: each metric may appear once")
        if self.reference_point is not None and set(self.reference_point) != set(metrics):
            raise ValueError(f"reference_point: needs exactly the objective metrics {', '.join(metrics)}")
        if self.phases is not None:
            names = [p.name for p in self.phases]
            if not names or len(set(names)) != len(names):
                raise ValueError("phases: needs at least one phase, with distinct names")
            if self.phases[0].inherit is not None:
                raise ValueError("phases[0].inherit: the first phase has no previous phase")
        return self


class Phase:
    """A resolved phase: its space (with fixed params applied), searcher, budget and baselines."""

    def __init__(self, index: int, config: PhaseConfig, space: SearchSpace, searcher: SearcherConfig,
                 baselines: list[tuple[str, dict[str, Any]]]) -> None:
        self.index = index
        self.name = config.name
        self.trials = config.trials
        self.inherit = config.inherit
        self.evaluators = config.evaluators
        self.space = space
        self.searcher = searcher
        self.baselines = baselines


class Experiment:
    """A validated experiment with its spaces parsed and paths resolved."""

    def __init__(self, config: ExperimentConfig, source: Path, project_dir: Path, phases: list[Phase]) -> None:
        self.config = config
        self.source = source
        self.project_dir = project_dir
        self.phases = phases

    @property
    def name(self) -> str:
        return self.config.name

    def resolved(self) -> dict[str, Any]:
        """The config with every space inlined: what the run directory stores and resumes from."""
        data = self.config.model_dump(mode="json")
        data["space"] = self.phases[0].space.raw if self.config.phases is None else _raw_or_path(data["space"], self)
        if self.config.phases is not None:
            for phase_data, phase in zip(data["phases"], self.phases):
                phase_data["space"] = phase.space.raw
        return data


def _raw_or_path(space: Any, experiment: Experiment) -> Any:
    if isinstance(space, str):
        return load_space(resolve_path(space, experiment.source, experiment.project_dir)).raw
    return space


# ------------------------------------------------------------------ loading ----


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``hw_models/`` or ``search_spaces/`` (else cwd)."""
    for folder in [start, *start.parents]:
        if (folder / "hw_models").is_dir() or (folder / "search_spaces").is_dir():
            return folder
    return Path.cwd()


def resolve_path(ref: str, source: Path, project_dir: Path) -> Path:
    """A path from a YAML file: tried relative to the file's folder, the project, then cwd."""
    path = Path(ref)
    if path.is_absolute():
        return path
    for base in (source.parent, project_dir, Path.cwd()):
        if (base / path).exists():
            return base / path
    return project_dir / path


def load_experiment(path: str | Path, *, trials: int | None = None, seed: int | None = None,
                    data: Mapping[str, Any] | None = None, backend: Mapping[str, Any] | None = None) -> Experiment:
    """Read, validate and resolve an experiment file; overrides come from the CLI."""
    source = Path(path)
    return experiment_from_dict(read_yaml(source), source, trials=trials, seed=seed, data=data, backend=backend)


def validate_config(raw: Any, source: str | Path) -> ExperimentConfig:
    """The experiment keys of ``raw`` checked (space, card and data files are not read).

    Raises:
        ConfigError: ``raw`` is not a mapping, or the first bad key, naming ``source``.
    """
    if not isinstance(raw, dict):
        raise ConfigError(str(source), "", f"must be a mapping of experiment keys (name, space, objectives ...); "
                                           f"got {type(raw).__name__}")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc, str(source)) from None


def experiment_from_dict(raw: Any, source: Path, *, trials: int | None = None, seed: int | None = None,
                         data: Mapping[str, Any] | None = None, backend: Mapping[str, Any] | None = None) -> Experiment:
    """Validate an experiment mapping; ``trials``/``seed``/``data``/``backend`` override its keys (CLI)."""
    validate_config(raw, source)  # before the overrides: a bad stored or written mapping is named as it is
    raw = dict(raw)
    if seed is not None:
        raw["seed"] = seed
    if data:
        raw["data"] = {**(raw.get("data") or {}), **data}
    if backend:
        current = raw.get("backend") or {}
        raw["backend"] = {**({"type": current} if isinstance(current, str) else current), **backend}
    if trials is not None:
        raw["trials"] = trials
        if isinstance(raw.get("phases"), list):
            raw["phases"] = [{**p, "trials": trials} if isinstance(p, dict) else p for p in raw["phases"]]
    config = validate_config(raw, source)
    project_dir = find_project_dir(source.resolve().parent)
    base_space = _space(config.space, source, project_dir, "space")
    phase_configs = config.phases or [PhaseConfig(name="search", trials=config.trials)]
    phases = []
    for index, phase_config in enumerate(phase_configs):
        where = f"phases[{index}]" if config.phases else ""
        space = base_space if phase_config.space is None else _space(phase_config.space, source, project_dir, f"{where}.space")
        if phase_config.fix:
            space = with_fixed(space, phase_config.fix, str(source), f"{where}.fix")
        resolved = [_baseline(b, space, str(source), f"enqueue[{k}]") for k, b in enumerate(config.enqueue if index == 0 else [])]
        resolved += [_baseline(b, space, str(source), f"{where}.enqueue[{k}]".lstrip(".")) for k, b in enumerate(phase_config.enqueue)]
        if phase_config.inherit is not None:
            unknown = [p for p in phase_config.inherit.fix if not _matches_any(p, space.parameter_names())]
            if unknown:
                raise ConfigError(str(source), f"{where}.inherit.fix", f"pattern {unknown[0]!r} matches no parameter of this phase's space")
        phases.append(Phase(index, phase_config, space, phase_config.searcher or config.searcher, resolved))
    return Experiment(config, source, project_dir, phases)


def _matches_any(pattern: str, names: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)


def _space(space: str | dict[str, Any], source: Path, project_dir: Path, path: str) -> SearchSpace:
    if isinstance(space, str):
        return load_space(resolve_path(space, source, project_dir))
    return parse_space(space, str(source), path)


def _baseline(baseline: BaselineConfig, space: SearchSpace, source: str, path: str) -> tuple[str, dict[str, Any]]:
    """Baseline -> full Optuna params of ``space``; every parameter must be given or derivable."""
    values = {section: dict(baseline.values.get(section) or {}) for section in ("network", "hardware")}
    if "timesteps" in baseline.values:
        values["timesteps"] = {"timesteps": baseline.values["timesteps"]}
    params = {**space.params_for(values), **baseline.params}
    distributions = space.distributions()
    for name in baseline.params:
        if name not in distributions:
            raise ConfigError(source, f"{path}.params.{name}", f"not a parameter of space {space.name!r}")
    missing = space.missing_params(params)
    if missing:
        raise ConfigError(
            source, path,
            f"baseline {baseline.name!r} leaves parameters unset or out of range: {', '.join(missing[:8])}"
            + (" ..." if len(missing) > 8 else ""),
        )
    return baseline.name, params


def _config_error(exc: ValidationError, source: str) -> ConfigError:
    """The first pydantic error as ``file: key.path: message (got ...)``."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    kind = error["type"]
    message = error["msg"]
    got = error.get("input")
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        message = f"must be one of {', '.join(choices)} (got {got!r})"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key; allowed: {', '.join(allowed)}" if allowed else "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
        sub = re.match(r"^([\w\[\].]+): (.*)$", message, re.S)
        if sub:  # validators that name a sub-key put it first
            loc += [sub.group(1)]
            message = sub.group(2)
    else:
        message = f"{message[0].lower()}{message[1:]} (got {got!r})"
    return ConfigError(source, _loc_path(loc), message)


def _loc_path(loc: list[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _allowed_keys(loc: list[Any]) -> list[str]:
    model: Any = ExperimentConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if inspect.isclass(model) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_of(annotation: Any) -> Any:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


__all__ = [
    "Experiment",
    "ExperimentConfig",
    "Phase",
    "experiment_from_dict",
    "load_experiment",
    "resolve_path",
]
