"""Every console example of README.md is run, and prints what the README says it prints.

A console example is a fenced ```console block: a line starting with ``$ `` is a command (a
trailing backslash continues it on the next line), and the lines after it, up to the next
command, are its standard output. Commands run with bash in a scratch folder whose ``data``
is the mirror's fetched data folder (the README's examples are on the mirror data), with
``.venv/bin/obsscale`` replaced by this interpreter's ``python -m obsscale``. Comparison is
exact after one normalisation: trailing whitespace of each line and trailing blank lines are
dropped. Warnings on standard error are not part of an example.

The outputs are regenerated from real runs, rewriting the README in place, with
``make readme-examples`` (``python tests/test_readme.py --data-dir DATA``) after a change to
the method changes the numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^(?P<indent> *)```console\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
CLI = ".venv/bin/obsscale"


@dataclass(frozen=True)
class Step:
    command: str  # as shown, continuation lines included
    output: str  # as shown (normalised)


@dataclass(frozen=True)
class Example:
    line: int  # of the opening fence, 1-based
    span: tuple[int, int]  # the block's body in the README's text
    indent: str  # of the fence (a block inside a list item), removed from every line
    steps: tuple[Step, ...]


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def _steps(body: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    command: list[str] = []
    output: list[str] = []
    lines = iter(body.splitlines())
    for line in lines:
        if line.startswith("$ "):
            if command:
                steps.append(Step("\n".join(command), normalise("\n".join(output))))
            command, output = [line[2:]], []
            while command[-1].endswith("\\"):
                command.append(next(lines))
        else:
            output.append(line)
    if command:
        steps.append(Step("\n".join(command), normalise("\n".join(output))))
    return tuple(steps)


def examples(text: str) -> list[Example]:
    out = []
    for m in BLOCK.finditer(text):
        indent = m["indent"]
        body = "\n".join(line.removeprefix(indent) for line in m["body"].splitlines())
        line = text.count("\n", 0, m.start()) + 1
        out.append(Example(line, m.span("body"), indent, _steps(body)))
    return out


def run(command: str, data_dir: Path, cwd: Path) -> str:
    """One command as the README shows it, in ``cwd`` (whose ``data`` is ``data_dir``)."""
    link = cwd / "data"
    if not link.exists():
        link.symlink_to(data_dir.resolve(), target_is_directory=True)
    shell = command.replace(CLI, f"{sys.executable} -m obsscale")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSSCALE_")}
    done = subprocess.run(
        ["bash", "-c", shell], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, f"{command}\n{done.stderr}"
    return normalise(done.stdout)


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_readme_has_its_examples_as_console_blocks() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(EXAMPLES) >= 4 and all(e.steps for e in EXAMPLES)
    assert all(s.command.startswith((CLI, "printf")) for e in EXAMPLES for s in e.steps)
    # a command block followed by a bare block is an example this test would not run
    assert not re.search(r"^```bash\n[^`]*^```\n+```\n", text, re.M)


@pytest.mark.mirror
@pytest.mark.parametrize("example", EXAMPLES, ids=[f"README.md:{e.line}" for e in EXAMPLES])
def test_readme_example_prints_what_it_shows(
    example: Example, mirror_data: Path, tmp_path: Path
) -> None:
    for step in example.steps:
        assert run(step.command, mirror_data, tmp_path) == step.output, step.command


def regenerate(data_dir: Path, readme: Path = README) -> int:
    """Rerun every example on ``data_dir`` and write their outputs into the README."""
    from obsscale.data import store

    text = readme.read_text(encoding="utf-8")
    parts, end = [], 0
    for example in examples(text):
        start, stop = example.span
        with tempfile.TemporaryDirectory() as tmp:
            body = []
            for step in example.steps:
                out = run(step.command, data_dir, Path(tmp))
                body.append(f"$ {step.command}" + (f"\n{out}" if out else ""))
        lines = "\n".join(body).split("\n")
        parts += [text[end:start], "".join(f"{example.indent}{x}".rstrip() + "\n" for x in lines)]
        end = stop
    store.write_text(readme, "".join([*parts, text[end:]]))
    return len(examples(text))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="rewrite README.md's console outputs")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    n = regenerate(parser.parse_args().data_dir)
    print(f"{README}: {n} console examples rewritten from real runs")
