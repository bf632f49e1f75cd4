"""Every repo path named in the README, the docs and code comments exists.

Docs drift when files move: a README still naming a script after it moved
sends the reader nowhere. This test reads the prose a person reads
(Markdown files; comments and docstrings in code, not code itself, which
other tests run) and checks every word that looks like a path into this
repo: it starts with one of the top-level folders below, or is one of the
root files, or is a relative Markdown link.

A path is resolved the way a reader of that file would: from the repo root,
or from the file's own folder or any folder above it (``test/store.test.ts``
in ``backends/shared/README.md`` is ``backends/shared/test/store.test.ts``).
``{a,b}`` is expanded and ``*``/``?``/``**`` are globs (at least one match).
A path is cut back to its last ``/`` at a placeholder or an ellipsis
(``…``, ``...``, ``<name>``, ``$VAR``, ``{name}``), so
``bench/results/run-<stamp>.json`` checks ``bench/results/``.

Two more kinds of names are checked: a relative Markdown link must reach its
file and, with ``#anchor``, one of that file's headings; a dotted name of one
of this repo's Python packages (``harness.services.worker``) must name a
module, or after the last module a name defined somewhere in it.

Paths that are not in this tree are written so that they do not look like
one: a removed file with its commit (``git show 8d3aa4e:bench/x.py``), a
file of another repository with its name (``workerd:src/pyodide/helpers.bzl``)
or as a URL.
"""

from __future__ import annotations

import bisect
import functools
import glob
import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: A word starting with one of these (then ``/``) is a path into the repo.
TOP_LEVEL = (
    "src",
    "local_runner",
    "tools",
    "scripts",
    "tests",
    "bench",
    "docs",
    "backends",
    "frontend",
    "harness",
    ".ci",
)
#: Root files a doc names by bare name.
ROOT_FILES = (
    "Makefile",
    "wrangler.toml",
    "docker-compose.yml",
    "pyproject.toml",
    "package-lock.json",
    ".env.example",
    ".dev.vars.example",
    ".dockerignore",
)
#: Python packages of this repo (as pyproject.toml maps them; bench sits at the root): a dotted
#: name such as ``harness.services.worker`` in prose must name a module, or a name one defines.
PACKAGES = {
    "gateway": "src/gateway",
    "local_runner": "local_runner",
    "harness": "harness",
    "devstack": "tools/devstack",
    "gateway_registry": "tools/gateway_registry",
    "gtd_data": "tools/gtd_data",
    "bench": "bench",
}
#: ``harness.mjs`` is a file name, not a module.
FILE_SUFFIXES = {"py", "mjs", "js", "ts", "md", "json", "toml", "yml", "yaml", "sh", "txt", "sql", "lua", "capnp"}
#: Paths that a run creates, so a checkout need not hold them. Keep it small;
#: each entry says which run writes it.
RUNTIME_PATHS = {
    # `next build` (make run, make test) writes the web app's build here.
    "frontend/.next",
    # `make setup` (npm ci) installs the web app's dependencies here.
    "frontend/node_modules",
    # `make bench-lighthouse` installs its pinned Lighthouse here and writes its reports below.
    "bench/lighthouse/node_modules",
    "bench/results/lighthouse",
}
#: Folders never read: dependencies, caches, build output, run-time data.
SKIP_DIRS = {
    ".git",
    "node_modules",
    ".venv",
    "__pycache__",
    ".next",
    ".wrangler",
    "_build",
    "deps",
    ".cache",
    ".docker-cache",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}
#: Folders never read, from the root: what a run writes.
SKIP_PATHS = {"bench/results"}
#: READMEs outside docs/ that are read, besides the root one.
README_DIRS = ("backends", "harness", "bench", "tools", "scripts", "frontend")
CODE_SUFFIXES = {".py", ".mjs", ".js", ".ts", ".tsx", ".ex", ".exs", ".rb"}
HASH_COMMENT_NAMES = {"Makefile", "run", "docker-compose.yml"}  # run: .ci/run

_PATH = re.compile(
    r"(?<![\w.:/@$~-])"  # not the tail of a URL, a module, `commit:path` or another path
    r"((?:" + "|".join(re.escape(t) for t in TOP_LEVEL) + r")/[\w.*?{},/\[\]+-]*"
    r"|(?:" + "|".join(re.escape(f) for f in ROOT_FILES) + r")(?![\w.-]))"
)
_MODULE = re.compile(r"(?<![\w./-])((?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_]\w*)+)")
_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CUT = re.compile(r"\.\.\.|…|\{[^,{}]*\}")  # an ellipsis or a {placeholder}: the path ends before it
_PLACEHOLDER_AFTER = "<$…"  # `run-<stamp>.json`, `$DIR/x`: the word goes on as a placeholder
_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")


