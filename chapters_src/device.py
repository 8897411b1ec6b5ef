"""One setup call per notebook: devices, mixed precision, XLA, seeds, determinism, and ``strategy()``.

Every notebook starts with::

    from chapters_src import device
    summary = device.setup(seed=42, deterministic=False, mixed_precision="auto", xla="auto")
    print(summary)
    model.compile(..., jit_compile=summary.jit_compile)

The decisions are pure functions that the tests drive with fake devices:

- :func:`choose_precision_policy`  ``mixed_bfloat16`` on compute capability >= 8.0 (Ampere, Hopper),
  ``mixed_float16`` on 7.x (Volta, Turing), ``float32`` on older GPUs and never a mixed policy on CPU.
- :func:`choose_jit_compile`       XLA on for a GPU, off on CPU (XLA compile time outweighs its gain there).
- :func:`choose_strategy_kind`     ``default`` / ``mirrored`` / ``multi_worker`` from GPU count and ``TF_CONFIG``.

The module imports neither TensorFlow nor Keras at import time. With ``KERAS_BACKEND=jax`` :func:`setup`
never imports TensorFlow: it lists devices with ``jax.devices()`` and reports which TensorFlow-only steps
(memory growth, op determinism) it skipped. :func:`strategy` is TensorFlow-only (``tf.distribute``).
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import platform
import sys
from typing import Any, Callable, Sequence

from chapters_src import profiles

PRECISION_REQUESTS: tuple[str, ...] = ("auto", "off", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGY_KINDS: tuple[str, ...] = ("default", "mirrored", "multi_worker")
BFLOAT16_MIN_CAPABILITY = (8, 0)
FLOAT16_MIN_CAPABILITY = (7, 0)
MAX_SEED = 2**32 - 1


@dataclasses.dataclass(frozen=True)
class GpuInfo:
    """One GPU as the decisions see it: ``name`` (e.g. ``"NVIDIA H100 80GB HBM3"``) and
    ``compute_capability`` as ``(major, minor)``, or ``None`` when the driver does not say."""

    name: str
    compute_capability: tuple[int, int] | None = None

    def __post_init__(self):
        object.__setattr__(self, "compute_capability", parse_compute_capability(self.compute_capability))

    def describe(self) -> str:
        """``"NVIDIA A100 (compute capability 8.0)"``."""
        if self.compute_capability is None:
            return f"{self.name} (compute capability unknown)"
        major, minor = self.compute_capability
        return f"{self.name} (compute capability {major}.{minor})"


@dataclasses.dataclass(frozen=True)
class SetupSummary:
    """What :func:`setup` decided and did; ``str(summary)`` is the block printed at the top of a notebook.

    ``jit_compile`` is the value to pass to ``model.compile(jit_compile=...)``. ``notes`` lists steps that
    were skipped or failed harmlessly (e.g. memory growth after the GPUs were initialised)."""

    profile: str
    backend: str
    devices: tuple[str, ...]
    gpu_count: int
    precision_policy: str
    jit_compile: bool
    seed: int | None
    deterministic: bool
    versions: dict[str, str]
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [
            f"profile           : {self.profile}",
            f"Keras backend     : {self.backend}",
            f"devices           : {', '.join(self.devices) if self.devices else 'none found'}",
            f"GPUs              : {self.gpu_count}",
            f"precision policy  : {self.precision_policy}",
            f"XLA (jit_compile) : {self.jit_compile}",
            "versions          : " + ", ".join(f"{name} {version}" for name, version in self.versions.items()),
            f"seed              : {self.seed if self.seed is not None else 'not set (runs will differ)'}",
            f"deterministic ops : {self.deterministic}",
        ]
        lines.extend(f"note              : {note}" for note in self.notes)
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Pure decisions (no TensorFlow, no Keras): driven by the tests with fake GpuInfo values.
# ----------------------------------------------------------------------------------------------------------
def parse_compute_capability(value: Any) -> tuple[int, int] | None:
    """Normalise ``(8, 0)``, ``[8, 0]``, ``"8.0"`` or ``None`` to ``(major, minor)`` or ``None``.

    TensorFlow reports a tuple (``get_device_details``), JAX a string (``device.compute_capability``)."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.strip().split(".")
        if len(parts) != 2 or not all(part.isdigit() for part in parts):
            raise ValueError(f"compute_capability must look like '8.0' or (8, 0); got {value!r}")
        return int(parts[0]), int(parts[1])
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(part, int) for part in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"compute_capability must be None, (major, minor) or 'major.minor'; got {value!r}")


