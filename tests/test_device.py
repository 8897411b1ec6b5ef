"""Tests of chapters_src.device: pure decisions with fake GPUs, setup() on this CPU machine, a simulated
JAX backend, and real distributed training (MirroredStrategy over two logical CPUs, two-process
MultiWorkerMirroredStrategy over 127.0.0.1) in subprocesses."""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from chapters_src import device
from chapters_src.device import GpuInfo

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
HELPERS = Path(__file__).resolve().parent / "helpers"
SUBPROCESS_TIMEOUT_S = 120

A100 = GpuInfo("NVIDIA A100-SXM4-40GB", (8, 0))
H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))
RTX_3090 = GpuInfo("NVIDIA GeForce RTX 3090", (8, 6))
V100 = GpuInfo("Tesla V100-SXM2-16GB", (7, 0))
T4 = GpuInfo("Tesla T4", (7, 5))
P100 = GpuInfo("Tesla P100-PCIE-16GB", (6, 0))
UNKNOWN = GpuInfo("Some GPU", None)


def tf_config(workers: int, chief: int = 0, index: int = 0) -> str:
    """A TF_CONFIG JSON string for ``workers`` workers (and ``chief`` chiefs) on 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{20000 + number}" for number in range(workers)]}
    if chief:
        cluster["chief"] = [f"127.0.0.1:{21000 + number}" for number in range(chief)]
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


@pytest.fixture
def restore_keras_state():
    """Put the global precision policy and op determinism back after a test that changes them."""
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")
    if "tensorflow" in sys.modules:
        from tensorflow.python.framework import config as framework_config

        framework_config.disable_op_determinism()


# ---------------------------------------------------------------------------------------------- pure decisions
@pytest.mark.parametrize(
    "value, expected",
    [((8, 0), (8, 0)), ([7, 5], (7, 5)), ("9.0", (9, 0)), (" 8.6 ", (8, 6)), (None, None)],
)
def test_parse_compute_capability_accepts_tensorflow_and_jax_forms(value, expected):
    assert device.parse_compute_capability(value) == expected
    assert GpuInfo("gpu", value).compute_capability == expected


@pytest.mark.parametrize("value", ["8", "eight.zero", (8,), (8, 0, 1), 8.0, ("8", "0")])
def test_parse_compute_capability_rejects_malformed(value):
    with pytest.raises(ValueError, match="compute_capability"):
        device.parse_compute_capability(value)


@pytest.mark.parametrize(
    "gpus, expected",
    [
        ([], "float32"),  # CPU only: never mixed precision
        ([A100], "mixed_bfloat16"),
        ([H100], "mixed_bfloat16"),
        ([RTX_3090], "mixed_bfloat16"),
        ([V100], "mixed_float16"),
        ([T4], "mixed_float16"),
        ([P100], "float32"),
        ([UNKNOWN], "float32"),
        ([A100, V100], "mixed_float16"),  # the weakest GPU decides
        ([H100, UNKNOWN], "float32"),
    ],
)
def test_choose_precision_policy_auto(gpus, expected):
    assert device.choose_precision_policy(gpus, "auto") == expected


def test_choose_precision_policy_off_and_explicit_names():
    assert device.choose_precision_policy([H100], "off") == "float32"
    assert device.choose_precision_policy([H100], "mixed_float16") == "mixed_float16"
    assert device.choose_precision_policy([], "mixed_bfloat16") == "mixed_bfloat16"  # explicit: honoured
    assert device.choose_precision_policy([A100], " AUTO ") == "mixed_bfloat16"


@pytest.mark.parametrize("requested", ["fp16", "mixed_float8", "", None, 16, True])
def test_choose_precision_policy_rejects_unknown_request(requested):
    with pytest.raises(ValueError, match=r"mixed_precision must be one of auto, off, float32, mixed_float16"):
        device.choose_precision_policy([A100], requested)


def test_choose_jit_compile():
    assert device.choose_jit_compile([], "auto") is False
    assert device.choose_jit_compile([T4], "auto") is True
    assert device.choose_jit_compile([T4], "auto", deterministic=True) is False
    assert device.choose_jit_compile([], True) is True
    assert device.choose_jit_compile([H100], False) is False
    assert device.choose_jit_compile([], "auto", backend="jax") is True


@pytest.mark.parametrize("requested", ["on", "yes", None, 1, 0])
def test_choose_jit_compile_rejects_unknown_request(requested):
    with pytest.raises(ValueError, match=r"xla must be 'auto', True or False"):
        device.choose_jit_compile([], requested)


@pytest.mark.parametrize(
    "gpu_count, config, expected",
    [
        (0, None, "default"),
        (1, None, "default"),
        (1, "", "default"),
        (2, None, "mirrored"),
        (8, "  ", "mirrored"),
        (2, tf_config(1), "mirrored"),  # a one-worker cluster is not multi-worker
        (0, tf_config(2), "multi_worker"),
        (4, tf_config(3, index=2), "multi_worker"),
        (1, tf_config(1, chief=1), "multi_worker"),  # chief + worker = two workers
    ],
)
def test_choose_strategy_kind(gpu_count, config, expected):
    assert device.choose_strategy_kind(gpu_count, config) == expected


@pytest.mark.parametrize(
    "config, message",
    [
        ("{not json", "not valid JSON"),
        ("[]", '"cluster" object'),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster" object'),
        ('{"cluster": {"worker": "127.0.0.1:1"}}', "list of \"host:port\""),
        ('{"cluster": {"worker": ["no-port"]}}', "list of \"host:port\""),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "ps", "index": 0}}', "task must name a job"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "task index must be 0..1"),
    ],
)
def test_malformed_tf_config_raises_clear_value_error(config, message):
    with pytest.raises(ValueError, match="TF_CONFIG") as raised:
        device.choose_strategy_kind(2, config)
    assert message in str(raised.value)


@pytest.mark.parametrize("gpu_count", [-1, 1.5, "2", True, None])
def test_choose_strategy_kind_rejects_bad_gpu_count(gpu_count):
    with pytest.raises(ValueError, match="gpu_count must be an integer >= 0"):
        device.choose_strategy_kind(gpu_count, None)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"kind": "parameter_server"}, "kind must be None or one of default, mirrored, multi_worker"),
        ({"devices": ["/cpu:0"]}, "devices is only accepted with kind='mirrored'"),
        ({"kind": "default", "devices": ["/cpu:0"]}, "devices is only accepted with kind='mirrored'"),
        ({"kind": "mirrored", "devices": "/cpu:0"}, "devices must be a non-empty list"),
        ({"kind": "mirrored", "devices": []}, "devices must be a non-empty list"),
    ],
)
def test_strategy_validates_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        device.strategy(**arguments)


def test_enable_memory_growth_reports_already_initialised_gpus():
    calls = []

    def set_memory_growth(gpu, enabled):
        calls.append((gpu.name, enabled))
        if gpu.name.endswith("1"):
            raise RuntimeError("Physical devices cannot be modified after being initialized")

    gpus = [types.SimpleNamespace(name="/physical_device:GPU:0"), types.SimpleNamespace(name="/physical_device:GPU:1")]
    notes = device.enable_memory_growth(gpus, set_memory_growth)
    assert calls == [("/physical_device:GPU:0", True), ("/physical_device:GPU:1", True)]
    assert len(notes) == 1 and "GPU:1" in notes[0] and "after being initialized" in notes[0]


def test_summary_str_lists_everything_and_is_frozen():
    summary = device.SetupSummary(
        profile="full", backend="tensorflow", devices=("CPU:0", f"GPU:0 {A100.describe()}"), gpu_count=1,
        precision_policy="mixed_bfloat16", jit_compile=True, seed=42, deterministic=False,
        versions={"python": "3.11", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4"},
        notes=("memory growth not changed on GPU:0",),
    )
    text = str(summary)
    for expected in ("profile", "full", "NVIDIA A100-SXM4-40GB (compute capability 8.0)", "mixed_bfloat16",
                     "XLA (jit_compile) : True", "tensorflow 2.21.0", "keras 3.15.1", "seed              : 42",
                     "note              : memory growth"):
        assert expected in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.seed = 0


def test_importing_device_is_cheap_and_backend_agnostic():
    """``import chapters_src.device`` loads neither TensorFlow nor Keras (checked in a fresh interpreter)."""
    code = "import sys, chapters_src.device; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                               cwd=REPOSITORY_ROOT, env=subprocess_environment())
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------------------------- setup() on this machine
def test_setup_on_cpu_picks_float32_no_xla_and_seeds(restore_keras_state):
    import keras

    summary = device.setup(seed=123, deterministic=False, mixed_precision="auto", xla="auto")
    assert summary.backend == "tensorflow"
    assert summary.gpu_count == 0 and summary.devices == ("CPU:0",)
    assert summary.precision_policy == "float32" and keras.mixed_precision.global_policy().name == "float32"
    assert summary.jit_compile is False
    assert summary.profile == os.environ["CHAPTERS_PROFILE"] == "smoke"
    assert summary.seed == 123 and summary.deterministic is False
    assert set(summary.versions) == {"python", "tensorflow", "keras", "numpy"}
    first = (np.random.rand(3), np.asarray(keras.random.normal((3,))), np.asarray(keras.random.uniform((2,))))
    device.setup(seed=123)
    second = (np.random.rand(3), np.asarray(keras.random.normal((3,))), np.asarray(keras.random.uniform((2,))))
    for before, after in zip(first, second):
        np.testing.assert_array_equal(before, after)
    text = str(summary)
    assert "profile" in text and "smoke" in text and "CPU:0" in text
    assert f"tensorflow {summary.versions['tensorflow']}" in text and "keras 3." in text and "numpy" in text


def test_setup_explicit_policy_and_determinism(restore_keras_state):
    import keras
    from tensorflow.python.framework import config as framework_config

    summary = device.setup(seed=None, deterministic=True, mixed_precision="mixed_bfloat16", xla=True)
    assert summary.precision_policy == "mixed_bfloat16" == keras.mixed_precision.global_policy().name
    assert summary.jit_compile is True and summary.seed is None and summary.deterministic is True
    assert framework_config.is_op_determinism_enabled()
    assert "not set" in str(summary)
    device.setup(mixed_precision="off")  # a later setup() turns determinism back off
    assert not framework_config.is_op_determinism_enabled()
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(
    "arguments, name",
    [
        ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"), ({"seed": "42"}, "seed"), ({"seed": 4.2}, "seed"),
        ({"deterministic": "yes"}, "deterministic"), ({"deterministic": 1}, "deterministic"),
        ({"mixed_precision": "half"}, "mixed_precision"), ({"mixed_precision": None}, "mixed_precision"),
        ({"xla": "on"}, "xla"), ({"xla": None}, "xla"),
    ],
)
def test_setup_rejects_bad_arguments(arguments, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        device.setup(**arguments)


def test_setup_with_simulated_ampere_gpu_on_tensorflow(monkeypatch, restore_keras_state):
    """GPU logic on the TF backend with an injected device description (no GPU on this machine)."""
    import keras

    monkeypatch.setattr(device, "_tensorflow_devices", lambda: (["CPU:0"], [A100, A100], ["a note"]))
    summary = device.setup(seed=1)
    assert summary.gpu_count == 2
    assert summary.devices[1] == "GPU:0 NVIDIA A100-SXM4-40GB (compute capability 8.0)"
    assert summary.precision_policy == "mixed_bfloat16" == keras.mixed_precision.global_policy().name
    assert summary.jit_compile is True and summary.notes == ("a note",)
    assert device.setup(seed=1, deterministic=True).jit_compile is False


def fake_jax_module() -> types.ModuleType:
    """A stand-in for ``jax`` with one H100 and a CPU, as ``jax.devices()`` reports them on a GPU machine."""
    gpu = types.SimpleNamespace(platform="gpu", device_kind="NVIDIA H100 80GB HBM3", compute_capability="9.0", id=0)
    cpu = types.SimpleNamespace(platform="cpu", device_kind="cpu", id=0)
    module = types.ModuleType("jax")
    module.__version__ = "0.0.fake"
    module.devices = lambda backend=None: [cpu] if backend == "cpu" else [gpu]
    return module


def test_setup_on_simulated_jax_backend_never_touches_tensorflow(monkeypatch, restore_keras_state):
    import keras

    def forbidden():
        raise AssertionError("setup() reached TensorFlow on the JAX backend")

    monkeypatch.setattr(device, "_keras_backend_name", lambda: "jax")
    monkeypatch.setattr(device, "_import_tensorflow", forbidden)
    monkeypatch.setitem(sys.modules, "jax", fake_jax_module())
    summary = device.setup(seed=5, deterministic=True)
    assert summary.backend == "jax"
    assert summary.devices == ("CPU:0", "GPU:0 NVIDIA H100 80GB HBM3 (compute capability 9.0)")
    assert summary.precision_policy == "mixed_bfloat16" == keras.mixed_precision.global_policy().name
    assert summary.jit_compile is True and summary.versions["jax"] == "0.0.fake"
    notes = " ".join(summary.notes)
    assert "memory growth" in notes and "skipped" in notes and "determinism" in notes
    assert "note" in str(summary)


def test_strategy_default_on_one_device(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert device.strategy() is tf.distribute.get_strategy()
    assert device.strategy(kind="default") is tf.distribute.get_strategy()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": "oops"}}')
    with pytest.raises(ValueError, match="TF_CONFIG"):
        device.strategy()


# ------------------------------------------------------------------------------ real distributed training (slow)
def subprocess_environment(**extra: str) -> dict[str, str]:
    """The test environment for a worker: repository importable, CPU only, quiet TF, no inherited TF_CONFIG."""
    environment = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), environment.get("PYTHONPATH")]))
    environment.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    environment.update(extra)
    return environment


def free_loopback_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def load_weights(path: Path, prefix: str) -> list[np.ndarray]:
    """The arrays ``{prefix}_0 .. {prefix}_{count-1}`` of a worker's .npz file."""
    with np.load(path) as arrays:
        return [arrays[f"{prefix}_{index}"] for index in range(int(arrays["count"]))]


