"""Every fenced code block of README.md and examples/README.md runs as printed.

A block is found by its fence and run according to its info string:

- ``python`` with ``>>>`` prompts: a doctest (ELLIPSIS and NORMALIZE_WHITESPACE
  on), in one namespace per document, in the order of the text;
- other ``python``: executed on its own;
- ``sh``: each command (``\\`` continuations joined) runs in bash with
  ``pipefail`` and must succeed; a command that starts the example service
  (``-m examples.payments``) is started on a free port (``$PAYMENTS_PORT``,
  or its ``--port`` replaced), must print its URL and answer, and is stopped;
- ``console``: ``$ `` commands with the output each prints, compared exactly;
- no info string: the output of the command in the last inline code span of
  the paragraph just before it, compared exactly; a last line ``…`` elides
  the rest;
- ``text``: a map of the repository, whose paths and modules must exist;
- ``toml``: a part of the repository's ``pyproject.toml``, which must hold it
  verbatim and read as datever's configuration.

The opening block of README.md is the exception: its first command runs as
written in the repository; its second must be the command ``.ci/run`` runs
(running it here would recurse). A block preceded by ``<!-- not run: reason
-->`` is skipped, and the reason is required.

Everything runs in a scratch directory per document holding links to the
repository's ``.venv``, ``changes`` and ``examples``, with the virtualenv's
``bin`` first on ``PATH`` and ``COLUMNS=100``. ``http://127.0.0.1:8000`` in a
command is the reproducible demo service (``python -m examples.payments
--demo``), started once per document on a free port: the port is the only
thing substituted, in the command and back in its output. Output is compared
after dropping carriage returns and trailing whitespace at the ends of lines.
"""

from __future__ import annotations

import contextlib
import doctest
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "examples/README.md")
LINKED = (".venv", "changes", "examples", "pyproject.toml")
DEMO_PORT = "127.0.0.1:8000"
SERVICE = "-m examples.payments"
MAX_NOT_RUN = 2
_FENCE = re.compile(r"^(`{3,})([\w-]*)\s*$")
_NOT_RUN = re.compile(r"^<!--\s*not run:(.*?)-->\s*$")
_INLINE = re.compile(r"`([^`]+)`")
_ELISION = "…"
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its info string, its text and what precedes it."""

    document: str
    line: int
    lang: str
    text: str
    section: str
    paragraph: str
    not_run: str | None

    @property
    def id(self) -> str:
        """The test id: document, line and kind."""
        return f"{self.document}:{self.line}:{self.lang or 'output'}"


def blocks_of(document: str, root: Path = ROOT) -> list[Block]:
    """The fenced blocks of ``document`` (a path relative to ``root``), in order."""
    lines = (root / document).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    section, index = "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        opening = _FENCE.match(line)
        if opening is None:
            index += 1
            continue
        end = lines.index(opening.group(1), index + 1)
        before = _before(lines, index)
        marker = _NOT_RUN.match(before[-1]) if before else None
        if marker is not None:
            before = before[:-1]
        found.append(Block(document, index + 1, opening.group(2),
                           "\n".join(lines[index + 1:end]) + "\n", section,
                           " ".join(before), marker.group(1).strip() if marker else None))
        index = end + 1
    return found


def _before(lines: list[str], index: int) -> list[str]:
    """The paragraph (or HTML comment) that ends just before line ``index``, blanks skipped."""
    while index > 0 and not lines[index - 1].strip():
        index -= 1
    start = index
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return lines[start:index]


ALL = [block for document in DOCUMENTS for block in blocks_of(document)]


# -- running commands -----------------------------------------------------------


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TERM", "PAYMENTS_DB",
                        "PAYMENTS_PINS", "PAYMENTS_PORT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r", "").split("\n")).rstrip("\n")


def commands_of(text: str, prompt: str | None) -> list[tuple[str, str]]:
    """``(command, expected output)`` pairs; without a prompt every line is a command."""
    pairs: list[tuple[str, str]] = []
    lines = text.rstrip("\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if prompt is not None and not line.startswith(prompt):
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
            index += 1
            continue
        command = line.removeprefix(prompt or "")
        while command.endswith("\\"):
            index += 1
            command = command + "\n" + lines[index]  # bash joins the lines itself
        if command.strip():
            pairs.append((command, ""))
        index += 1
    return pairs


class Server:
    """A process serving the example service, stopped by its process group id."""

    def __init__(self, command: list[str] | str, cwd: Path, port: int,
                 env: dict[str, str]) -> None:
        self.port = port
        shell = isinstance(command, str)
        self.process = subprocess.Popen(command, shell=shell, cwd=cwd, env=env,
                                        executable="/bin/bash" if shell else None,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        try:
            self.banner = self._started()
        except BaseException:
            self.stop()
            raise

    def _started(self) -> str:
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        deadline = time.monotonic() + 20
        while True:
            assert self.process.poll() is None, f"the service exited: {banner}"
            try:  # a connection, not a request: a request would draw an id from the seed
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return banner
            except OSError:
                assert time.monotonic() < deadline, "the service did not answer in 20 s"
                time.sleep(0.05)

    def stop(self) -> None:
        """Interrupt the service (uvicorn shuts down on SIGINT) and wait for it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate()


