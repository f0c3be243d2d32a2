"""``sluice init``: create an Alembic project wired to Sluice, or wire an existing one.

Wiring an existing env.py rewrites every ``context.configure(...)`` call so that it ends
with ``**configure_options(config, ...)``; callbacks and options the call already passed
that Sluice also sets (``include_object``, ``compare_type`` ...) move into that call, so
the user's callbacks are chained and their explicit choices still win. The original is
kept as ``env.py.bak``; running it again changes nothing.
"""

from __future__ import annotations

import ast
import difflib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sluice.errors import SluiceError

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
        return wire_existing(ini, dry_run=dry_run)
    if directory.exists() and not directory.is_dir():
        raise SluiceError(f"{directory}: not a directory")
    return create_new(directory, metadata=metadata, url=url, dry_run=dry_run)


def _metadata_block(metadata: str | None) -> str:
    if not metadata:
        return (
            "# Point this at your models' MetaData so autogenerate can compare, e.g.\n"
            "# from myapp.models import Base; target_metadata = Base.metadata\n"
            "target_metadata = None"
        )
    module, sep, attr = metadata.partition(":")
    if not sep or not module or not attr:
        raise SluiceError(f"--metadata {metadata!r}: expected MODULE:ATTR, e.g. myapp.models:Base.metadata")
    root = attr.split(".")[0]
    return f"from {module} import {root}  # noqa: E402\n\ntarget_metadata = {attr}"


def create_new(
    directory: Path, *, metadata: str | None, url: str | None, dry_run: bool
) -> InitResult:
    from alembic import command
    from alembic.config import Config

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
    from sluice.project import alembic_config

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
    from alembic.script import ScriptDirectory

    try:
        return Path(ScriptDirectory.from_config(cfg).dir)
    except Exception:
        raise SluiceError(
            f"{ini}: script_location {loc} has no env.py (the folder does not exist); "
            "correct script_location, or create a new project with 'sluice init DIRECTORY'"
        ) from None


def wire_env_source(source: str, filename: str = "env.py") -> str:
    """env.py source with every ``context.configure(...)`` wired to Sluice."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SluiceError(f"{filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    calls = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "configure"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "context"
    ]
    if not calls:
        raise SluiceError(f"{filename}: no context.configure(...) call found; wire it by hand")
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(lineno: int, col: int) -> int:
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))

    edits: list[tuple[int, int, str]] = []
    for call in calls:
        moved = [kw for kw in call.keywords if kw.arg in _MOVED]
        kept = [kw for kw in call.keywords if kw.arg not in _MOVED]
        moved_src = ", ".join(f"{kw.arg}={ast.get_source_segment(source, kw.value)}" for kw in moved)
        inner = "config" + (f", {moved_src}" if moved_src else "")
        args_src = [ast.get_source_segment(source, a) or "" for a in call.args]
        kw_src = [
            (f"{kw.arg}=" if kw.arg else "**") + (ast.get_source_segment(source, kw.value) or "")
            for kw in kept
        ]
        indent = " " * (call.col_offset + 4)
        parts = [*args_src, *kw_src, f"**configure_options({inner})"]
        body = "".join(f"\n{indent}{p}," for p in parts)
        new_call = f"context.configure({body}\n{' ' * call.col_offset})"
        assert call.end_lineno is not None and call.end_col_offset is not None
        edits.append((pos(call.lineno, call.col_offset), pos(call.end_lineno, call.end_col_offset),
                      new_call))
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    # Import after the last top-level import.
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    import_line = "from sluice import configure_options\n"
    if imports:
        last = max(n.end_lineno or n.lineno for n in imports)
        out_lines = out.splitlines(keepends=True)
        out_lines.insert(last, import_line)
        out = "".join(out_lines)
    else:
        out = import_line + out
    return out


def wire_existing(ini: Path, *, dry_run: bool = False) -> InitResult:
    script_dir = _script_location(ini)
    env_py = script_dir / "env.py"
    if not env_py.is_file():
        raise SluiceError(f"{ini}: script_location {script_dir} has no env.py")
    result = InitResult()
    source = env_py.read_text(encoding="utf-8")
    if "configure_options(" in source:
        result.messages.append(f"{env_py}: already wired to Sluice; nothing to do")
    else:
        new = wire_env_source(source, str(env_py))
        result.diff = "".join(difflib.unified_diff(
            source.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"{env_py} (before)", tofile=f"{env_py} (after)",
        ))
        result.changed = True
        if dry_run:
            result.messages.append(f"{env_py}: would wire to Sluice (dry run, nothing written)")
        else:
            backup = env_py.with_name("env.py.bak")
            shutil.copyfile(env_py, backup)
            env_py.write_text(new, encoding="utf-8")
            result.messages.append(f"{env_py}: wired to Sluice (original kept as {backup.name})")
    mako = script_dir / "script.py.mako"
    if mako.is_file():
        text = mako.read_text(encoding="utf-8")
        if "sluice_header" not in text:
            line = '${sluice_header(up_revision) if sluice_header is not UNDEFINED else ""}'
            result.changed = True
            if not dry_run:
                mako.write_text(line + text, encoding="utf-8")
                result.messages.append(f"{mako}: review header added at the top of new revisions")
    return result