@pytest.mark.slow
def test_mirrored_two_logical_cpus_matches_single_device(tmp_path):
    output = tmp_path / "mirrored.npz"
    completed = subprocess.run(
        [sys.executable, str(HELPERS / "device_mirrored_worker.py"), str(output)], capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT_S, cwd=REPOSITORY_ROOT, env=subprocess_environment(),
    )
    assert completed.returncode == 0, f"worker failed\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr[-6000:]}"
    with np.load(output) as arrays:
        assert int(arrays["replicas"]) == 2
    initial, single, mirrored = (load_weights(output, name) for name in ("initial", "single", "mirrored"))
    for before, one_device, two_replicas in zip(initial, single, mirrored):
        np.testing.assert_allclose(two_replicas, one_device, atol=1e-5, rtol=0)
        assert not np.allclose(one_device, before, atol=1e-3), "training did not change the weights"


@pytest.mark.slow
def test_multi_worker_two_processes_on_loopback_agree(tmp_path):
    ports = free_loopback_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(subprocess.Popen(
            [sys.executable, str(HELPERS / "device_multi_worker.py"), str(tmp_path)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=REPOSITORY_ROOT, env=subprocess_environment(TF_CONFIG=config),
        ))
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=SUBPROCESS_TIMEOUT_S))
    except subprocess.TimeoutExpired:
        for worker in workers:
            worker.kill()
        outputs = [worker.communicate() for worker in workers]
        pytest.fail("multi-worker run timed out\n" + describe_workers(workers, outputs))
    assert all(worker.returncode == 0 for worker in workers), describe_workers(workers, outputs)
    finals = [load_weights(tmp_path / f"worker_{index}.npz", "final") for index in range(2)]
    initials = [load_weights(tmp_path / f"worker_{index}.npz", "initial") for index in range(2)]
    for index in range(2):
        with np.load(tmp_path / f"worker_{index}.npz") as arrays:
            assert int(arrays["replicas"]) == 2 and len(arrays["losses"]) == 3
    for final_0, final_1, initial_0, initial_1 in zip(*finals, *initials):
        np.testing.assert_allclose(final_0, final_1, atol=1e-6, rtol=0)
        np.testing.assert_allclose(initial_0, initial_1, atol=1e-6, rtol=0)
        assert not np.allclose(final_0, initial_0, atol=1e-3), "training did not change the weights"


def describe_workers(workers, outputs) -> str:
    """Return codes and output tails of the worker processes, for a failure message."""
    parts = []
    for index, (worker, (stdout, stderr)) in enumerate(zip(workers, outputs)):
        parts.append(f"worker {index} rc={worker.returncode}\nstdout:\n{stdout[-2000:]}\nstderr:\n{stderr[-4000:]}")
    return "\n".join(parts)
