"""Files on a real ``hubbub serve`` (SQLite, FULL):

- **Throughput**: uploads (the raw body) and downloads of 1 MiB and 10 MiB files, in MB/s,
  each file of fresh random bytes (so none is stored once for another), one keep-alive client,
  against the ceiling of the same disk: a plain copy of a file of that size, fsynced as the
  hub's commits are.
- **Ten at once**: ten 10 MiB uploads started together, each on its own connection, while one
  client posts messages one after another: the hub's resident memory before and at its peak
  (sampled every 20 ms), and the posts' latency then, next to the same posts with no upload
  running.

``python -m bench.files`` runs these alone.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import processes
from bench.config import BenchConfig, scratch
from bench.progress import say
from bench.reads import Latency, summarize

MIB = 1024 * 1024
SIZES = (1, 10)
CONCURRENT = 10
CHANNEL = "tech-files"
COPY_CHUNK = 1024 * 1024
TIMEOUT = httpx.Timeout(120.0)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Median rates, in MB/s (10^6 bytes a second), for one file size."""

    size_mib: int
    runs: int
    copy_mbps: float
    upload_mbps: float
    download_mbps: float


@dataclass(frozen=True, slots=True)
class Concurrent:
    """Ten uploads at once: the hub's memory, and posts meanwhile against posts alone."""

    uploads: int
    size_mib: int
    seconds: float
    """From the first upload sent to the last answered."""
    rss_start_mib: float
    """Just after the hub started, before any file."""
    rss_before_mib: float
    """After the throughput runs, just before the ten uploads (SQLite's page caches and
    its memory map of the database hold file pages read and written by then)."""
    rss_peak_mib: float
    posts_idle: Latency
    posts_loaded: Latency


@dataclass(frozen=True, slots=True)
class FileResults:
    transfers: list[Transfer]
    concurrent: Concurrent


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def copy_rate(workdir: Path, size: int, runs: int) -> float:
    """A plain copy of a ``size``-byte file on the hub's disk, fsynced; median MB/s."""
    source = workdir / f"copy-source-{size}"
    source.write_bytes(os.urandom(size))
    rates: list[float] = []
    for n in range(runs):
        target = workdir / f"copy-target-{n}"
        started = time.perf_counter()
        with source.open("rb") as read, target.open("wb") as write:
            while piece := read.read(COPY_CHUNK):
                write.write(piece)
            write.flush()
            os.fsync(write.fileno())
        rates.append(_mbps(size, time.perf_counter() - started))
        target.unlink()
    source.unlink()
    return _median(rates)


def upload(client: httpx.Client, data: bytes, name: str) -> dict[str, object]:
    """Share ``data`` in the bench channel; the file as the hub describes it."""
    response = client.post(
        "/api/v1/files",
        params={"to": CHANNEL, "name": name},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"the upload answered {response.status_code}: {response.text[:300]}")
    found: dict[str, object] = response.json()
    return found


def transfer_rates(client: httpx.Client, size: int, runs: int) -> tuple[float, float]:
    """Median upload and download MB/s of ``runs`` files of ``size`` bytes."""
    ups: list[float] = []
    downs: list[float] = []
    for n in range(runs):
        data = os.urandom(size)
        started = time.perf_counter()
        file = upload(client, data, f"rate-{size}-{n}.bin")
        ups.append(_mbps(size, time.perf_counter() - started))
        started = time.perf_counter()
        got = client.get(f"/api/v1/files/{file['id']}/content")
        downs.append(_mbps(size, time.perf_counter() - started))
        if got.status_code != 200 or hashlib.sha256(got.content).hexdigest() != file["sha256"]:
            raise RuntimeError(f"the download of file {file['id']} came back wrong")
    return _median(ups), _median(downs)