@dataclass
class Document:
    """The running state of one document: its scratch directory, namespace and demo server."""

    name: str
    scratch: Path
    blocks: list[Block]
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__main__"})
    demo: Server | None = None
    done: int = 0

    def demo_port(self) -> int:
        """The port of the document's demo service, started on first use."""
        if self.demo is None:
            port = _free_port()
            self.demo = Server([sys.executable, "-m", "examples.payments", "--demo",
                                "--port", str(port)], self.scratch, port, _environment())
        return self.demo.port

    def run(self, block: Block, *, check: bool = True) -> None:
        """Run ``block``; with ``check``, fail when it does not do what the text shows."""
        self.done = max(self.done, self.blocks.index(block) + 1)
        if block.not_run is not None:
            return
        with contextlib.chdir(self.scratch):
            if block.lang == "python" and ">>>" in block.text:
                self._doctest(block, check)
            elif block.lang == "python":
                # replaying (not checking), a failure is the block's own test's to report
                with contextlib.suppress(*(() if check else (Exception,))):
                    exec(compile(block.text, f"{block.document}:{block.line}", "exec"),
                         {"__name__": "__main__"})
            elif block.lang == "sh":
                for command, _ in commands_of(block.text, None):
                    self._shell(command, "", check)
            elif block.lang == "console":
                for command, output in commands_of(block.text, "$ "):
                    self._shell(command, output, check)
            elif block.lang == "":
                self._output(block, check)
            elif block.lang == "text":
                if check:
                    _check_map(block)
            elif block.lang == "toml":
                if check:
                    _check_pyproject(block, self.scratch)
            else:
                pytest.fail(f"{block.id}: no rule runs a {block.lang!r} block")

    def _doctest(self, block: Block, check: bool) -> None:
        test = doctest.DocTestParser().get_doctest(block.text, self.namespace, block.id,
                                                   str(ROOT / block.document), block.line)
        report: list[str] = []
        runner = doctest.DocTestRunner(optionflags=_FLAGS)
        result = runner.run(test, out=report.append, clear_globs=False)
        self.namespace = test.globs  # the DocTest ran on a copy
        if check and result.failed:
            pytest.fail("".join(report), pytrace=False)

    def _shell(self, command: str, expected: str, check: bool) -> str:
        """Run ``command``; with ``check`` it must succeed and print ``expected`` (if any)."""
        if SERVICE in command:
            self._start_and_stop(command)
            return ""
        if DEMO_PORT in command:
            command = command.replace(DEMO_PORT, f"127.0.0.1:{self.demo_port()}")
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=self.scratch,
                              env=_environment(), capture_output=True, text=True, timeout=120,
                              check=False)
        if not check:
            return done.stdout
        assert done.returncode == 0, (f"`{command}` failed ({done.returncode}):\n"
                                      f"{done.stdout}{done.stderr}")
        output = done.stdout
        if self.demo is not None:
            output = output.replace(f"127.0.0.1:{self.demo.port}", DEMO_PORT)
        if expected:
            assert _normalised(output) == _normalised(expected), f"`{command}` printed"
        return output

    def _start_and_stop(self, command: str) -> None:
        port = _free_port()
        command = re.sub(r"--port \d+", f"--port {port}", command)
        server = Server(command, self.scratch, port, _environment(PAYMENTS_PORT=str(port)))
        try:
            assert "payments API on http://" in server.banner, server.banner
        finally:
            server.stop()

    def _output(self, block: Block, check: bool) -> None:
        spans = _INLINE.findall(block.paragraph)
        assert block.paragraph.rstrip().endswith(":"), f"{block.id}: what prints this?"
        assert spans, f"{block.id}: name the command in the paragraph before an output block"
        output = self._shell(spans[-1], "", check)
        if not check:
            return
        expected = _normalised(block.text).split("\n")
        actual = _normalised(output).split("\n")
        if expected[-1].strip() == _ELISION:
            expected, actual = expected[:-1], actual[:len(expected) - 1]
        assert actual == expected, f"`{spans[-1]}` printed"

    def close(self) -> None:
        """Stop the demo service."""
        if self.demo is not None:
            self.demo.stop()


