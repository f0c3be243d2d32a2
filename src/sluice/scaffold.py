"""``sluice init``: create an Alembic project wired to Sluice, or wire an existing one.

Wiring an existing env.py rewrites every ``context.configure(...)`` call so that it ends
with ``**configure_options(config, ...)`` (``config``: env.py's name for ``context.config``,
or ``context.config`` itself); callbacks and options the call already passed that Sluice
also sets (``include_object``, ``compare_type`` ...) and ``**mappings`` move into that call,
so the user's callbacks are chained and their explicit choices still win;
``compare_server_default=True`` is dropped (Sluice compares defaults itself). An env.py that
reaches ``configure`` another way is refused with the line to add. The original is kept as
``env.py.bak``; running it again changes nothing.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sluice.core.project import alembic_config
from sluice.errors import SluiceError
from sluice.files import write_atomic

TEMPLATES = Path(__file__).parent / "templates"

#: Keywords configure_options sets; user values for them are moved into its call.
_MOVED = (
    "include_object",
    "include_name",
    "process_revision_directives",
    "compare_type",
    "compare_server_default",
    "autogenerate_plugins",
    "include_schemas",
    "render_as_batch",
)


@dataclass
class InitResult:
    messages: list[str] = field(default_factory=list)
    diff: str = ""
    changed: bool = False


def init_project(
    directory: Path,
    *,
    metadata: str | None = None,
    url: str | None = None,
    dry_run: bool = False,
) -> InitResult:
    directory = Path(directory)
    ini = directory / "alembic.ini"
    if ini.is_file():
        result = wire_existing(ini, dry_run=dry_run)
        given = [name for name, value in (("--metadata", metadata), ("--url", url)) if value]
        if given:
            result.messages.append(
                f"note: {' and '.join(given)} not applied (for a new project only): {ini} "
                "exists; set sqlalchemy.url there and target_metadata in env.py")
        return result
    if directory.exists() and not directory.is_dir():
        raise SluiceError(f"{directory}: not a directory")
    _metadata_block(metadata)  # a typo is said before anything is written
    if url is not None:
        _check_url(url)
    return create_new(directory, metadata=metadata, url=url, dry_run=dry_run)


def _check_url(url: str) -> None:
    """``--url`` as SQLAlchemy reads it; the driver may be installed later."""
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy only for a given --url

    shown = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", url)
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - ArgumentError, ValueError (a bad port)
        raise SluiceError(f"--url {shown!r}: not a database URL SQLAlchemy can read; write "
                          "one like sqlite:///app.db or postgresql+psycopg://user@host/dbname"
                          ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.host:
        raise SluiceError(f"--url {shown!r}: a SQLite URL has no host; a file path follows "
                          f"three slashes: sqlite:///{parsed.host}{'/' if parsed.database else ''}"
                          f"{parsed.database or ''}")


def _metadata_block(metadata: str | None) -> str:
    if not metadata:
        return (
            "# Point this at your models' MetaData so autogenerate can compare, e.g.\n"
            "# from myapp.models import Base; target_metadata = Base.metadata\n"
            "target_metadata = None"
        )
    module, sep, attr = metadata.partition(":")
    dotted = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
    if not sep or not dotted.fullmatch(module) or not dotted.fullmatch(attr):
        raise SluiceError(f"--metadata {metadata!r}: expected MODULE:ATTR, e.g. myapp.models:Base.metadata")
    root = attr.split(".")[0]
    return f"from {module} import {root}  # noqa: E402\n\ntarget_metadata = {attr}"


def create_new(
    directory: Path, *, metadata: str | None, url: str | None, dry_run: bool
) -> InitResult:
    from alembic import command  # lazy: Alembic only for sluice init
    from alembic.config import Config  # lazy: Alembic only for sluice init

    result = InitResult(changed=True)
    script_dir = directory / "migrations"
    if dry_run:
        result.messages.append(f"would create {directory / 'alembic.ini'} and {script_dir}/")
        return result
    if script_dir.exists() and any(script_dir.iterdir()):
        raise SluiceError(f"{script_dir}: exists and is not empty; pick another directory")
    directory.mkdir(parents=True, exist_ok=True)
    cfg = Config(str(directory / "alembic.ini"))
    command.init(cfg, str(script_dir), template="generic")
    env_text = (TEMPLATES / "env.py.tmpl").read_text(encoding="utf-8").format(
        metadata_block=_metadata_block(metadata)
    )
    (script_dir / "env.py").write_text(env_text, encoding="utf-8")
    shutil.copyfile(TEMPLATES / "script.py.mako", script_dir / "script.py.mako")
    ini_path = directory / "alembic.ini"
    text = ini_path.read_text(encoding="utf-8")
    if url:
        text = text.replace(
            "sqlalchemy.url = driver://user:pass@localhost/dbname", f"sqlalchemy.url = {url}"
        )
    text = text.replace("script_location = " + str(script_dir), "script_location = %(here)s/migrations")
    ini_path.write_text(text, encoding="utf-8")
    has_pyproject_config = (directory / "pyproject.toml").is_file() and "[tool.sluice" in (
        directory / "pyproject.toml"
    ).read_text(encoding="utf-8")
    if not has_pyproject_config and not (directory / "sluice.toml").exists():
        shutil.copyfile(TEMPLATES / "sluice.toml.tmpl", directory / "sluice.toml")
        result.messages.append(f"created {directory / 'sluice.toml'}")
    result.messages.insert(0, f"created Alembic project in {directory} wired to Sluice")
    if not metadata:
        result.messages.append(
            f"next: set target_metadata in {script_dir / 'env.py'} to your models' MetaData"
        )
    return result


def _script_location(ini: Path) -> Path:
    """The folder holding env.py, as Alembic finds it: ``script_location`` from alembic.ini
    or from ``[tool.alembic]`` in the pyproject.toml next to it (package resources too)."""
    try:
        cfg = alembic_config(ini)
        get = getattr(cfg, "get_alembic_option", None) or cfg.get_main_option
        loc = get("script_location")
    except SluiceError:
        raise
    except Exception as exc:
        raise SluiceError(f"{ini}: cannot parse: {exc}") from None
    if not loc:
        where = " or [tool.alembic] in pyproject.toml" if cfg.toml_file_name else ""
        raise SluiceError(f"{ini}: [alembic] script_location is not set{where}")
    from alembic.script import ScriptDirectory  # lazy: Alembic only for sluice init

    try:
        return Path(ScriptDirectory.from_config(cfg).dir)
    except Exception:
        raise SluiceError(
            f"{ini}: script_location {loc} has no env.py (the folder does not exist); "
            "correct script_location, or create a new project with 'sluice init DIRECTORY'"
        ) from None


#: How to wire an env.py by hand; part of every refusal.
WIRE_BY_HAND = (
    "wire it by hand: add 'from sluice import configure_options' to env.py and pass "
    "'**configure_options(context.config)' as the last argument of each "
    "context.configure(...) call"
)


@dataclass
class WiredEnv:
    """env.py source after wiring, with one note per change worth telling."""

    source: str
    notes: list[str] = field(default_factory=list)


def _context_names(tree: ast.Module) -> set[str]:
    """How env.py spells Alembic's ``context`` module: ``context``, an alias, or
    ``alembic.context``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "alembic" and not node.level:
            names.update(a.asname or a.name for a in node.names if a.name == "context")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "alembic.context":
                    names.add(a.asname or "alembic.context")
                elif a.name == "alembic":
                    names.add(f"{a.asname or 'alembic'}.context")
    return names or {"context"}


