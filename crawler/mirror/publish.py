"""Publishing the mirror with git (SPEC §10): one commit per run that changed it.

With ``MIRROR_GIT`` on, the end of each run (``crawl``, ``crawlall``,
``demo``), still under the run lock, commits everything that changed in
``MIRROR_DIR`` as one commit whose subject is the run's summary line (its
body, the feeds' lines). ``MIRROR_DIR`` is a git repository of its own,
created when absent, with a ``.gitignore`` that keeps out the crawler's
state (``.mirror/``), the built site (``_site/``) and temporary files (a
post being written, an index being built). Nothing changed, no commit.

With ``MIRROR_GIT_PUSH = "REMOTE BRANCH"`` (a remote's name or URL, and a
branch) the commits are then pushed. A push that fails (network, rights,
a rejected update) is logged and said on stderr; the commit stays, and the
next run's push carries it. Whatever was written and not committed (a run
killed between writing a post and committing it) is committed by the next
run, since each commit takes the whole working tree.

Every git command runs with a timeout and no terminal prompt, so a remote
asking for a password fails the push instead of hanging the run.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["IGNORED", "GitError", "GitPublisher", "Published"]

#: What ``.gitignore`` keeps out of the repository.
IGNORED = (
    "/.mirror/",  # the crawler's state: dedup index, locks, logs, run history
    "/_site/",  # the built site (scrapy site)
    ".*.tmp",  # a file being written (archive.write_atomic)
    "/.search-*/",  # the search index being built
)
GIT_TIMEOUT = 600
# Who commits when git has no identity configured (a fresh server account).
DEFAULT_NAME = "news-mirror"
DEFAULT_EMAIL = "news-mirror@localhost"


class GitError(Exception):
    """A git command failed; the message names it and what git said."""


@dataclass
class Published:
    commit: str | None = None  # the new commit's id; None when nothing changed
    pushed: bool | None = None  # None when no push is configured
    error: str | None = None  # what failed (the commit or the push)


class GitPublisher:
    def __init__(self, root: str | os.PathLike[str], push: tuple[str, str] | None = None):
        self.root = Path(root)
        self.push_to = push

    @classmethod
    def from_settings(cls, settings: Any) -> GitPublisher | None:
        """The publisher ``MIRROR_GIT`` asks for, or None when it is off."""
        if not settings.getbool("MIRROR_GIT"):
            return None
        return cls(settings.get("MIRROR_DIR"), parse_push(settings.get("MIRROR_GIT_PUSH") or ""))

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        command = ["git", *args]
        try:
            proc = subprocess.run(
                command,
                cwd=self.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (MIRROR_GIT needs the `git` command)") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"`git {args[0]}` in {self.root} took over {GIT_TIMEOUT} s") from None
        if check and proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip().splitlines()
            raise GitError(
                f"`git {' '.join(args[:2])}` in {self.root} failed: {said[-1] if said else ''}"
            )
        return proc

    def ensure_repository(self) -> None:
        """``MIRROR_DIR`` as a repository of its own, with its ``.gitignore``."""
        if not (self.root / ".git").exists():
            self.git("init", "-q")
            logger.info("Created a git repository in %s (MIRROR_GIT)", self.root)
        ignore = self.root / ".gitignore"
        try:
            have = ignore.read_text("utf-8").splitlines()
        except FileNotFoundError:
            have = []
        missing = [line for line in IGNORED if line not in have]
        if missing:
            with ignore.open("a", encoding="utf-8") as f:
                if have and have[-1] != "":
                    f.write("\n")
                f.write("\n".join(missing) + "\n")
        # A git killed mid-commit leaves its lock; the run lock we hold says
        # no other git of ours works here now.
        stale = self.root / ".git" / "index.lock"
        if stale.exists():
            logger.warning("Removing %s, left by a git that was stopped mid-commit", stale)
            stale.unlink()

    def identity(self) -> list[str]:
        if self.git("config", "user.email", check=False).stdout.strip():
            return []
        return ["-c", f"user.name={DEFAULT_NAME}", "-c", f"user.email={DEFAULT_EMAIL}"]

    def commit(self, subject: str, body: str = "") -> str | None:
        """Commit every change of the working tree; the commit's id, or None if none."""
        self.ensure_repository()
        self.git("add", "-A")
        if self.git("diff", "--cached", "--quiet", check=False).returncode == 0:
            return None
        message = subject + (f"\n\n{body}" if body else "")
        self.git(*self.identity(), "commit", "-q", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push(self) -> None:
        assert self.push_to is not None
        remote, branch = self.push_to
        if self.git("rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0:
            return  # no commit yet: nothing to publish
        self.git("push", "-q", remote, f"HEAD:refs/heads/{branch}")

    def publish(self, subject: str, body: str = "") -> Published:
        """Commit, then push if asked; failures are logged and returned, never raised."""
        result = Published()
        try:
            result.commit = self.commit(subject, body)
        except (GitError, OSError) as e:
            result.error = f"the mirror was not committed: {e}"
            logger.error("%s; the next run commits it", result.error)
            return result
        if result.commit:
            logger.info("Committed the run in %s: %s %s", self.root, result.commit[:12], subject)
        if self.push_to is not None:
            try:
                self.push()
                result.pushed = True
            except GitError as e:
                result.pushed = False
                result.error = f"the mirror was not pushed: {e}"
                logger.error("%s; the next run pushes it", result.error)
        return result


def parse_push(value: str) -> tuple[str, str] | None:
    """``MIRROR_GIT_PUSH``: ``"REMOTE BRANCH"`` → (remote, branch); empty → None."""
    parts = value.split()
    if not parts:
        return None
    if len(parts) != 2:
        raise ValueError(
            f"MIRROR_GIT_PUSH must be a remote and a branch, e.g. 'origin main', not {value!r}"
        )
    return parts[0], parts[1]
