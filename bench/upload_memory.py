"""Memory of ``publisher run`` under photo uploads: idle, four concurrent 48-megapixel uploads,
three concurrent 64-megapixel PNGs (a small file of many pixels, the worst case for memory),
then a burst of 50 ordinary 12-megapixel phone photos, and a minute after it.

The service runs as it would on an office server (``publisher run``, SQLite, the embedded
scheduler); uploads go through the API (``POST /api/v1/media``), four at a time. Memory is the
process's resident set (``VmRSS``), sampled every 20 ms, and its peak (``VmHWM``, reset before
each phase). Targets on the 2-core bench machine: idle under 150 MB, the four 48 MP uploads
under 600 MB at peak, back within 60 MB of idle a minute after the burst.

    .venv/bin/python -m bench.upload_memory [--burst 50] [--settle 60]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent


def photo(width: int, height: int, seed: int) -> bytes:
    """A JPEG that compresses like a phone photo (smooth areas with grain), not like a
    flat colour: a blurred random mosaic with noise on top."""
    rng = random.Random(seed)
    small = Image.new("RGB", (width // 200, height // 200))
    small.putdata([tuple(rng.randrange(256) for _ in range(3))
                   for _ in range(small.width * small.height)])
    picture = small.resize((width, height), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    picture = Image.blend(picture, noise, 0.12).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Memory:
    """Samples a process's resident set every 20 ms from a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.samples.append(status_kb(self.pid, "VmRSS"))

    def __enter__(self) -> Memory:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # reset VmHWM
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def peak_mb(self) -> float:
        return max(max(self.samples, default=0), status_kb(self.pid, "VmHWM")) / 1024


def mb(pid: int) -> float:
    return status_kb(pid, "VmRSS") / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--settle", type=float, default=60.0)
    args = parser.parse_args()
    print("making test photos...", flush=True)
    big = photo(8000, 6000, 1)
    flat = io.BytesIO()
    Image.radial_gradient("L").resize((8000, 8000)).convert("RGB").save(flat, "PNG")
    png = flat.getvalue()
    phones = [photo(4000, 3000, 10 + n) for n in range(4)]
    print(f"48 MP JPEG {len(big) / 1e6:.1f} MB; 12 MP JPEGs "
          f"{min(map(len, phones)) / 1e6:.1f}–{max(map(len, phones)) / 1e6:.1f} MB", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "PUBLISHER_INSTANCE_PATH": tmp, "PUBLISHER_PORT": str(port),
               "PUBLISHER_ADMIN_PASSWORD": "bench-admin-password", "PUBLISHER_LOG_LEVEL":
               "WARNING", "PUBLISHER_MAX_UPLOAD_BYTES": str(40 << 20)}
        cli = [sys.executable, "-m", "publisher"]
        server = subprocess.Popen([*cli, "run"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            subprocess.run([*cli, "opd", "create", "Dinas Kesehatan", "--slug", "dinkes"],
                           env=env, cwd=ROOT, check=True, capture_output=True)
            token = subprocess.run([*cli, "token", "create", "admin", "--name", "bench"],
                                   env=env, cwd=ROOT, check=True, capture_output=True,
                                   text=True).stdout.strip().split()[-1]
            auth = {"Authorization": f"Bearer {token}"}

            def upload(data: bytes) -> None:
                answer = requests.post(f"{base}/api/v1/media", headers=auth, timeout=300,
                                       data={"alt_text": "Foto kegiatan", "opd": "dinkes"},
                                       files={"file": ("foto.jpg", data, "image/jpeg")})
                answer.raise_for_status()

            time.sleep(5)
            idle = mb(server.pid)
            print(f"idle: {idle:.0f} MB", flush=True)
            with Memory(server.pid) as four, ThreadPoolExecutor(4) as pool:
                started = time.perf_counter()
                list(pool.map(upload, [big] * 4))
                took = time.perf_counter() - started
            print(f"four concurrent 48 MP uploads: peak {four.peak_mb():.0f} MB "
                  f"(target < 600), {took:.1f} s", flush=True)
            with Memory(server.pid) as three, ThreadPoolExecutor(3) as pool:
                started = time.perf_counter()
                list(pool.map(upload, [png] * 3))
                took = time.perf_counter() - started
            print(f"three concurrent 64 MP PNGs ({len(png) / 1e3:.0f} kB each): peak "
                  f"{three.peak_mb():.0f} MB, {took:.1f} s", flush=True)
            with Memory(server.pid) as burst, ThreadPoolExecutor(4) as pool:
                started = time.perf_counter()
                list(pool.map(upload, [phones[n % 4] for n in range(args.burst)]))
                took = time.perf_counter() - started
            after = mb(server.pid)
            print(f"burst of {args.burst} 12 MP uploads, 4 at a time: peak {burst.peak_mb():.0f}"
                  f" MB, {took:.1f} s; right after: {after:.0f} MB", flush=True)
            time.sleep(args.settle)
            settled = mb(server.pid)
            print(f"{args.settle:.0f} s later: {settled:.0f} MB ({settled - idle:+.0f} MB from "
                  f"idle; target within 60 MB)", flush=True)
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
