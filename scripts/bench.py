#!/usr/bin/env python3
"""Benchmark onepassword-ecs against the cost of merely parsing and re-encoding JSON.

Why ratios and not absolute numbers: records per second depend on the machine, so a
target like "50k records/s" means nothing on a laptop or a shared CI runner. What does
carry across machines is how much the conversion costs *on top of* the JSON work any
tool must do. So every figure is paired with a floor measured in the same process, on
the same bytes, right beside it:

* in-process: ``orjson.dumps(orjson.loads(line))`` per line (the floor) vs
  ``orjson.dumps(normalize(line))`` per line (the library);
* end to end: a minimal line copier run as a subprocess (decode + re-encode with orjson,
  batched binary writes) vs ``python -m onepassword_ecs convert`` on the same file;
* memory: the CLI's peak RSS on a large (default 1 GB) input, which must stay flat
  whatever the input size, because exports are converted on small collector hosts.

Everything is best of ``--rounds`` (the least-disturbed run is the one closest to the
code's real cost; averages fold in the noise of a shared machine). The corpus is
generated with a fixed seed (see ``_corpus.py``), so two runs time the same bytes.

Usage::

    python scripts/bench.py                    # full run (several minutes, 1 GB temp file)
    python scripts/bench.py --large-mb 0       # skip the 1 GB memory run
    python scripts/bench.py --quick --large-mb 0   # smoke test (seconds)
    python scripts/bench.py --json             # machine-readable figures on stdout
    python scripts/bench.py --profile 50000    # cProfile of normalize, no benchmark
    python scripts/bench.py --callgrind 10000  # instructions per record under valgrind

Only the standard library, orjson and the package itself are used: a timing library
would be one more thing to install on the machine whose figures we want.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import importlib
import io
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onepassword_ecs
from _corpus import MIX, Corpus
from onepassword_ecs import normalize, normalize_bytes
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.mapping import _native, mapper_implementation

REPO = Path(__file__).resolve().parent.parent
SEED = 20260217
TEMPLATES = 20_000  # distinct records replayed (with fresh ids and times) for the large file

# Targets from the performance issue. Ratios are "higher is better", RSS "lower is better".
TARGET_LIBRARY = 0.30
STRETCH_LIBRARY = 0.40
TARGET_CLI = 0.30
TARGET_RSS_MB = 100.0

# The copier is the end-to-end floor: the least any NDJSON-to-NDJSON tool written in
# Python with orjson has to do. It is deliberately efficient (C-level line iteration,
# local names, 2,000-line batched writes, like the CLI's chunks) so the CLI is not
# flattered by a slow baseline. It fsyncs its output because the CLI does (its -o file
# is written atomically and fsynced), so the ratio measures conversion, not durability.
COPIER = '''\
"""Minimal NDJSON copier: decode and re-encode each line with orjson (benchmark floor)."""
import os
import sys

import orjson


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    loads, dumps = orjson.loads, orjson.dumps
    batch = []
    append = batch.append
    with open(source, "rb", buffering=1 << 20) as fin, open(target, "wb") as fout:
        for line in fin:
            if len(line) > 1:
                append(dumps(loads(line)))
                if len(batch) >= 2000:
                    fout.write(b"\\n".join(batch) + b"\\n")
                    batch.clear()
        if batch:
            fout.write(b"\\n".join(batch) + b"\\n")
        fout.flush()
        os.fsync(fout.fileno())


if __name__ == "__main__":
    main()
'''


def say(text: str) -> None:
    """Progress goes to stderr so ``--json`` output stays parseable."""
    print(text, file=sys.stderr, flush=True)


# -- machine -------------------------------------------------------------------------


def load_average() -> float | None:
    """The 1-minute load average: other work on the box is the main source of noise.

    Recorded before and after the run so that a reader can tell a slow figure caused
    by a busy machine from a slow program (best-of-N only helps if some round ran alone).
    """
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on; a ratio is only comparable on the same box."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    revision = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        revision = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    package = Path(onepassword_ecs.__file__).resolve().parent
    digest = hashlib.sha256()
    tables = Path(importlib.import_module("onepassword_ecs.mappings").__path__[0])
    sources = sorted(package.rglob("*.py")) + sorted(package.rglob("*.json"))
    sources += sorted(tables.glob("*.toml"))
    for source in sources:
        digest.update(source.read_bytes())
    return {
        "cpu": cpu,
        "cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "orjson": orjson.__version__,
        "os": platform.platform(),
        "onepassword_ecs": onepassword_ecs.__version__,
        "git": revision,
        "package": str(package),
        # Identifies the code measured even when the tree is uncommitted (git "-dirty").
        "package_sha256": digest.hexdigest()[:12],
    }


# -- corpus --------------------------------------------------------------------------


def write_corpus(path: Path, count: int, keep: int, seed: int) -> tuple[list[bytes], Corpus]:
    """Write ``count`` records to ``path``; return the first ``keep`` lines and the generator.

    Lines are streamed to disk in batches, so only the in-process sample stays in memory.
    """
    corpus = Corpus(seed)
    kept: list[bytes] = []
    batch: list[bytes] = []
    with path.open("wb") as handle:
        for index, line in enumerate(corpus.lines(count)):
            if index < keep:
                kept.append(line)
            batch.append(line)
            if len(batch) >= 5000:
                handle.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            handle.write(b"\n".join(batch) + b"\n")
    return kept, corpus


def write_large(path: Path, megabytes: int, corpus: Corpus, templates: list[bytes]) -> int:
    """Fill ``path`` to ``megabytes`` MB by replaying templates with fresh uuids and times.

    Returns the number of records written. Memory stays at the templates' size however
    large the file (the point is to measure the CLI's memory, not ours).
    """
    target = megabytes * 1024 * 1024
    records = corpus.refreshed([orjson.loads(line) for line in templates])
    written = size = 0
    with path.open("wb") as handle:
        while size < target:
            batch = [next(records) for _ in range(5000)]
            chunk = b"\n".join(batch) + b"\n"
            handle.write(chunk)
            size += len(chunk)
            written += len(batch)
    return written


# -- in-process ----------------------------------------------------------------------


def best_of(rounds: int, run: Callable[[], float]) -> float:
    """Smallest elapsed time of ``rounds`` runs (the least-disturbed one)."""
    return min(run() for _ in range(rounds))


def time_floor(lines: list[bytes]) -> float:
    loads, dumps = orjson.loads, orjson.dumps
    start = time.perf_counter()
    for line in lines:
        dumps(loads(line))
    return time.perf_counter() - start


def time_library(lines: list[bytes]) -> float:
    """decode + normalize + encode, the library's whole per-record cost.

    A rejected record is skipped as the CLI would skip it; the corpus has none, and
    ``check_library`` says so before anything is timed.
    """
    dumps = orjson.dumps
    start = time.perf_counter()
    for line in lines:
        # Not contextlib.suppress: entering a context manager per record would be
        # timed too, while a try block costs nothing until something is raised.
        try:  # noqa: SIM105
            dumps(normalize(line))
        except NormalizationError:
            pass
    return time.perf_counter() - start


def time_bytes(lines: list[bytes]) -> float:
    """``normalize_bytes``: what the CLI's bytes path costs per record."""
    to_bytes = normalize_bytes
    start = time.perf_counter()
    for line in lines:
        try:  # noqa: SIM105
            to_bytes(line)
        except NormalizationError:
            pass
    return time.perf_counter() - start


@contextlib.contextmanager
def pure_path() -> Any:
    """The native mapper switched off in this process (a no-op where it is not built)."""
    _native.disable()
    try:
        yield
    finally:
        _native.enable()


def in_process(lines: list[bytes], rounds: int) -> dict[str, float]:
    """Records per second of the floor, normalize and normalize_bytes, each with the
    native mapper and on the pure path, best of ``rounds``, interleaved in one process."""
    rates: dict[str, float] = {}
    rates["floor_rps"] = len(lines) / best_of(rounds, lambda: time_floor(lines))
    rates["library_rps"] = len(lines) / best_of(rounds, lambda: time_library(lines))
    rates["bytes_rps"] = len(lines) / best_of(rounds, lambda: time_bytes(lines))
    with pure_path():
        check_library(lines)  # warm the pure path's memos as the native run was warmed
        rates["library_pure_rps"] = len(lines) / best_of(rounds, lambda: time_library(lines))
        rates["bytes_pure_rps"] = len(lines) / best_of(rounds, lambda: time_bytes(lines))
    return rates


def check_library(lines: Iterable[bytes]) -> int:
    """Untimed pass: count rejections, and warm the lookup tables and caches.

    The first ``normalize`` call loads and validates the mapping tables; that one-off
    cost belongs to start-up (measured with the CLI), not to records per second.
    """
    rejected = 0
    for line in lines:
        try:
            normalize(line)
        except NormalizationError:
            rejected += 1
    return rejected


# -- subprocesses --------------------------------------------------------------------


# Runs one command and reports its wall time and peak RSS as JSON on stdout. Why a
# separate, tiny process: on Linux a child's ru_maxrss starts at its parent's RSS at
# fork time (the high-water mark survives exec), so measuring the CLI straight from this
# benchmark, which holds the corpus in memory, would report the benchmark's size, not
# the CLI's. This wrapper imports almost nothing (about 10 MB), so the figure it reports
# is the CLI's own whenever the CLI is bigger than that (``rss_floor_mb`` records it).
WRAPPER = """\
import os, sys, time
devnull = os.open(os.devnull, os.O_WRONLY)
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
print(seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass
class ChildRun:
    seconds: float
    max_rss_mb: float
    returncode: int


def run_child(command: list[str], stderr_path: Path, env: dict[str, str] | None = None) -> ChildRun:
    """Run ``command`` through the wrapper; return its wall time and peak RSS.

    The time is taken inside the wrapper, around the child alone (the wrapper's own
    start-up is not counted). ru_maxrss is in KiB on Linux (bytes on macOS).
    """
    wrapper = stderr_path.parent / "rss_wrapper.py"
    if not wrapper.exists():
        wrapper.write_text(WRAPPER, encoding="utf-8")
    with stderr_path.open("wb") as stderr:
        result = subprocess.run(
            [sys.executable, str(wrapper), *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            check=False,
            env=env,
        )
    if result.returncode != 0:
        raise SystemExit(
            "bench: the measuring wrapper failed:\n" + stderr_path.read_text(errors="replace")
        )
    seconds, max_rss, returncode = result.stdout.split()
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return ChildRun(float(seconds), int(max_rss) / scale, int(returncode))


def cli_command(source: Path, target: Path, errors: Path, workers: int) -> list[str]:
    command = [sys.executable, "-m", "onepassword_ecs", "convert", str(source)]
    command += ["-o", str(target), "--errors", str(errors), "--quiet"]
    if workers > 1:
        command += ["--workers", str(workers)]
    return command


def version_command() -> list[str]:
    return [sys.executable, "-m", "onepassword_ecs", "--version"]


def cli_supports_workers() -> bool:
    """The --workers option may not exist in every version of the CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "convert", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "--workers" in result.stdout


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def run_cli(source: Path, work: Path, workers: int, expected: int, pure: bool = False) -> ChildRun:
    """One CLI run; fails loudly unless every record came out as a document or an error.

    Exit status 1 (some records rejected) is accepted: the rejected count is then shown,
    since a rejection is work the copier does not do.
    """
    target, errors = work / "cli-out.ndjson", work / "cli-errors.ndjson"
    log = work / "cli-stderr.txt"
    env = {**os.environ, "ONEPASSWORD_ECS_PURE": "1"} if pure else None
    run = run_child(cli_command(source, target, errors, workers), log, env)
    if run.returncode not in (0, 1):
        raise SystemExit(
            f"bench: the CLI failed with exit status {run.returncode}:\n"
            + log.read_text(errors="replace")[-2000:]
        )
    written, rejected = count_lines(target), count_lines(errors)
    if written + rejected != expected:
        raise SystemExit(
            f"bench: the CLI wrote {written} documents and {rejected} errors for {expected} records"
        )
    for path in (target, errors):
        path.unlink(missing_ok=True)
    return run


def run_copier(script: Path, source: Path, work: Path) -> ChildRun:
    target = work / "copier-out.ndjson"
    run = run_child([sys.executable, str(script), str(source), str(target)], work / "cp.txt")
    if run.returncode != 0:
        raise SystemExit(f"bench: the copier failed with exit status {run.returncode}")
    target.unlink(missing_ok=True)
    return run


# -- profile -------------------------------------------------------------------------


def profile(count: int, seed: int, top: int) -> str:
    """cProfile of decode + normalize + encode over ``count`` records, warm caches.

    cProfile adds a fixed cost to every Python call, so it over-weights small helpers;
    use it to see *where* time goes, and the benchmark to see *how much* there is.
    """
    lines = list(Corpus(seed).lines(count))
    check_library(lines)  # warm tables and caches, as in a long-running stream
    profiler = cProfile.Profile()
    profiler.enable()
    time_library(lines)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# -- report --------------------------------------------------------------------------


# A "-pure" mode runs the probe with ONEPASSWORD_ECS_PURE=1 (the native mapper off), and
# is measured against the pure baseline (its warm-up takes the pure path too).
CALLGRIND_MODES = (
    "baseline", "floor", "library", "bytes", "baseline-pure", "library-pure", "bytes-pure",
)  # fmt: skip
CALLGRIND_WARMUP = 1_000


def callgrind_instructions(mode: str, corpus: Path, warmup: int, work: Path) -> int | None:
    """Instructions one ``_callgrind_probe.py`` run executes under callgrind, or None.

    ``PYTHONHASHSEED=0`` fixes string hashes, so dict probes (and the count) repeat
    exactly from run to run; the count does not depend on the machine's load.
    """
    out = work / f"callgrind.{mode}.out"
    probe_mode, pure = mode.removesuffix("-pure"), mode.endswith("-pure")
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve().parent / "_callgrind_probe.py"),
        probe_mode,
        str(corpus),
        str(warmup),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("ONEPASSWORD_ECS_PURE", None)
    if pure:
        env["ONEPASSWORD_ECS_PURE"] = "1"
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return None
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise RuntimeError(f"no instruction count in callgrind's output for {mode}")


