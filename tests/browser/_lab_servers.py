"""Start JupyterLab and Voila servers for the browser tests and the screenshot script.

Each server runs in its own process group with every Jupyter, IPython and matplotlib
folder pointed into a temporary folder, serves a temporary copy of ``notebooks/`` (Lab
autosaves), and is stopped with its whole process group (kernels included).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
# Debian's Chromium; another build with NTM_NB_CHROMIUM=/path/to/chromium
CHROMIUM = Path(os.environ.get("NTM_NB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_TIMEOUT_S = 120.0  # the machine may be busy; a server is usually up in 5-15 s
INSTALL_HINT = (
    "the browser tests need Chromium and Playwright for Python: "
    "`apt-get install chromium` (or point NTM_NB_CHROMIUM at a Chromium binary) and "
    "`pip install playwright` (never `playwright install`)"
)


class ServerError(RuntimeError):
    """A server did not come up; the message holds its log."""


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(base: Path) -> dict[str, str]:
    """The environment for a server: every Jupyter/IPython/matplotlib folder under ``base``."""
    env = dict(os.environ)
    for name, sub in [
        ("JUPYTER_CONFIG_DIR", "jupyter_config"),
        ("JUPYTER_RUNTIME_DIR", "jupyter_runtime"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab_workspaces"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab_settings"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
    ]:
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    # No "get notified about Jupyter news?" toast over the page (and the screenshots).
    settings = base / "lab_settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def copy_notebooks(dest: Path) -> Path:
    """A copy of ``notebooks/`` (the .ipynb files only) in ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for nb in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy2(nb, dest / nb.name)
    return dest


@dataclass
class Server:
    """A running server: ``url`` (ends with "/"), ``token`` ("" for Voila), ``log``."""

    name: str
    process: subprocess.Popen
    url: str
    log: Path
    token: str = ""
    root: Path = field(default_factory=Path)

    def log_text(self, tail: int = 6000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return text[-tail:]

    def stop(self) -> None:
        """Stop the server and everything it started.

        Jupyter starts each kernel in a session (process group) of its own, so killing the
        server's group is not enough: its descendants are listed first, and whatever of
        them outlives the server's own shutdown is killed with its group."""
        children = _descendants(self.process.pid)
        group = self.process.pid  # started with start_new_session=True: it leads its group
        if self.process.poll() is None:
            _kill_group(group, signal.SIGTERM)  # the server shuts its kernels down
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(group, signal.SIGKILL)
        for pid in children:  # whatever is left: kernels lead groups of their own
            try:
                if os.getpgid(pid) == pid:
                    _kill_group(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux /proc), children before grandchildren."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_until_up(server: Server, probe: str, timeout: float, any_status: bool) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise ServerError(
                f"{server.name} exited with code {code} before it was ready.\n"
                f"--- {server.name} log ({server.log}) ---\n{server.log_text()}"
            )
        try:
            with urllib.request.urlopen(probe, timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            if any_status:
                return  # Voila answers 404 on /api/status: it is up
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise ServerError(
        f"{server.name} did not come up within {timeout:.0f} s at {server.url} "
        f"(last probe: {last}).\n--- {server.name} log ({server.log}) ---\n{server.log_text()}"
    )


def _start(
    name: str, cmd: list[str], cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen:
    with open(log, "wb") as out:  # the child keeps its own handle
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def start_lab(root: Path, base: Path, timeout: float = SERVER_TIMEOUT_S) -> Server:
    """JupyterLab serving ``root``, with its settings and logs under ``base``."""
    port, token = free_port(), secrets.token_hex(16)
    log = base / "jupyterlab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--allow-root",
        "--no-browser",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    process = _start("JupyterLab", cmd, root, isolated_env(base), log)
    server = Server("JupyterLab", process, f"http://127.0.0.1:{port}/", log, token, root)
    try:
        _wait_until_up(server, f"{server.url}api/status?token={token}", timeout, any_status=False)
    except BaseException:
        server.stop()
        raise
    return server


def start_voila(notebook: Path, base: Path, timeout: float = SERVER_TIMEOUT_S) -> Server:
    """Voila serving ``notebook`` as an app, or, when ``notebook`` is a folder, every
    notebook in it (a tree page at ``/``, each notebook at ``/voila/render/NAME``), as
    ``voila notebooks/`` does. Tracebacks are shown, so a test can see them."""
    port = free_port()
    log = base / "voila.log"
    folder = notebook.is_dir()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        "." if folder else notebook.name,
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
    ]
    root = notebook if folder else notebook.parent
    process = _start("Voila", cmd, root, isolated_env(base), log)
    server = Server("Voila", process, f"http://127.0.0.1:{port}/", log, "", root)
    try:
        # Voila has no /api/status: any HTTP answer means it is up. Never poll "/": every
        # GET of the app starts a kernel.
        _wait_until_up(server, f"{server.url}api/status", timeout, any_status=True)
    except BaseException:
        server.stop()
        raise
    return server


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    return None
