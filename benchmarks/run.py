"""Benchmarks for the README's performance table. Prints medians and how they were taken.

    .venv/bin/python benchmarks/run.py notebooks [--profiles smoke standard] [--repeat 3] [NOTEBOOK ...]
        executes each chapter notebook (nbclient, fresh kernel, CHAPTERS_OFFLINE=1, from a copy in an empty
        temporary folder so no earlier run's checkpoints are reused) `repeat` times per profile;
        --save DIR also writes each executed notebook there
    .venv/bin/python benchmarks/run.py commands [--repeat 1]
        clones the repository into a temporary folder and times `make test` then `make book` there
        (the first includes creating .venv: pip downloads are cached by pip, so this is a warm-cache install)

Times are wall-clock seconds; the machine line gives cores, CPU model and memory.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine_description() -> str:
    """Cores, CPU model and memory of this machine, one line."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                             if l.startswith("MemTotal")).split()[1])
        memory = f"{memory_kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown memory"
    return f"{os.cpu_count()} cores ({model}), {memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def time_notebook(path: Path, profile: str, save: Path | None = None) -> float:
    """Seconds to execute ``path`` top to bottom in a fresh kernel with CHAPTERS_PROFILE=profile.

    The notebook runs from a copy in an empty temporary folder, so every run starts without the checkpoints of an
    earlier one (``runs/``: a finished run would be loaded instead of trained) and leaves the repository alone.
    A notebook that can reuse another notebook's finished run (06b reuses 06's detector) therefore trains its own.
    """
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    os.environ.update(CHAPTERS_PROFILE=profile, CHAPTERS_OFFLINE="1")
    with tempfile.TemporaryDirectory(prefix="chapters-bench-") as scratch:
        client = nbclient.NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                         resources={"metadata": {"path": scratch}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    if save is not None:  # the executed notebook, to read what the run printed
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, save / f"{path.stem}.{profile}.ipynb")
    return seconds


def report(label: str, seconds: list[float]) -> None:
    runs = ", ".join(f"{s:.1f}" for s in seconds)
    load = os.getloadavg()[0]
    print(f"{label:<55} median {statistics.median(seconds):7.1f} s   (runs: {runs}; load average after: {load:.1f})",
          flush=True)


def benchmark_notebooks(paths: list[Path], profiles: list[str], repeat: int, save: Path | None = None) -> None:
    for path in paths:
        for profile in profiles:
            report(f"{path.name} [{profile}]", [time_notebook(path, profile, save) for _ in range(repeat)])


def benchmark_commands(repeat: int) -> None:
    timings: dict[str, list[float]] = {"make test (fresh clone, creates .venv)": [], "make book (after make test)": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            clone = Path(scratch) / "companion"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            for label, target in zip(timings, ("test", "book")):
                start = time.perf_counter()
                subprocess.run(["make", target], cwd=clone, check=True, stdout=subprocess.DEVNULL)
                timings[label].append(time.perf_counter() - start)
    for label, seconds in timings.items():
        report(label, seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["notebooks", "commands"])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--profiles", nargs="+", default=["smoke", "standard"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--save", type=Path, help="also write each executed notebook into this folder")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be ≥ 1")
    print("machine:", machine_description())
    print(f"method: wall-clock, median of {args.repeat} run(s)", flush=True)
    if args.what == "notebooks":
        paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
        benchmark_notebooks(paths, args.profiles, args.repeat, args.save)
    else:
        benchmark_commands(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