def _check_map(block: Block) -> None:
    """Each top-level path of the map exists; so does each module the datever entry lists."""
    for line in block.text.splitlines():
        if not line or line[0].isspace():
            continue
        path = line.split()[0]
        assert (ROOT / path).exists(), f"{block.id}: {path} does not exist"
    listing = block.text.split("datever/", 1)[1].split("\n" + "changes/", 1)[0]
    library, _, web = listing.partition("web/:")
    for folder, names in (("datever", library.split(":", 1)[1]), ("datever/web", web)):
        for name in re.findall(r"[a-z_]+", re.sub(r"[(].*?[)]", "", names)):
            assert (ROOT / folder / f"{name}.py").exists(), f"{block.id}: no {folder}/{name}.py"


def _check_pyproject(block: Block, scratch: Path) -> None:
    """The block is a verbatim part of pyproject.toml, and datever reads it as printed."""
    from datever.config import read_config

    assert block.text in (ROOT / "pyproject.toml").read_text(encoding="utf-8"), (
        f"{block.id}: pyproject.toml does not hold this block as printed")
    alone = scratch / "block.toml"
    alone.write_text(block.text, encoding="utf-8")
    assert read_config(alone) is not None, f"{block.id}: no [tool.datever] table"


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Document]]:
    """The running state of each document, its scratch directory linked to the repository."""
    states: dict[str, Document] = {}
    for name in DOCUMENTS:
        scratch = tmp_path_factory.mktemp(name.replace("/", "-"))
        for linked in LINKED:
            (scratch / linked).symlink_to(ROOT / linked)
        states[name] = Document(name, scratch, [b for b in ALL if b.document == name])
    try:
        yield states
    finally:
        for state in states.values():
            state.close()


# -- the tests ------------------------------------------------------------------


@pytest.mark.parametrize("block", [b for b in ALL if b != ALL[0]], ids=lambda b: b.id)
def test_block_runs_as_printed(block: Block, documents: dict[str, Document]) -> None:
    """The block does what the text shows (the blocks before it in its document run first)."""
    if block.not_run is not None:
        assert block.not_run, f"{block.id}: say why the block is not run"
        pytest.skip(f"not run: {block.not_run}")
    state = documents[block.document]
    for earlier in state.blocks[state.done:state.blocks.index(block)]:
        state.run(earlier, check=False)
    state.run(block)