def callgrind(count: int, seed: int, tmp: str | None) -> str:
    """Instructions per record for the floor, the library and the bytes path.

    Each figure is one probe run minus the baseline run (same imports, corpus and
    warm-up, no loop), divided by the records in the loop.
    """
    lines = [
        f"callgrind: {count:,} records after {CALLGRIND_WARMUP:,} warm-up, seed {seed}; "
        f'mapper: {mapper_implementation()} ("-pure": ONEPASSWORD_ECS_PURE=1)'
    ]
    with tempfile.TemporaryDirectory(prefix="onepassword-ecs-callgrind-", dir=tmp) as folder:
        work = Path(folder)
        corpus = work / "corpus.ndjson"
        kept, _corpus = write_corpus(
            corpus, count + CALLGRIND_WARMUP, count + CALLGRIND_WARMUP, seed
        )
        # Two at a time: the counts do not depend on load, only the waiting does.
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = {
                mode: pool.submit(callgrind_instructions, mode, corpus, CALLGRIND_WARMUP, work)
                for mode in CALLGRIND_MODES
            }
            counts = {mode: run.result() for mode, run in runs.items()}
    per_record: dict[str, float] = {}
    for mode in CALLGRIND_MODES:
        if mode.startswith("baseline"):
            continue
        base = counts["baseline-pure" if mode.endswith("-pure") else "baseline"]
        total = counts[mode]
        if base is None:
            raise RuntimeError(f"the callgrind baseline run for {mode} failed")
        if total is None:
            lines.append(f"  {mode:<13} (not available)")
            continue
        per_record[mode] = (total - base) / count
        lines.append(f"  {mode:<13} {per_record[mode]:>10,.0f} instructions per record")
    floor = per_record["floor"]
    for mode in ("library", "bytes", "library-pure", "bytes-pure"):
        if mode in per_record:
            ratio = floor / per_record[mode]
            lines.append(f"  {mode + ' / floor:':<21}{ratio:>6.3f} (in instructions)")
    # Wall clock in the same run, on the same records (after the valgrind runs, so the
    # two do not compete for the machine).
    sample = kept[CALLGRIND_WARMUP:]
    check_library(kept[:CALLGRIND_WARMUP])
    load = load_average()
    rates = in_process(sample, 5)
    lines.append(
        f"wall clock, best of 5, same records; 1-min load average {load} before, "
        f"{load_average()} after:"
    )
    for key in ("floor", "library", "bytes", "library_pure", "bytes_pure"):
        rate = rates[key + "_rps"]
        lines.append(
            f"  {key.replace('_', '-'):<13} {rate:>10,.0f} records/s "
            f"{rate / rates['floor_rps']:>6.3f} x floor"
        )
    return "\n".join(lines)