def validate_precision_request(requested: Any) -> str:
    """Return ``requested`` normalised, or raise ``ValueError`` naming ``mixed_precision`` and its values."""
    if isinstance(requested, str) and requested.strip().lower() in PRECISION_REQUESTS:
        return requested.strip().lower()
    raise ValueError(f"mixed_precision must be one of {', '.join(PRECISION_REQUESTS)}; got {requested!r}")


def validate_xla_request(requested: Any) -> str | bool:
    """Return ``"auto"``, ``True`` or ``False``, or raise ``ValueError`` naming ``xla`` and its values."""
    if isinstance(requested, bool):
        return requested
    if isinstance(requested, str) and requested.strip().lower() == "auto":
        return "auto"
    raise ValueError(f"xla must be 'auto', True or False; got {requested!r}")


def choose_precision_policy(gpus: Sequence[GpuInfo], requested: str = "auto") -> str:
    """The Keras mixed-precision policy name for these GPUs.

    ``"auto"``: ``mixed_bfloat16`` when every GPU has compute capability >= 8.0, ``mixed_float16`` when every
    GPU has >= 7.0, else ``float32`` (also with no GPU or an unknown capability: mixed precision is slower on
    CPU). ``"off"`` gives ``float32``; an explicit policy name is honoured as asked (for teaching)."""
    requested = validate_precision_request(requested)
    if requested == "off":
        return "float32"
    if requested != "auto":
        return requested
    capabilities = [gpu.compute_capability for gpu in gpus]
    if not capabilities or any(capability is None for capability in capabilities):
        return "float32"
    weakest = min(capabilities)
    if weakest >= BFLOAT16_MIN_CAPABILITY:
        return "mixed_bfloat16"
    if weakest >= FLOAT16_MIN_CAPABILITY:
        return "mixed_float16"
    return "float32"


def choose_jit_compile(
    gpus: Sequence[GpuInfo], requested: str | bool = "auto", *, deterministic: bool = False, backend: str = "tensorflow"
) -> bool:
    """Whether to compile with XLA: the value notebooks pass to ``model.compile(jit_compile=...)``.

    ``"auto"``: on with at least one GPU, off on CPU (1.5-3 s of compile time for 15-25 % per epoch), off when
    ``deterministic`` (deterministic kernels are the point then); on the JAX backend always on, since JAX
    without ``jit`` runs op by op. ``True`` / ``False`` are honoured as given."""
    requested = validate_xla_request(requested)
    if isinstance(requested, bool):
        return requested
    if backend == "jax":
        return True
    if deterministic:
        return False
    return len(gpus) > 0


def parse_tf_config(tf_config_env: str | None) -> dict | None:
    """Parse the ``TF_CONFIG`` JSON (``None`` or blank → ``None``); ``ValueError`` when it is malformed.

    Expected shape: ``{"cluster": {"worker": ["host:port", ...], "chief": [...]}, "task": {"type": "worker",
    "index": 0}}``."""
    if tf_config_env is None or not tf_config_env.strip():
        return None
    try:
        config = json.loads(tf_config_env)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}); got {tf_config_env[:200]!r}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ValueError('TF_CONFIG must be a JSON object with a "cluster" object, e.g. {"cluster": {"worker": [...]}}')
    for job, addresses in config["cluster"].items():
        if not isinstance(addresses, list) or not all(isinstance(address, str) and ":" in address for address in addresses):
            raise ValueError(f'TF_CONFIG cluster["{job}"] must be a list of "host:port" strings; got {addresses!r}')
    task = config.get("task")
    if task is not None:
        if not isinstance(task, dict) or task.get("type") not in config["cluster"]:
            raise ValueError(f'TF_CONFIG task must name a job of the cluster {sorted(config["cluster"])}; got {task!r}')
        index = task.get("index", 0)
        if not isinstance(index, int) or not 0 <= index < len(config["cluster"][task["type"]]):
            raise ValueError(f"TF_CONFIG task index must be 0..{len(config['cluster'][task['type']]) - 1}; got {index!r}")
    return config


def choose_strategy_kind(gpu_count: int, tf_config_env: str | None = None) -> str:
    """``"multi_worker"`` when ``TF_CONFIG`` names more than one worker (chief included), else ``"mirrored"``
    with several GPUs, else ``"default"`` (one device)."""
    if isinstance(gpu_count, bool) or not isinstance(gpu_count, int) or gpu_count < 0:
        raise ValueError(f"gpu_count must be an integer >= 0; got {gpu_count!r}")
    config = parse_tf_config(tf_config_env)
    if config is not None:
        workers = len(config["cluster"].get("worker", [])) + len(config["cluster"].get("chief", []))
        if workers > 1:
            return "multi_worker"
    return "mirrored" if gpu_count > 1 else "default"