def test_opening_installs_and_inspects() -> None:
    """The first command of README.md sets up the virtualenv and prints the version v1."""
    setup, _ = ALL[0].text.splitlines()
    done = subprocess.run(["bash", "-o", "pipefail", "-c", setup], cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "version v1" in done.stdout


def test_opening_runs_the_ci_command() -> None:
    """The second command of README.md is exactly the set-up and test run of .ci/run."""
    _, tests = ALL[0].text.splitlines()
    assert (ALL[0].document, ALL[0].lang) == ("README.md", "sh")
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_blocks_not_run_are_few_and_say_why() -> None:
    """At most two blocks are marked not run, each with its reason."""
    marked = [b for b in ALL if b.not_run is not None]
    assert len(marked) <= MAX_NOT_RUN, [b.id for b in marked]
    assert all(b.not_run for b in marked)


def test_every_fence_is_a_block() -> None:
    """Every opening fence of both documents is a block the tests run or skip by name."""
    fences = sum(1 for d in DOCUMENTS for line in (ROOT / d).read_text(
        encoding="utf-8").splitlines() if _FENCE.match(line) and line != "```")
    assert len([b for b in ALL if b.lang]) == fences
    assert {"Resolution", "Lifecycle and HTTP signals", "Errors"} <= {b.section for b in ALL}


def test_console_commands_join_continuations() -> None:
    """A command continued with a backslash is one command; the lines after it its output."""
    [(command, output)] = commands_of("$ curl -s a \\\n    -d '{\"x\": 1}'\n{}\n", "$ ")
    assert shlex.split(command)[-2:] == ["-d", '{"x": 1}']
    assert output == "{}\n"


# -- the rules catch what they should ----------------------------------------------


def _synthetic(tmp_path: Path, lang: str, text: str, paragraph: str = "") -> tuple[Document,
                                                                                 Block]:
    block = Block("synthetic.md", 1, lang, text, "Synthetic", paragraph, None)
    return Document("synthetic.md", tmp_path, [block]), block


@pytest.mark.parametrize(("lang", "text", "paragraph"), [
    ("console", "$ echo hi\nho\n", ""),
    ("sh", "true\nfalse\n", ""),
    ("python", "raise SystemExit('a python block that fails')\n", ""),
    ("", "a\nx\n…\n", "Its output, from `printf 'a\\nb\\nc\\n'`:"),
    ("text", "datever/  the library: engine, teleport\nchanges/  changes\n", ""),
    ("text", "datever/  the library: engine\nnowhere/  a folder that is not there\n", ""),
    ("toml", '[tool.datever]\nchanges = "elsewhere"\n', ""),
    ("toml", "[tool.ruff]\n", ""),
])
def test_a_block_that_fails_as_printed_fails(tmp_path: Path, lang: str, text: str,
                                             paragraph: str) -> None:
    """A wrong output, a failing command, a raising block or a stale map fails its test."""
    state, block = _synthetic(tmp_path, lang, text, paragraph)
    with pytest.raises((AssertionError, SystemExit)):
        state.run(block)


def test_a_doctest_with_the_wrong_output_fails(tmp_path: Path) -> None:
    """A doctest whose shown output differs from the real one fails."""
    state, block = _synthetic(tmp_path, "python", ">>> 1 + 1\n3\n")
    with pytest.raises(pytest.fail.Exception, match="Expected:"):
        state.run(block)


def test_elision_keeps_the_lines_before_it(tmp_path: Path) -> None:
    """An output block ending in … matches the first lines of the output and ignores the rest."""
    state, block = _synthetic(tmp_path, "", "a\nb\n…\n",
                              "Its output, from `printf 'a\\nb\\nc\\n'`:")
    state.run(block)


def test_not_run_marker_is_read_with_its_reason(tmp_path: Path) -> None:
    """The comment right before a fence marks the block not run and gives the reason."""
    (tmp_path / "doc.md").write_text("## A\n\n<!-- not run: needs a GPU -->\n```python\n"
                                     "x = 1\n```\n\n<!-- not run: -->\n```sh\nls\n```\n",
                                     encoding="utf-8")
    marked, empty = blocks_of("doc.md", tmp_path)
    assert (marked.not_run, marked.section, marked.text) == ("needs a GPU", "A", "x = 1\n")
    assert empty.not_run == ""
