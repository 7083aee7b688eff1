"""Benchmark the linked-data pages: an entity page in HTML and in Turtle against a bare Flask
response on the same server stack (Granian, same options and workers), measured with wrk.

    python bench/pages.py --triples 1000000            # generates bench/generate.py's project
    python bench/pages.py --project /tmp/ikmkg-bench-1m

Prints requests per second, the p50/p99 latency of each, and the pages' ratio to the bare
response (the target: at least 0.5, with p99 under 50 ms at 16 clients). One run; the figures
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from run import free_port  # bench/run.py

ENTITY = "/doc/enterprise/synthetic-0000001"  # bench/generate.py's first enterprise


def serve(port: int, project: str, workers: int) -> None:
    """Run the real app plus one bare route under the same server options (child process)."""
    from flask import Response

    from ikmkg.app import create_app
    from ikmkg.server import serve_app
    from ikmkg.settings import Settings

    app = create_app(Settings.from_env(project_dir=project))
    app.add_url_rule("/_bare", "bare", lambda: Response("ok", mimetype="text/plain"))
    serve_app(app, host="127.0.0.1", port=port, workers=workers)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int, connections: int, accept: str) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-H", f"Accept: {accept}", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000, help="synthetic graph size")
    parser.add_argument("--project", type=Path, help="an existing project folder to serve")
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per URL")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, str(args.project), args.workers)
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian package wrk)")
    project = args.project
    if project is None:
        from generate import generate

        project = Path(tempfile.gettempdir()) / f"ikmkg-bench-{args.triples}"
        if not (project / "data").is_dir():
            print(f"generating {args.triples} triples into {project}", file=sys.stderr)
            generate(project, args.triples)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--project",
                               str(project), "--workers", str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit("the server exited; run `ikmkg serve --project-dir` to see why")
            try:
                if requests.get(base + "/_bare", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        print(f"server ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        cases = [("bare Flask response", "/_bare", "*/*"),
                 ("entity page, HTML", ENTITY, "text/html"),
                 ("entity page, Turtle", ENTITY, "text/turtle")]
        for _, path, accept in cases:  # warm every worker's cache
            for _ in range(4 * args.workers):
                requests.get(base + path, headers={"Accept": accept}, timeout=60).raise_for_status()
        results = {name: wrk(base + path, args.seconds, args.connections, accept)
                   for name, path, accept in cases}
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare = results["bare Flask response"][0]
    print(f"{'':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8}")
    for name, (rps, p50, p99) in results.items():
        print(f"{name:24} {rps:9.0f} {p50:8.1f} {p99:8.1f} {rps / bare:8.2f}")
    print(f"({args.connections} connections, {args.workers} workers, {args.seconds} s each; "
          "target: pages at >= 0.50 of bare, p99 < 50 ms)")


if __name__ == "__main__":
    main()