def doc_files(root: Path) -> list[Path]:
    """The files whose prose is checked: Markdown docs and READMEs, and code with comments."""
    files: list[Path] = []
    for md in (root / "README.md", *sorted((root / "docs").rglob("*.md"))):
        if md.is_file():
            files.append(md)
    for top in README_DIRS:
        files.extend(_walk(root, root / top, lambda p: p.name == "README.md"))
    for folder in TOP_LEVEL:
        files.extend(_walk(root, root / folder, lambda p: p.suffix in CODE_SUFFIXES or p.name in HASH_COMMENT_NAMES))
    files.extend(root / name for name in ("Makefile", "docker-compose.yml") if (root / name).is_file())
    return sorted(set(files))


def _walk(root: Path, top: Path, wanted: Callable[[Path], bool]) -> Iterator[Path]:
    if not top.is_dir():
        return
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and Path(folder, d).relative_to(root).as_posix() not in SKIP_PATHS
        )
        for name in names:
            path = Path(folder, name)
            if wanted(path):
                yield path


def prose(text: str, suffix: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of each piece of prose in a file's ``text``: all of a Markdown
    file; comments and docstrings of code (a file ending ``suffix``)."""
    if suffix == ".md":
        yield 0, text
    elif suffix == ".py":
        yield from _python_prose(text)
    elif suffix in {".mjs", ".js", ".ts", ".tsx"}:
        for match in _C_TOKEN.finditer(text):
            if match.lastgroup == "comment":
                yield match.start(), match.group()
    else:  # Ruby, Elixir, Makefile, shell, YAML
        yield from _hash_comments(text)
        if suffix in {".ex", ".exs"}:
            for match in re.finditer(r'@(?:module)?doc\s+"""(.*?)"""', text, re.DOTALL):
                yield match.start(1), match.group(1)


# Strings are matched too, so that a `#` or `//` inside one is not taken for a comment.
_PY_TOKEN = re.compile(
    r"(?P<string>[rRbBuUfF]{0,2}(?:"
    r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\[\s\S]|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'))"
    r"|(?P<comment>\#[^\n]*)"
)
_C_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|`(?:[^`\\]|\\[\s\S])*`)"
    r"|(?P<comment>//[^\n]*|/\*[\s\S]*?\*/)"
)


def _python_prose(text: str) -> Iterator[tuple[int, str]]:
    """Comments, and strings that are a statement on their own line (docstrings)."""
    for match in _PY_TOKEN.finditer(text):
        if match.lastgroup == "comment":
            yield match.start(), match.group()
            continue
        if "/" not in match.group() and "." not in match.group() and "Makefile" not in match.group():
            continue  # names no path or module: whether it is a docstring does not matter
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        rest = text[match.end() : len(text) if line_end < 0 else line_end].strip()
        if not text[line_start : match.start()].strip() and (not rest or rest.startswith("#")):
            yield match.start(), match.group()


def _hash_comments(text: str) -> Iterator[tuple[int, str]]:
    """``#`` comments: at a line's start or after a space, outside quotes, not ``#{`` interpolation."""
    offset = 0
    for line in text.splitlines(keepends=True):
        for match in re.finditer(r"(?:^|(?<=\s))#(?!\{)", line):
            before = line[: match.start()]
            if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                yield offset + match.start(), line[match.start() :]
                break
        offset += len(line)


def references(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, name as written, kind) for each path (``path``), Markdown link (``link``: relative to
    the file) and dotted module name (``module``) in ``path``'s prose; nothing for a generated file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if re.search(r"auto-generated|do not edit|@generated", text[:400], re.IGNORECASE):
        return
    newlines = [match.start() for match in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        return bisect.bisect_left(newlines, offset) + 1

    for start, piece in prose(text, path.suffix):
        for match in _PATH.finditer(piece):
            cut = match.end() < len(piece) and piece[match.end()] in _PLACEHOLDER_AFTER
            yield line_of(start + match.start()), _trim(match.group(1), cut), "path"
        for match in _MODULE.finditer(piece):
            if match.group(1).split(".")[1] not in FILE_SUFFIXES:
                yield line_of(start + match.start()), match.group(1), "module"
        if path.suffix == ".md":
            for match in _MD_LINK.finditer(piece):
                target = match.group(1)
                if not re.match(r"[a-z][a-z0-9+.-]*:", target):
                    yield line_of(start + match.start()), target, "link"


def _trim(ref: str, cut: bool = False) -> str:
    """The path in a matched word: up to a placeholder, without the sentence's punctuation."""
    placeholder = _CUT.search(ref)
    if placeholder or cut:
        ref = ref[: placeholder.start() if placeholder else len(ref)]
        return ref[: ref.rfind("/") + 1]
    ref = ref.removesuffix("**")  # Markdown bold around a path
    ref = ref.rstrip(".,;:")
    for opener, closer in ("()", "[]", "{}"):
        while ref.endswith(closer) and ref.count(closer) > ref.count(opener):
            ref = ref[:-1]
    return ref.rstrip(".,;:")


def expand(ref: str) -> list[str]:
    """``a/{b,c}.py`` → ``a/b.py``, ``a/c.py`` (each brace group, one level)."""
    parts = _BRACES.split(ref)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(combo) for combo in itertools.product(*choices)]


def exists(ref: str, source: Path, root: Path, *, relative_only: bool = False) -> bool:
    """Whether every expansion of ``ref`` names a file or folder, read from ``source``'s folder or above."""
    bases = [source.parent] if relative_only else [source.parent, *source.parent.parents]
    bases = [base for base in bases if base == root or root in base.parents]
    return all(_exists_one(name, bases, root) for name in expand(ref))


def _exists_one(name: str, bases: list[Path], root: Path) -> bool:
    for base in bases:
        if (base / name).exists():
            return True
        if any(ch in name for ch in "*?[") and glob.glob(str(base / name), recursive=True):
            return True
    return name.rstrip("/") in RUNTIME_PATHS or any(name.startswith(p + "/") for p in RUNTIME_PATHS)


def module_exists(dotted: str, source: Path, root: Path) -> bool:
    """Whether ``package.module.name`` names a module of this repo, or a name defined in it.

    The package is the repo's (PACKAGES) or one in a folder above ``source`` (a backend's own
    ``bench.variants``). After the last module, the next name must be defined somewhere in that
    module (or package), at any depth: ``gateway.handle`` in a comment is a variable's method,
    a module name left behind by a move is nothing."""
    first, *names = dotted.split(".")
    starts = [root / PACKAGES[first]]
    starts += [base / first for base in source.parents if root in base.parents and (base / first).is_dir()]
    return any(_resolves(start, names) for start in starts)


def _resolves(path: Path, names: list[str]) -> bool:
    for name in names:
        if path.is_dir() and (path / name).is_dir():
            path = path / name
        elif path.is_dir() and (path / f"{name}.py").is_file():
            path = path / f"{name}.py"
        else:
            return name in _defined_names(path)
    return path.exists()


# A def or class, an assignment (also to self.x), an imported name: a regex is enough here and
# much cheaper than parsing every module.
_DEFINES = re.compile(
    r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)"
    r"|^[ \t]*(?:self\.)?(\w+)[ \t]*(?::[^=\n]+)?=(?!=)"
    r"|(?:\bimport[ \t(]+|,[ \t\n]*|\bas[ \t]+)(\w+)",
    re.MULTILINE,
)


