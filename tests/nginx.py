"""A real nginx (Debian's `nginx`) in front of ikmkg, with the configuration the docs recommend.

`Nginx(folder, upstream_port).start()` runs nginx on loopback with `deploy/nginx/ikmkg.conf`,
changing only its site-specific values (the upstream address, the listen line, the cache
folder), inside a small main configuration of its own: prefix, pid file, logs, temporary and
cache folders all in `folder`, in the foreground, one process (no root-owned paths, no user
switch). Used by tests/web/test_nginx.py and bench/cache.py.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from backends import free_port, require

#: The recommended configuration, the very file docs/deployment.md shows.
CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "ikmkg.conf"

MAIN = """\
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    types {{ text/plain txt; }}
{extra}
    include {folder}/ikmkg.conf;
}}
"""


def binary() -> str:
    """nginx's path (Debian installs it in /usr/sbin, not always on a user's PATH)."""
    if shutil.which("nginx") is None and Path("/usr/sbin/nginx").is_file():
        return "/usr/sbin/nginx"
    return require("nginx")


def site_config(upstream_port: int, listen: str, cache: Path) -> str:
    """deploy/nginx/ikmkg.conf with its three site-specific values replaced; fails if one is
    missing, so the file cannot lose them unnoticed."""
    text = CONFIG.read_text()
    for old, new in (("127.0.0.1:8080", f"127.0.0.1:{upstream_port}"),
                     ("listen 80;", f"listen {listen};"),
                     ("/var/cache/nginx/ikmkg", str(cache))):
        assert old in text, f"{CONFIG.name} no longer holds {old!r}"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx on 127.0.0.1:`port` proxying to ikmkg on `upstream_port`; `extra` lines go into
    the http block before the site (such as `proxy_bind 127.0.0.2;`)."""

    def __init__(self, folder: Path, upstream_port: int, extra: str = ""):
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ikmkg.conf").write_text(
            site_config(upstream_port, f"127.0.0.1:{self.port}", folder / "cache"))
        (folder / "nginx.conf").write_text(MAIN.format(folder=folder, extra=extra))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text() if path.exists() else ""

    def start(self, timeout: float = 30.0) -> Nginx:
        command = [binary(), "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                   "-e", str(self.folder / "error.log")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refuses the configuration: {check.stderr}")
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {self.log()}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return self
            except urllib.error.HTTPError:
                return self  # nginx answers (ikmkg's answer does not matter here)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