def _is_wired(call: ast.Call) -> bool:
    return any(
        kw.arg is None and isinstance(kw.value, ast.Call)
        and ast.unparse(kw.value.func).split(".")[-1] == "configure_options"
        for kw in call.keywords
    )


def _bound_in(func: ast.AST, name: str) -> bool:
    """Whether ``func`` (a function) binds ``name`` as a parameter or local."""
    if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = func.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if any(a is not None and a.arg == name for a in params):
            return True
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               for n in ast.walk(func))


def _config_expr(tree: ast.Module, call: ast.Call, ctx: str,
                 parents: dict[ast.AST, ast.AST]) -> str:
    """What to pass as configure_options' first argument at ``call``: the module's own
    name for ``context.config`` when it is visible there, else ``context.config``."""
    scopes: list[ast.AST] = []
    node: ast.AST = call
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            scopes.append(node)
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and ast.unparse(stmt.value) == f"{ctx}.config"
                and (scopes or stmt.lineno < call.lineno)):
            name = stmt.targets[0].id
            if not any(_bound_in(scope, name) for scope in scopes):
                return name
    return f"{ctx}.config"


def _refuse(filename: str, lineno: int | None, why: str) -> SluiceError:
    where = f"{filename}:{lineno}" if lineno else filename
    return SluiceError(f"{where}: {why}; {WIRE_BY_HAND}")


def _configure_calls(tree: ast.Module, filename: str) -> list[tuple[ast.Call, str]]:
    """Every ``context.configure(...)`` call with the spelling of ``context`` it uses;
    a refusal when env.py reaches ``configure`` some other way or passes ``*args``."""
    names = _context_names(tree)
    calls: list[tuple[ast.Call, str]] = []
    called: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            ctx = ast.unparse(node.func.value)
            if node.func.attr == "configure" and ctx in names:
                if any(isinstance(a, ast.Starred) for a in node.args):
                    raise _refuse(filename, node.lineno,
                                  "context.configure(*args) hides which options it passes")
                calls.append((node, ctx))
                called.add(id(node.func))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr == "configure"
                and ast.unparse(node.value) in names and id(node) not in called):
            raise _refuse(filename, node.lineno,
                          "context.configure is used other than by calling it directly")
    if not calls:
        raise _refuse(filename, None, "no context.configure(...) call found")
    return calls