# ----------------------------------------------------------------------------------------------------------
# Backend access (imports happen here, lazily).
# ----------------------------------------------------------------------------------------------------------
def _import_tensorflow():
    """Import TensorFlow on demand (one place, so tests can check the JAX path never reaches it)."""
    import tensorflow

    return tensorflow


def _keras_backend_name() -> str:
    """The Keras backend in use (importing Keras, which imports that backend)."""
    import keras

    return keras.backend.backend()


def quiet_tensorflow_logs() -> None:
    """Silence TensorFlow's C++ and Python logs: env vars for a later import; if TF is already imported, also
    its Python logger and absl verbosity. Never imports TensorFlow itself."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if "tensorflow" not in sys.modules:
        return
    sys.modules["tensorflow"].get_logger().setLevel("ERROR")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl ships with TensorFlow; stay quiet if a stripped install lacks it
        pass


def enable_memory_growth(physical_gpus: Sequence[Any], set_memory_growth: Callable[[Any, bool], None]) -> list[str]:
    """Call ``set_memory_growth(gpu, True)`` for each GPU; return notes for those that refused.

    TensorFlow raises ``RuntimeError`` once the GPUs are initialised (a second ``setup()`` in the same
    kernel, or a tensor created before it): harmless, but reported."""
    notes = []
    for gpu in physical_gpus:
        try:
            set_memory_growth(gpu, True)
        except RuntimeError as error:
            notes.append(f"memory growth not changed on {getattr(gpu, 'name', gpu)}: {error}")
    return notes


def _tensorflow_devices() -> tuple[list[str], list[GpuInfo], list[str]]:
    """CPU names, GPUs (with compute capability) and notes on the TensorFlow backend; enables memory growth."""
    tf = _import_tensorflow()
    physical_gpus = tf.config.list_physical_devices("GPU")
    notes = enable_memory_growth(physical_gpus, tf.config.experimental.set_memory_growth)
    gpus = []
    for gpu in physical_gpus:
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(GpuInfo(details.get("device_name", gpu.name), details.get("compute_capability")))
    cpus = [device.name.replace("/physical_device:", "") for device in tf.config.list_physical_devices("CPU")]
    return cpus, gpus, notes


def _jax_devices() -> tuple[list[str], list[GpuInfo], list[str]]:
    """CPU names, GPUs and notes on the JAX backend (no TensorFlow import)."""
    import jax

    cpus, gpus = [], []
    for jax_device in jax.devices():
        if jax_device.platform == "gpu":
            gpus.append(GpuInfo(jax_device.device_kind, getattr(jax_device, "compute_capability", None)))
        else:
            cpus.append(f"{jax_device.platform.upper()}:{jax_device.id}")
    if not cpus:
        cpus = [f"CPU:{device.id}" for device in jax.devices("cpu")] if _jax_has_cpu(jax) else []
    notes = ["TensorFlow-only steps skipped on JAX: GPU memory growth (JAX preallocates; set "
             "XLA_PYTHON_CLIENT_PREALLOCATE=false before import to stop it)"]
    return cpus, gpus, notes


def _jax_has_cpu(jax_module) -> bool:
    """Whether JAX can list a CPU backend next to its accelerator (it normally can)."""
    try:
        return bool(jax_module.devices("cpu"))
    except RuntimeError:
        return False


def _list_devices(backend: str) -> tuple[list[str], list[GpuInfo], list[str]]:
    """Dispatch to the backend's device lister; other backends report only what they can."""
    if backend == "tensorflow":
        return _tensorflow_devices()
    if backend == "jax":
        return _jax_devices()
    return ["CPU"], [], [f"device listing not implemented for the {backend} backend: reporting CPU only"]


def _apply_determinism(backend: str, deterministic: bool) -> list[str]:
    """Turn TensorFlow op determinism on (or back off after an earlier ``setup``); notes for other backends."""
    if backend != "tensorflow":
        if deterministic:
            return [f"op determinism is a TensorFlow switch, skipped on {backend}; on JAX set "
                    "XLA_FLAGS=--xla_gpu_deterministic_ops=true before import"]
        return []
    tf = _import_tensorflow()
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        return []
    try:  # TensorFlow exports only enable_op_determinism; switching back off uses its internal module
        from tensorflow.python.framework import config as framework_config

        if framework_config.is_op_determinism_enabled():
            framework_config.disable_op_determinism()
    except (ImportError, AttributeError):
        return ["could not check whether op determinism is still on from an earlier setup(); restart the kernel"]
    return []