@functools.cache
def _defined_names(path: Path) -> frozenset[str]:
    """Every name a module (or every module of a package) defines, assigns or imports, at any depth."""
    names: set[str] = set()
    for module in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
        for match in _DEFINES.finditer(module.read_text(encoding="utf-8", errors="replace")):
            names.add(match.group(match.lastindex or 0))
    return frozenset(names)


def anchors(markdown: Path) -> set[str]:
    """The ``#anchors`` GitHub gives the headings of ``markdown`` (outside code fences)."""
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6}\s+(.*?)\s*#*$", line)):
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            if count:
                seen[f"{slug}-{count}"] = 1
    return set(seen)


def missing_paths(root: Path) -> list[str]:
    """``file:line → path`` for every path named in prose under ``root`` that does not exist,
    every Markdown link to a heading that does not exist, and every dotted module name that does not."""
    missing = []
    headings: dict[Path, set[str]] = {}
    for path in doc_files(root):
        for line, ref, kind in references(path):
            if kind == "module":
                if not module_exists(ref, path, root):
                    missing.append(f"{path.relative_to(root)}:{line} → {ref} (no such module or name)")
                continue
            target, _, anchor = ref.partition("#") if kind == "link" else (ref, "", "")
            if target and not exists(target, path, root, relative_only=kind == "link"):
                missing.append(f"{path.relative_to(root)}:{line} → {target}")
                continue
            linked = (path.parent / target).resolve() if target else path
            if anchor and linked.suffix == ".md" and linked.is_file():
                if linked not in headings:
                    headings[linked] = anchors(linked)
                if anchor not in headings[linked]:
                    missing.append(f"{path.relative_to(root)}:{line} → {ref} (no such heading)")
    return missing


def test_every_path_named_in_docs_and_comments_exists() -> None:
    missing = missing_paths(ROOT)
    assert not missing, "paths named in docs or comments that do not exist:\n" + "\n".join(missing)


# The checker itself, on small fake trees.


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_doc_naming_a_missing_path_is_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"src/real.py": "", "README.md": "See src/real.py.\nAnd `scripts/gone.py`, then.\n"})
    assert missing_paths(root) == ["README.md:2 → scripts/gone.py"]