def verdict(value: float | None, target: float, higher_is_better: bool = True) -> str:
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value < target
    return "met" if ok else "NOT met"


def render(figures: dict[str, Any]) -> str:
    """The human-readable table."""
    m, c, r = figures["machine"], figures["config"], figures["results"]
    lines = [
        f"onepassword-ecs benchmark: seed {c['seed']}, best of {c['rounds']} round(s)",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['python']}, orjson {m['orjson']}",
        f"         {m['os']}; 1-min load average {m['load_before']} before, "
        f"{m['load_after']} after",
        f"mapper:  {m.get('mapper', 'pure')} (the pure path is measured beside it)",
        f"code:    onepassword-ecs {m['onepassword_ecs']}, git {m['git']}, "
        f"sources sha256 {m['package_sha256']} ({m['package']})",
        f"corpus:  {c['mix']}; {c['mean_line_bytes']:.0f} bytes/line on average",
        "",
        f"{'measurement':<52}{'records/s':>12}{'µs/record':>11}",
    ]

    def row(label: str, rate: float | None) -> None:
        if rate is None:
            lines.append(f"{label:<52}{'skipped':>12}")
        else:
            lines.append(f"{label:<52}{rate:>12,.0f}{1e6 / rate:>11.2f}")

    n = c["records"]
    row(f"floor: orjson loads+dumps, in-process ({n:,})", r["floor_rps"])
    row(f"library: dumps(normalize(line)), in-process ({n:,})", r["library_rps"])
    row(f"library, pure path ({n:,})", r.get("library_pure_rps"))
    row(f"bytes: normalize_bytes(line), in-process ({n:,})", r.get("bytes_rps"))
    row(f"bytes, pure path ({n:,})", r.get("bytes_pure_rps"))
    n = c["cli_records"]
    row(f"copier: orjson line copier, subprocess ({n:,})", r["copier_rps"])
    row(f"CLI: convert -o OUT --quiet ({n:,})", r["cli_rps"])
    row(f"CLI, pure path (ONEPASSWORD_ECS_PURE=1) ({n:,})", r.get("cli_pure_rps"))
    row(f"CLI: convert -o OUT --quiet --workers 2 ({n:,})", r["cli_workers2_rps"])
    lines.append(f"{'CLI start-up (--version), seconds':<52}{r['cli_startup_s']:>12.3f}")
    lines.append(
        f"{'max RSS, MB: copier / CLI (' + format(n, ',') + ') / bare python':<52}"
        f"{r['copier_max_rss_mb']:>7.1f} / {r['cli_max_rss_mb']:.1f} / {r['rss_floor_mb']:.1f}"
    )
    if r["large_records"]:
        row(f"CLI on the large input ({r['large_records']:,} records)", r["large_rps"])
    if r["rejected"]:
        lines.append(f"rejected records: {r['rejected']} (the corpus should have none)")
    lines += ["", f"{'ratio / figure':<34}{'measured':>10}   {'target':<24}verdict"]
    lib, cli, cli2 = r["library_over_floor"], r["cli_over_copier"], r["cli_workers2_over_copier"]
    lib_target = f">= {TARGET_LIBRARY:.2f} (stretch {STRETCH_LIBRARY:.2f})"
    lib_verdict = verdict(lib, TARGET_LIBRARY)
    if lib is not None and lib >= STRETCH_LIBRARY:
        lib_verdict = "met (stretch too)"
    lines.append(f"{'library / floor':<34}{lib:>10.3f}   {lib_target:<24}{lib_verdict}")
    lines.append(
        f"{'CLI / copier':<34}{cli:>10.3f}   {'>= ' + format(TARGET_CLI, '.2f'):<24}"
        f"{verdict(cli, TARGET_CLI)}"
    )
    if cli2 is not None:
        lines.append(
            f"{'CLI --workers 2 / copier':<34}{cli2:>10.3f}   "
            f"{'>= ' + format(TARGET_CLI, '.2f'):<24}{verdict(cli2, TARGET_CLI)}"
        )
    rss = r["large_max_rss_mb"]
    label = f"CLI peak RSS, {c['large_mb']} MB input"
    if rss is None:
        lines.append(f"{label:<34}{'skipped':>10}")
    else:
        lines.append(
            f"{label:<34}{rss:>7.1f} MB   {'< ' + format(TARGET_RSS_MB, '.0f') + ' MB':<24}"
            f"{verdict(rss, TARGET_RSS_MB, higher_is_better=False)}"
        )
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="best of N (default 5)")
    parser.add_argument(
        "--records", type=int, default=None, help="in-process records (default 200000)"
    )
    parser.add_argument(
        "--cli-records", type=int, default=None, help="records for the CLI runs (default 500000)"
    )
    parser.add_argument(
        "--large-mb",
        type=int,
        default=None,
        help="size of the peak-memory input in MB (default 1024; 0 skips it)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, 1 round: a smoke test, not a result"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--seed", type=int, default=SEED, help="corpus seed")
    parser.add_argument("--tmp", metavar="DIR", help="where to write the corpus files")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of benchmarking, cProfile normalize over N records and print the stats",
    )
    parser.add_argument(
        "--callgrind",
        type=int,
        metavar="N",
        help="instead of benchmarking, count instructions per record under valgrind over N records",
    )
    parser.add_argument("--top", type=int, default=30, help="rows per profile table")
    args = parser.parse_args(argv)
    quick = {"rounds": 1, "records": 2_000, "cli_records": 5_000, "large_mb": 8}
    full = {"rounds": 5, "records": 200_000, "cli_records": 500_000, "large_mb": 1024}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.rounds < 1 or args.records < 1 or args.cli_records < 1 or args.large_mb < 0:
        parser.error("--rounds, --records and --cli-records must be >= 1, --large-mb >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        print(profile(args.profile, args.seed, args.top))
        return 0
    if args.callgrind:
        print(f"load average: {load_average()} (instruction counts do not depend on it)")
        print(callgrind(args.callgrind, args.seed, args.tmp))
        return 0

    info = machine()
    info["mapper"] = mapper_implementation()
    load_before = load_average()
    say(f"machine: {info['cpu']}, {info['cores']} cores, {info['python']}")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="onepassword-ecs-bench-", dir=args.tmp) as tmp:
        work = Path(tmp)
        corpus_path = work / "corpus.ndjson"
        total = max(args.records, args.cli_records)
        say(f"generating {total:,} records ...")
        kept, corpus = write_corpus(corpus_path, total, max(args.records, TEMPLATES), args.seed)
        mean_line = corpus_path.stat().st_size / total - 1
        sample = kept[: args.records]

        say(f"in-process: {len(sample):,} records, best of {args.rounds}")
        results["rejected"] = check_library(sample)
        results.update(in_process(sample, args.rounds))

        cli_path = corpus_path
        if args.cli_records != total:
            cli_path = work / "cli.ndjson"
            with corpus_path.open("rb") as fin, cli_path.open("wb") as fout:
                for index, line in enumerate(fin):
                    if index >= args.cli_records:
                        break
                    fout.write(line)
        copier = work / "copier.py"
        copier.write_text(COPIER, encoding="utf-8")
        n = args.cli_records
        say(f"end to end: {n:,} records, best of {args.rounds}")
        startup = [run_child(version_command(), work / "v.txt") for _ in range(args.rounds)]
        results["cli_startup_s"] = min(run.seconds for run in startup)
        floor_rss = run_child([sys.executable, "-c", "pass"], work / "p.txt").max_rss_mb
        results["rss_floor_mb"] = floor_rss
        copiers = [run_copier(copier, cli_path, work) for _ in range(args.rounds)]
        clis = [run_cli(cli_path, work, 1, n) for _ in range(args.rounds)]
        results["copier_rps"] = n / min(run.seconds for run in copiers)
        results["cli_rps"] = n / min(run.seconds for run in clis)
        clis = [run_cli(cli_path, work, 1, n, pure=True) for _ in range(args.rounds)]
        results["cli_pure_rps"] = n / min(run.seconds for run in clis)
        results["copier_max_rss_mb"] = max(run.max_rss_mb for run in copiers)
        results["cli_max_rss_mb"] = max(run.max_rss_mb for run in clis)
        results["cli_workers2_rps"] = None
        if cli_supports_workers():
            clis = [run_cli(cli_path, work, 2, n) for _ in range(args.rounds)]
            results["cli_workers2_rps"] = n / min(run.seconds for run in clis)

        results["large_records"] = 0
        results["large_rps"] = None
        results["large_max_rss_mb"] = None
        if args.large_mb:
            large = work / "large.ndjson"
            say(f"writing a {args.large_mb} MB input ...")
            count = write_large(large, args.large_mb, corpus, kept[:TEMPLATES])
            corpus_path.unlink()  # free the disk before the CLI writes its output
            say(f"peak memory: CLI on {count:,} records ({args.large_mb} MB), one run")
            run = run_cli(large, work, 1, count)
            results["large_records"] = count
            results["large_rps"] = count / run.seconds
            results["large_max_rss_mb"] = run.max_rss_mb

    info["load_before"], info["load_after"] = load_before, load_average()
    results["library_over_floor"] = results["library_rps"] / results["floor_rps"]
    results["cli_over_copier"] = results["cli_rps"] / results["copier_rps"]
    results["cli_workers2_over_copier"] = (
        results["cli_workers2_rps"] / results["copier_rps"] if results["cli_workers2_rps"] else None
    )
    figures = {
        "machine": info,
        "config": {
            "seed": args.seed,
            "rounds": args.rounds,
            "records": args.records,
            "cli_records": args.cli_records,
            "large_mb": args.large_mb,
            "quick": args.quick,
            "mix": ", ".join(f"{share:.0%} {name}" for name, share in MIX),
            "mean_line_bytes": mean_line,
        },
        "targets": {
            "library_over_floor": TARGET_LIBRARY,
            "library_over_floor_stretch": STRETCH_LIBRARY,
            "cli_over_copier": TARGET_CLI,
            "cli_max_rss_mb": TARGET_RSS_MB,
        },
        "results": results,
    }
    if args.json:
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    else:
        print(render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
