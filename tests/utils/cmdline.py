"""Run the project's commands as real processes, the way a user does.

:func:`run_scrapy` runs ``scrapy ARGS`` to its end in a process of its own,
with the environment, working directory, umask and ``sys.argv`` that
``python -m scrapy ARGS`` started by the test has, and returns its exit status
and output. Most of a short command's time is the import of Scrapy, Twisted and
the crawler, so by default the process is forked from a server that imported
them once
(:mod:`multiprocessing`'s forkserver): nothing else is shared, and the command
runs from :func:`scrapy.cmdline.execute` on as it does from a shell. The
server imports no reactor, no settings module (``crawler.settings`` reads the
environment) and nothing of the fleet (a crawl without ``REDIS_URL`` imports
none of it). ``MIRROR_TESTS_FORK=0`` runs each command as ``python -m scrapy``
instead.

:func:`popen_scrapy` starts ``python -m scrapy ARGS`` for a test that watches
it, signals it or kills it.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import pkgutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def scrapy_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawler.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("REDIS_URL", None)
    return env


def popen_scrapy(*args: str, cwd: Path, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env=scrapy_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_scrapy(*args: str, cwd: Path, timeout: float = 180) -> Result:
    if os.environ.get("MIRROR_TESTS_FORK", "1") == "0":
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", *args],
            cwd=cwd,
            env=scrapy_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)
    with tempfile.TemporaryDirectory(prefix="scrapy-run-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        out.touch(), err.touch()
        umask = os.umask(0o022)  # what a child process inherits, as a subprocess would
        os.umask(umask)
        process = _forkserver().Process(
            target=_execute, args=(list(args), str(cwd), scrapy_env(), umask, str(out), str(err))
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["scrapy", *args], timeout)
        return Result(
            process.exitcode,
            out.read_text("utf-8", "replace"),
            err.read_text("utf-8", "replace"),
        )


# Modules the forkserver imports once: Scrapy's machinery and the crawler's
# components, not its settings (read from the environment at import) nor
# its fleet (redis).
PRELOAD = (
    "scrapy.cmdline", "scrapy.crawler", "scrapy.core.engine", "scrapy.core.scraper",
    "scrapy.core.downloader", "scrapy.core.downloader.handlers.http11", "scrapy.http",
    "scrapy.utils.log", "scrapy.extensions.telnet", "scrapy.extensions.logstats",
    "scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.robotstxt", "scrapy.pipelines", "scrapy.spidermiddlewares.depth",
)  # fmt: skip


def preloaded() -> list[str]:
    """The modules the forkserver imports: :data:`PRELOAD`, the modules of every
    component Scrapy's default settings name (its middlewares, extensions,
    download handlers…: else each crawl imports them again, aiohttp and
    tldextract among them), Scrapy's commands and the crawler's modules, each
    importable from wherever the server starts."""
    import scrapy.commands
    from scrapy.settings import default_settings

    import crawler

    names = list(PRELOAD)
    for value in vars(default_settings).values():
        for path in [*value.keys(), *value.values()] if isinstance(value, dict) else [value]:
            if isinstance(path, str) and path.startswith("scrapy.") and path.count(".") > 1:
                names.append(path.rpartition(".")[0])
    for package in (scrapy.commands, crawler):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module.name != "crawler.settings" and not module.name.startswith("crawler.fleet"):
                names.append(module.name)
    return names


@functools.cache
def _forkserver() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # The main module too: else each process would import it again.
    context.set_forkserver_preload(["__main__", *preloaded()])
    return context


def _execute(
    args: list[str], cwd: str, env: dict[str, str], umask: int, out: str, err: str
) -> None:
    """``python -m scrapy ARGS`` from here on (in a process of the forkserver), with
    what a process started by the caller would inherit: directory, environment, umask."""
    os.chdir(cwd)
    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    import scrapy
    from scrapy.cmdline import execute

    sys.argv = [str(Path(scrapy.__file__ or "scrapy").with_name("__main__.py")), *args]

    try:
        execute(sys.argv)
    finally:
        atexit._run_exitfuncs()  # as an interpreter's exit does (logging's shutdown among them)
