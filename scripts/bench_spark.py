#!/usr/bin/env python3
"""The Spark job's throughput in local mode, as a ratio of ``convert --workers 2``.

Why a ratio: records per second depend on the machine and on what else runs on it;
both commands see the same bytes on the same cores one after the other, so their ratio
carries. The corpus is the benchmark's seeded one (``_corpus.py``), split into
``--files`` NDJSON files (a lake is many rotated files, and the Spark job's parallelism
is one task per file). Each command runs as its own process, ``--rounds`` times,
alternating, and the best wall time of each is kept; the load average is printed with
every figure, since the machine is shared.

Usage::

    nice -n 10 python scripts/bench_spark.py --records 1000000 --files 8
    python scripts/bench_spark.py --records 20000 --files 2 --rounds 1   # smoke

``convert`` runs with ``--no-data-stream`` because the Spark job writes no
``data_stream.*`` (a lake is not a data stream); its output is NDJSON, the job's
snappy Parquet, each what the tool is for.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import Corpus

SEED = 20260217


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def write_corpus(folder: Path, records: int, files: int) -> list[Path]:
    corpus = Corpus(SEED)
    paths = [folder / f"part-{index:03d}.ndjson" for index in range(files)]
    handles = [path.open("wb") for path in paths]
    try:
        batch: list[bytes] = []
        for index, line in enumerate(corpus.lines(records)):
            batch.append(line)
            if len(batch) >= 5000:
                handles[(index // 5000) % files].write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            handles[-1].write(b"\n".join(batch) + b"\n")
    finally:
        for handle in handles:
            handle.close()
    return paths


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for).

    A run that fails (exit status 2 or worse) ends the benchmark with its log's tail:
    a crashed run's time means nothing.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("wb") as err:
        done = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=err, check=False, timeout=3600
        )
    if done.returncode not in (0, 1) or (
        command[2] != "onepassword_ecs" and b" read, " not in log.read_bytes()
    ):
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise SystemExit(f"{command[2]} failed ({done.returncode}):\n" + "\n".join(tail))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--driver-memory", default="3g", help="local mode: the executors live in the driver"
    )
    parser.add_argument("--tmp", help="where to write the corpus and the outputs")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-spark-", dir=arguments.tmp))
    try:
        print(f"writing {arguments.records:,} records in {arguments.files} files ...", flush=True)
        inputs = [str(path) for path in write_corpus(work, arguments.records, arguments.files)]
        size = sum(os.path.getsize(path) for path in inputs)
        print(f"corpus: {size / 1e6:,.0f} MB", flush=True)
        convert = [
            sys.executable, "-m", "onepassword_ecs", "convert", "-q", "--no-data-stream",
            "--workers", "2", "-o", str(work / "convert.ndjson"), "--errors",
            str(work / "convert-errors.ndjson"), *inputs,
        ]  # fmt: skip
        spark = [
            sys.executable, "-m", "onepassword_ecs.spark", *inputs, "-o", str(work / "lake"),
            "--master", arguments.master,
            "--conf", f"spark.driver.memory={arguments.driver_memory}",
        ]  # fmt: skip
        best: dict[str, tuple[float, float]] = {}
        for round_ in range(arguments.rounds):
            for name, command in (
                ("convert --workers 2", convert),
                ("spark " + arguments.master, spark),
            ):
                shutil.rmtree(work / "lake", ignore_errors=True)
                wall, cpu = timed(command, work / f"{name.split()[0]}.log")
                print(
                    f"round {round_ + 1}: {name}: {wall:.1f} s wall "
                    f"({arguments.records / wall:,.0f} records/s), {cpu:.1f} s CPU "
                    f"(waited-for processes), load average {load_average()}",
                    flush=True,
                )
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, cpu)
        print("\n".join((work / "spark.log").read_text().strip().splitlines()[-4:]))
        (convert_wall, _), (spark_wall, _) = best.values()
        print(
            f"best: convert {convert_wall:.1f} s, spark {spark_wall:.1f} s; "
            f"spark throughput / convert throughput = {convert_wall / spark_wall:.2f} "
            f"(load average {load_average()})"
        )
    finally:
        for log in work.glob("*.log"):  # kept beside the work folder, which goes
            shutil.copy(log, work.parent / f"bench-spark-{log.name}")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