class Sampler(threading.Thread):
    """The hub's resident memory every 20 ms until stopped; the highest seen."""

    def __init__(self, server: processes.Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            self.done.wait(0.02)  # the sampling interval


class Poster(threading.Thread):
    """Posts one message after another on one keep-alive client until stopped (or ``count``
    are done), timing each."""

    def __init__(self, hub: processes.HubServer, count: int | None = None) -> None:
        super().__init__(daemon=True)
        self.hub = hub
        self.count = count
        self.seconds: list[float] = []
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(
                base_url=self.hub.url, headers=self.hub.headers, timeout=TIMEOUT
            ) as c:
                n = 0
                while not self.done.is_set() and (self.count is None or n < self.count):
                    started = time.perf_counter()
                    answer = c.post(processes.POST_PATH, json={"content": f"post {n}"})
                    self.seconds.append(time.perf_counter() - started)
                    if answer.status_code != 201:
                        raise RuntimeError(f"a post answered {answer.status_code}")
                    n += 1
        except BaseException as error:  # reported by the caller
            self.error = error


def concurrent(hub: processes.HubServer, posts: int, started_mib: float) -> Concurrent:
    """Ten 10 MiB uploads at once while posts go on; the same posts alone first."""
    alone = Poster(hub, posts)
    alone.start()
    alone.join()
    if alone.error is not None:
        raise alone.error
    size = max(SIZES) * MIB
    bodies = [os.urandom(size) for _ in range(CONCURRENT)]
    before = hub.server.rss_mb()
    start = threading.Barrier(CONCURRENT + 1)
    failures: list[BaseException] = []

    def one(n: int) -> None:
        with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=TIMEOUT) as client:
            start.wait()
            try:
                upload(client, bodies[n], f"together-{n}.bin")
            except BaseException as error:  # reported below
                failures.append(error)

    sampler, loaded = Sampler(hub.server), Poster(hub)
    uploads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(CONCURRENT)]
    sampler.start()
    loaded.start()
    for thread in uploads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in uploads:
        thread.join()
    seconds = time.perf_counter() - started
    loaded.done.set()
    loaded.join()
    sampler.done.set()
    sampler.join()
    if failures or loaded.error is not None:
        raise failures[0] if failures else loaded.error  # type: ignore[misc]
    return Concurrent(
        CONCURRENT,
        max(SIZES),
        seconds,
        started_mib,
        before,
        sampler.peak,
        summarize("posts, nothing else running", alone.seconds, "one keep-alive client"),
        summarize(
            f"posts during {CONCURRENT} uploads of {max(SIZES)} MiB",
            loaded.seconds,
            "the same client, meanwhile",
        ),
    )


def measure(cfg: BenchConfig, workdir: Path) -> FileResults:
    """Throughput against a plain copy, then ten uploads at once, on one SQLite hub."""
    quick = cfg.samples < 100
    runs = {1: 3 if quick else 10, 10: 2 if quick else 5}
    found: list[Transfer] = []
    with processes.hub(workdir, workdir / "files.db") as hub:
        started_mib = hub.server.rss_mb()
        with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=TIMEOUT) as client:
            client.post(processes.POST_PATH, json={"content": "warm-up"}).raise_for_status()
            for mib in SIZES:
                say(f"files: {runs[mib]} uploads and downloads of {mib} MiB, and plain copies")
                copy = copy_rate(workdir, mib * MIB, runs[mib])
                up, down = transfer_rates(client, mib * MIB, runs[mib])
                found.append(Transfer(mib, runs[mib], copy, up, down))
        say(f"files: {CONCURRENT} uploads of {max(SIZES)} MiB at once, posts meanwhile")
        together = concurrent(hub, max(20, cfg.samples // 2), started_mib)
    return FileResults(found, together)


def main() -> None:
    """``python -m bench.files``: only these measurements, printed as in a full run."""
    from rich.console import Console

    from bench.report import print_file_tables

    cfg = BenchConfig.from_env()
    with scratch("hubbub-bench-files-") as tmp:
        found = measure(cfg, tmp)
    print_file_tables(found, Console(width=132))


if __name__ == "__main__":
    main()