def _versions(backend: str) -> dict[str, str]:
    """Versions of Python, the backend framework(s), Keras and NumPy (TensorFlow only if it is loaded)."""
    import keras
    import numpy

    versions = {"python": platform.python_version()}
    if "tensorflow" in sys.modules:
        versions["tensorflow"] = sys.modules["tensorflow"].__version__
    if backend not in ("tensorflow", "numpy"):
        framework = importlib.import_module(backend)
        versions[backend] = getattr(framework, "__version__", "unknown")
    versions["keras"] = keras.__version__
    versions["numpy"] = numpy.__version__
    return versions


def _validate_seed(seed: Any) -> int | None:
    """``seed`` must be ``None`` or an integer in 0..2**32-1 (what NumPy accepts)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be None or an integer in 0..{MAX_SEED}; got {seed!r}")
    return seed


# ----------------------------------------------------------------------------------------------------------
# Public entry points.
# ----------------------------------------------------------------------------------------------------------
def setup(
    seed: int | None = 42, deterministic: bool = False, mixed_precision: str = "auto", xla: str | bool = "auto"
) -> SetupSummary:
    """Prepare TensorFlow/Keras for a notebook and return what was decided (print it).

    Quietens TF logs, lists devices, enables GPU memory growth, sets the global Keras precision policy
    (see :func:`choose_precision_policy`), decides XLA (:func:`choose_jit_compile`), seeds Python, NumPy and
    the backend with ``keras.utils.set_random_seed(seed)`` and, if ``deterministic``, turns on TensorFlow
    op determinism (slower kernels, same numbers every run)."""
    seed = _validate_seed(seed)
    if not isinstance(deterministic, bool):
        raise ValueError(f"deterministic must be True or False; got {deterministic!r}")
    precision_request = validate_precision_request(mixed_precision)
    xla_request = validate_xla_request(xla)
    quiet_tensorflow_logs()
    import keras

    backend = _keras_backend_name()
    quiet_tensorflow_logs()  # Keras may just have imported TensorFlow
    cpus, gpus, notes = _list_devices(backend)
    policy = choose_precision_policy(gpus, precision_request)
    keras.mixed_precision.set_global_policy(policy)
    jit_compile = choose_jit_compile(gpus, xla_request, deterministic=deterministic, backend=backend)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    notes += _apply_determinism(backend, deterministic)
    devices = tuple(cpus) + tuple(f"GPU:{index} {gpu.describe()}" for index, gpu in enumerate(gpus))
    return SetupSummary(
        profile=profiles.current_profile(), backend=backend, devices=devices, gpu_count=len(gpus),
        precision_policy=policy, jit_compile=jit_compile, seed=seed, deterministic=deterministic,
        versions=_versions(backend), notes=tuple(notes),
    )


def strategy(kind: str | None = None, devices: Sequence[str] | None = None):
    """The ``tf.distribute`` strategy to build and compile models under (``with strategy().scope(): ...``).

    ``kind=None`` picks with :func:`choose_strategy_kind` from the visible GPUs and ``$TF_CONFIG``;
    ``kind="default" | "mirrored" | "multi_worker"`` forces one (teaching, tests). ``devices`` (e.g.
    ``["/cpu:0", "/cpu:1"]``) is only meaningful for ``"mirrored"``. TensorFlow backend only."""
    if kind is not None and kind not in STRATEGY_KINDS:
        raise ValueError(f"kind must be None or one of {', '.join(STRATEGY_KINDS)}; got {kind!r}")
    if devices is not None:
        if kind != "mirrored":
            raise ValueError(f"devices is only accepted with kind='mirrored'; got kind={kind!r}")
        if isinstance(devices, str) or not devices or not all(isinstance(name, str) for name in devices):
            raise ValueError(f"devices must be a non-empty list of device names like '/gpu:0'; got {devices!r}")
    tf = _import_tensorflow()
    tf_config = os.environ.get("TF_CONFIG")
    if kind is None:
        # Listing logical GPUs initialises TensorFlow's runtime, after which collective ops can no longer be
        # configured: decide on multi-worker from TF_CONFIG alone first.
        kind = choose_strategy_kind(0, tf_config)
        if kind != "multi_worker":
            kind = choose_strategy_kind(len(tf.config.list_logical_devices("GPU")), tf_config)
    if kind == "multi_worker":
        parse_tf_config(tf_config)  # a clear ValueError beats TensorFlow's KeyError
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(devices) if devices is not None else None)
    return tf.distribute.get_strategy()