def _rewrite_call(source: str, call: ast.Call, config_expr: str, filename: str,
                  notes: list[str]) -> str:
    """The call rewritten to end with ``**configure_options(...)``: Sluice's keywords the
    call passed and its ``**mappings`` move inside, ``compare_server_default=True`` goes."""
    moved: list[str] = []
    kept = [ast.get_source_segment(source, a) or "" for a in call.args]
    for kw in call.keywords:
        value = ast.get_source_segment(source, kw.value) or ""
        if kw.arg == "compare_server_default" and isinstance(kw.value, ast.Constant) \
                and kw.value.value is True:
            notes.append(
                f"{filename}:{kw.lineno}: removed compare_server_default=True: Sluice compares "
                "server defaults itself, without the dialect noise Alembic's plain comparison "
                "reports (before Alembic 1.18 the keyword switched Sluice's comparison off)"
            )
        elif kw.arg is None:
            moved.append(f"**{value}")
        elif kw.arg in _MOVED:
            moved.append(f"{kw.arg}={value}")
        else:
            kept.append(f"{kw.arg}={value}")
    inner = ", ".join([config_expr, *moved])
    indent = " " * (call.col_offset + 4)
    parts = [*kept, f"**configure_options({inner})"]
    func = ast.get_source_segment(source, call.func)
    return f"{func}({''.join(f'{chr(10)}{indent}{p},' for p in parts)}\n{' ' * call.col_offset})"


def _import_line(tree: ast.Module, ctx_names: set[str]) -> int | None:
    """Line after which to import configure_options (None: already imported): after the
    import of Alembic's context, else after the last top-level import or the docstring."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "sluice" and any(
                a.name == "configure_options" for a in node.names):
            return None
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    for node in imports:
        bound = {a.asname or a.name.split(".")[0] for a in node.names}
        if any(name.split(".")[0] in bound for name in ctx_names):
            return node.end_lineno or node.lineno
    if imports:
        return imports[-1].end_lineno or imports[-1].lineno
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return first.end_lineno or first.lineno
    return 0


def wire_env(source: str, filename: str = "env.py") -> WiredEnv:
    """env.py source with every ``context.configure(...)`` call wired to Sluice (calls
    already wired are left alone), or a :class:`SluiceError` saying what to add by hand."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SluiceError(f"{filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    calls = [(c, ctx) for c, ctx in _configure_calls(tree, filename) if not _is_wired(c)]
    if not calls:
        return WiredEnv(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(lineno: int | None, col: int | None) -> int:
        assert lineno is not None and col is not None
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))

    notes: list[str] = []
    edits = [
        (pos(c.lineno, c.col_offset), pos(c.end_lineno, c.end_col_offset),
         _rewrite_call(source, c, _config_expr(tree, c, ctx, parents), filename, notes))
        for c, ctx in calls
    ]
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    after = _import_line(tree, {ctx for _, ctx in calls})
    if after is not None:
        out_lines = out.splitlines(keepends=True)
        out_lines.insert(after, "from sluice import configure_options\n")
        out = "".join(out_lines)
    dropped = _comments(source) - _comments(out)
    if dropped:
        notes.append(f"{filename}: the rewritten context.configure(...) call leaves out "
                     f"{sum(dropped.values())} comment(s) it held ("
                     + "; ".join(sorted(dropped)) + "); env.py.bak keeps them")
    return WiredEnv(out, sorted(notes))


def _comments(source: str) -> Counter[str]:
    """The comments of ``source`` (``tokenize``: not ``#`` inside strings)."""
    import tokenize  # lazy: only sluice init rewrites env.py

    found: Counter[str] = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                found[token.string.strip()] += 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def wire_env_source(source: str, filename: str = "env.py") -> str:
    """env.py source with every ``context.configure(...)`` wired to Sluice."""
    return wire_env(source, filename).source


def wire_existing(ini: Path, *, dry_run: bool = False) -> InitResult:
    script_dir = _script_location(ini)
    env_py = script_dir / "env.py"
    if not env_py.is_file():
        raise SluiceError(f"{ini}: script_location {script_dir} has no env.py")
    result = InitResult()
    source = env_py.read_text(encoding="utf-8")
    wired = wire_env(source, str(env_py))
    new = wired.source
    if new == source:
        result.messages.append(f"{env_py}: already wired to Sluice; nothing to do")
    else:
        result.diff = "".join(difflib.unified_diff(
            source.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"{env_py} (before)", tofile=f"{env_py} (after)",
        ))
        result.changed = True
        result.messages.extend(wired.notes)
        if dry_run:
            result.messages.append(f"{env_py}: would wire to Sluice (dry run, nothing written)")
        else:
            backup = env_py.with_name("env.py.bak")  # never through a symlink, same mode
            write_atomic(backup, env_py.read_bytes(), mode=env_py.stat().st_mode & 0o777,
                         what="the backup of env.py")
            write_atomic(env_py, new, what="env.py")
            result.messages.append(f"{env_py}: wired to Sluice (original kept as {backup.name})")
    mako = script_dir / "script.py.mako"
    if mako.is_file():
        text = mako.read_text(encoding="utf-8")
        if "sluice_header" not in text:
            line = '${sluice_header(up_revision) if sluice_header is not UNDEFINED else ""}'
            result.changed = True
            if not dry_run:
                write_atomic(mako, line + text, what="script.py.mako")
                result.messages.append(f"{mako}: review header added at the top of new revisions")
    return result