def test_a_python_comment_or_docstring_naming_a_missing_path_is_reported(tmp_path: Path) -> None:
    code = '"""Runs like tools/old.py did."""\n\nx = 1  # see bench/gone.sh\n'
    root = _tree(tmp_path, {"tools/new.py": code})
    assert missing_paths(root) == ["tools/new.py:1 → tools/old.py", "tools/new.py:3 → bench/gone.sh"]


def test_a_path_in_python_code_is_not_prose(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tools/new.py": 'PATH = "bench/gone.sh"\nprint(PATH)\n'})
    assert missing_paths(root) == []


def test_a_js_comment_naming_a_missing_path_is_reported_but_a_string_is_not(tmp_path: Path) -> None:
    code = 'const url = "http://x//tests/nope";\n/* harness/gone.mjs\n */\nrun(); // tests/gone.py\n'
    root = _tree(tmp_path, {"harness/a.mjs": code})
    assert missing_paths(root) == ["harness/a.mjs:2 → harness/gone.mjs", "harness/a.mjs:4 → tests/gone.py"]


def test_a_hash_comment_naming_a_missing_path_is_reported_but_interpolation_is_not(tmp_path: Path) -> None:
    code = 'puts "#{tests}/x"\n# scripts/gone.rb\n'
    root = _tree(tmp_path, {"backends/r/app.rb": code, "Makefile": "all:\n\techo hi  # docs/gone.md\n"})
    assert missing_paths(root) == ["Makefile:2 → docs/gone.md", "backends/r/app.rb:2 → scripts/gone.rb"]


def test_braces_are_expanded_and_each_name_checked(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tools/a.py": "", "tools/b.py": "", "README.md": "tools/{a,b}.py and tools/{a,c}.py\n"})
    assert missing_paths(root) == ["README.md:1 → tools/{a,c}.py"]


def test_a_glob_needs_one_match(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/unit/x.py": "", "README.md": "tests/*/x.py, not tests/*/y.py\n"})
    assert missing_paths(root) == ["README.md:1 → tests/*/y.py"]


def test_a_path_is_cut_at_an_ellipsis_or_placeholder(tmp_path: Path) -> None:
    doc = "bench/…/z, bench/{name}.json, bench/<id>/y, bench/run-<stamp>.json, bench/gone/$X\n"
    root = _tree(tmp_path, {"bench/x": "", "README.md": doc})
    assert missing_paths(root) == ["README.md:1 → bench/gone/"]


def test_a_path_relative_to_the_files_own_folder_exists(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"backends/b/src/index.ts": "", "backends/b/README.md": "Entry: src/index.ts.\n"})
    assert missing_paths(root) == []


def test_a_markdown_link_is_relative_to_its_doc(tmp_path: Path) -> None:
    doc = "[ok](other.md#part) [web](https://x.test/a) [bad](../missing.md)\n"
    root = _tree(tmp_path, {"docs/other.md": "## Part\n", "docs/a.md": doc})
    assert missing_paths(root) == ["docs/a.md:1 → ../missing.md"]


def test_a_markdown_link_to_a_missing_heading_is_reported(tmp_path: Path) -> None:
    doc = "# Every core: the twin's `--workers`\n\n[a](#every-core-the-twins---workers) [b](b.md#gone)\n"
    root = _tree(tmp_path, {"docs/a.md": doc, "docs/b.md": "# Here\n```sh\n# gone\n```\n"})
    assert missing_paths(root) == ["docs/a.md:3 → b.md#gone (no such heading)"]


def test_a_dotted_name_of_a_missing_module_is_reported(tmp_path: Path) -> None:
    doc = "`harness.process.Service` runs it; `harness.gone` is gone.\n"
    root = _tree(tmp_path, {"harness/process.py": "class Service:\n    pass\n", "README.md": doc})
    assert missing_paths(root) == ["README.md:1 → harness.gone (no such module or name)"]


def test_a_dotted_name_defined_anywhere_in_its_module_exists(tmp_path: Path) -> None:
    code = "class Gateway:\n    async def handle(self):\n        pass\n"
    root = _tree(tmp_path, {"src/gateway/app.py": code, "README.md": "`gateway.handle`, `gateway.app.Gateway`\n"})
    assert missing_paths(root) == []


def test_url_tails_and_commit_paths_are_not_repo_paths(tmp_path: Path) -> None:
    doc = "https://github.com/o/r/tree/main/src/x.py and `git show abc123:bench/old.py`\n"
    root = _tree(tmp_path, {"README.md": doc})
    assert missing_paths(root) == []


def test_paths_a_run_creates_are_allowed(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"README.md": "see frontend/.next/standalone\n"})
    assert missing_paths(root) == []
