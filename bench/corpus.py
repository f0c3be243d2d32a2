"""Precision corpus: ``sluice lint`` on public Alembic histories, and a sample to review.

Each history in ``bench/corpus.toml`` (repository, commit, migrations folder, the dialect
the project runs on, third-party libraries its revisions import) is materialised under
``bench/_work/corpus/<name>/`` from a local copy of its repository with ``git archive <commit>:<path>`` (only the migrations folder;
nothing is copied into the project). Beside it go a minimal ``alembic.ini``
(``script_location``, ``version_locations`` for per-dialect trees, a ``sqlalchemy.url``
of the project's dialect, ``prepend_sys_path`` when the entry gives one), a ``pyproject.toml`` with ``[tool.sluice.lint] dialects`` and
``stub_modules`` (the project's own packages), and a ``site-packages`` folder on
``PYTHONPATH`` where the libraries are stand-in packages, as if installed.
Then ``sluice lint --format json --no-cache --all`` runs as a whole process, one history
at a time.

Printed (and written to ``bench/_work/corpus/report.md``), as Markdown tables: the
histories with their revision counts, findings per rule per history, the sample per rule
with its labels, and the measured precision; each history's coverage line goes to stderr.
Also written to ``bench/_work/corpus/``: ``findings.json`` (every finding) and
``sample.csv``, a stratified sample for review: ``--sample N`` findings spread over the
rules in proportion to how often each fires (at least one per rule), drawn with a seeded
random generator. With ``--labels bench/corpus_review.csv`` the sample keeps the findings
already labelled there that still occur (with their labels), draws only the rest, and
the measured precision of the labelled ones is printed: per label, the share of the
sample and the estimate weighted by each rule's share of all findings.

``--sluice-rev REV`` lints with Sluice's own ``src`` at that commit (``git archive``, put
first on ``PYTHONPATH``) instead of the installed working tree, so a measurement names the
commit it measured.

Repositories are looked up as ``<mirror>/<owner>+<name>/repo`` (a bare mirror) or
``<mirror>/<owner>+<name>`` (a clone), for each ``--mirror`` folder given, then
``$SLUICE_CORPUS_MIRROR``, then ``bench/_work/corpus/repos``. When a repository or its
commit is missing, the one ``git clone`` command that gets it is printed and nothing runs.

Run: ``.venv/bin/python bench/corpus.py --sample 60 --labels bench/corpus_review.csv``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "_work" / "corpus"
URLS = {
    "postgresql": "postgresql://corpus@localhost/corpus",
    "mysql": "mysql+pymysql://corpus@localhost/corpus",
    "sqlite": "sqlite:///corpus.db",
}
# An installed third-party package stood in: every attribute is one of Sluice's stubs,
# and so is every submodule (``from oslo_db.sqlalchemy import types``).
LIBRARY_STUB = """import sys
from sluice.lint.render import StubFinder, StubModule
sys.modules[__name__].__class__ = StubModule
if not any(isinstance(f, StubFinder) and f.names == (__name__,) for f in sys.meta_path):
    sys.meta_path.append(StubFinder([__name__]))
"""
LABELS = ("true", "defensible", "false")
SAMPLE_FIELDS = ["rule", "history", "revision", "label", "reason", "name", "severity",
                 "path", "line", "message"]


class CorpusError(Exception):
    """The corpus cannot be built or linted; the message says what to do."""


@dataclass
class History:
    name: str
    repo: str
    commit: str
    path: str
    dialect: str
    versions: str = "versions"
    stub_modules: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    prepend_sys_path: str = ""
    style: str = ""


def load_spec(spec: Path) -> list[History]:
    try:
        data = tomllib.loads(spec.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"{spec}: {exc}") from exc
    histories = []
    for index, entry in enumerate(data.get("history", []), 1):
        missing = {"name", "repo", "commit", "path", "dialect"} - set(entry)
        if missing:
            raise CorpusError(f"{spec}: history #{index} lacks {', '.join(sorted(missing))}")
        if entry["dialect"] not in URLS:
            raise CorpusError(f"{spec}: history {entry['name']}: dialect "
                              f"{entry['dialect']!r} is not one of {', '.join(URLS)}")
        histories.append(History(**entry))
    if not histories:
        raise CorpusError(f"{spec}: no [[history]] entries")
    return histories


def find_git_dir(history: History, mirrors: list[Path]) -> Path:
    key = history.repo.replace("/", "+")
    for root in mirrors:
        for candidate in (root / key / "repo", root / key / ".git", root / key):
            probe = subprocess.run(["git", "--git-dir", str(candidate), "cat-file", "-e",
                                    f"{history.commit}^{{commit}}"], capture_output=True)
            if candidate.is_dir() and probe.returncode == 0:
                return candidate
    target = mirrors[-1] / key
    raise CorpusError(
        f"{history.repo} at {history.commit[:12]} is not in {', '.join(map(str, mirrors))}; "
        f"get it with: git clone --filter=blob:none https://github.com/{history.repo} {target}")


def extract(tar: tarfile.TarFile, dest: Path) -> None:
    """``git archive`` output into ``dest``; the "data" filter where Python has it."""
    try:
        tar.extractall(dest, filter="data")
    except TypeError:  # Python before 3.10.12 / 3.11.4: no extraction filters
        tar.extractall(dest)


def materialise(history: History, git_dir: Path, work: Path) -> Path:
    """The history's migrations folder plus alembic.ini and pyproject.toml; returns the ini."""
    home = work / history.name
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        done = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "--format=tar",
                               f"--prefix={history.path}/", f"{history.commit}:{history.path}"],
                              stdout=archive, stderr=subprocess.PIPE, text=False)
        if done.returncode != 0:
            raise CorpusError(f"{history.repo}: git archive {history.commit[:12]}:{history.path}"
                              f" failed: {done.stderr.decode().strip()}")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            extract(tar, home)
    versions = home / history.path / history.versions
    if not versions.is_dir():
        raise CorpusError(f"{history.repo}: {history.path}/{history.versions} is not a folder "
                          f"at {history.commit[:12]}")
    ini = home / "alembic.ini"
    ini.write_text("[alembic]\n"
                   f"script_location = {history.path}\n"
                   f"version_locations = {history.path}/{history.versions}\n"
                   f"sqlalchemy.url = {URLS[history.dialect]}\n"
                   + (f"prepend_sys_path = {history.prepend_sys_path}\n"
                      if history.prepend_sys_path else ""))
    stubs = ", ".join(json.dumps(m) for m in history.stub_modules)
    (home / "pyproject.toml").write_text(
        "[tool.sluice.lint]\n"
        f'dialects = ["{history.dialect}"]\n'
        f"stub_modules = [{stubs}]\n")
    for library in history.libraries:
        package = home / "site-packages" / library
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(LIBRARY_STUB)
    return ini


def sluice_command() -> list[str]:
    script = Path(sys.executable).with_name("sluice")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sluice"]


def sluice_source(rev: str, work: Path) -> Path:
    """Sluice's own ``src`` folder at ``rev`` of this repository, to lint with that code."""
    home = work / "sluice-src"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        done = subprocess.run(["git", "-C", str(BENCH.parent), "archive", "--format=tar", rev,
                               "src"], stdout=archive, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise CorpusError(f"--sluice-rev {rev}: {done.stderr.decode().strip()}")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            extract(tar, home)
    return home / "src"


def describe_sluice(rev: str | None) -> str:
    """The commit whose code was measured, or the working tree and whether it has changes."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(BENCH.parent), *argv], capture_output=True,
                              text=True).stdout.strip()
    if rev:
        sha = git("rev-parse", "--short", "--verify", "--quiet", f"{rev}^{{commit}}")
        if not sha:
            raise CorpusError(f"--sluice-rev {rev}: not a commit of {BENCH.parent}")
        return sha
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return f"working tree at {git('rev-parse', '--short', 'HEAD')}" + \
        (" with uncommitted changes in src/" if dirty else "")


def lint(history: History, ini: Path, source: Path | None) -> dict[str, object]:
    command = [*sluice_command(), "lint", "-c", str(ini), "--format", "json", "--no-cache",
               "--all"]
    paths = [str(source)] if source else []
    paths.append(str(ini.parent / "site-packages"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(command, cwd=ini.parent, capture_output=True, text=True, env=env)
    if done.returncode not in (0, 1):
        raise CorpusError(f"{history.name}: sluice lint exited {done.returncode}: "
                          f"{done.stderr.strip().splitlines()[-1:] or ''}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def rule_table(findings: list[dict[str, str]], names: list[str]) -> str:
    counts = Counter((f["rule"], f["history"]) for f in findings)
    rule_names = {f["rule"]: f["name"] for f in findings}
    totals = Counter(f["rule"] for f in findings)
    lines = ["| rule | " + " | ".join(names) + " | all |",
             "|---|" + "---:|" * (len(names) + 1)]
    for rule in sorted(totals, key=lambda r: (-totals[r], r)):
        cells = [str(counts[(rule, n)] or "") for n in names]
        lines.append(f"| {rule} {rule_names[rule]} | " + " | ".join(cells)
                     + f" | {totals[rule]} |")
    per_history = Counter(f["history"] for f in findings)
    lines.append("| **all** | " + " | ".join(str(per_history[n]) for n in names)
                 + f" | {len(findings)} |")
    return "\n".join(lines)


def allocate(totals: Counter[str], size: int) -> dict[str, int]:
    """Sample size per rule: proportional to frequency (largest remainder), at least one."""
    size = max(size, len(totals))
    whole = sum(totals.values())
    shares = {rule: 1 + (size - len(totals)) * count / whole for rule, count in totals.items()}
    quota = {rule: min(int(share), totals[rule]) for rule, share in shares.items()}
    for rule in sorted(shares, key=lambda r: (quota[r] - shares[r], r)):
        if sum(quota.values()) >= size:
            break
        if quota[rule] < totals[rule]:
            quota[rule] += 1
    return quota


def finding_key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return (row["rule"], row["history"], row["path"], str(row["line"]))


def read_labels(path: Path | None) -> dict[tuple[str, str, str, str], dict[str, str]]:
    if path is None:
        return {}
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise CorpusError(f"--labels {path}: {exc.strerror}") from exc
    for number, row in enumerate(rows, 2):
        if row.get("label") not in LABELS:
            raise CorpusError(f"{path}:{number}: label {row.get('label')!r} is not one of "
                              f"{', '.join(LABELS)}")
    return {finding_key(row): row for row in rows}


def sample(findings: list[dict[str, str]], size: int, seed: int,
           labelled: dict[tuple[str, str, str, str], dict[str, str]]) -> list[dict[str, str]]:
    rng = random.Random(seed)
    totals = Counter(f["rule"] for f in findings)
    picked: list[dict[str, str]] = []
    for rule, quota in sorted(allocate(totals, size).items()):
        pool = [f for f in findings if f["rule"] == rule]
        known = [f for f in pool if finding_key(f) in labelled]
        fresh = [f for f in pool if finding_key(f) not in labelled]
        rng.shuffle(fresh)
        chosen = (known + fresh)[:quota]
        for f in chosen:
            old = labelled.get(finding_key(f), {})
            picked.append({**f, "label": old.get("label", ""), "reason": old.get("reason", "")})
    return picked


def precision(picked: list[dict[str, str]], totals: Counter[str]) -> list[str]:
    done = [p for p in picked if p["label"] in LABELS]
    if not done:
        return ["no labelled findings in the sample yet"]
    raw = Counter(p["label"] for p in done)
    by_rule: dict[str, Counter[str]] = {}
    for p in done:
        by_rule.setdefault(p["rule"], Counter())[p["label"]] += 1
    covered = sum(totals[r] for r in by_rule)
    weighted = {label: sum(totals[r] * c[label] / sum(c.values()) for r, c in by_rule.items())
                / covered for label in LABELS}
    lines = [f"labelled: {len(done)} of {len(picked)} sampled findings"]
    for label in LABELS:
        lines.append(f"  {label:<10} {raw[label]:>3}  {raw[label] / len(done):6.1%} of the sample"
                     f"   {weighted[label]:6.1%} weighted by rule frequency")
    return lines


def review_table(picked: list[dict[str, str]], totals: Counter[str]) -> str:
    """Per rule: findings, sampled, and the labels of the sampled ones (Markdown)."""
    lines = ["| rule | findings | sampled | true | defensible | false |",
             "|---|---:|---:|---:|---:|---:|"]
    for rule in sorted(totals, key=lambda r: (-totals[r], r)):
        mine = [p for p in picked if p["rule"] == rule]
        labels = Counter(p["label"] for p in mine)
        name = mine[0]["name"] if mine else ""
        lines.append(f"| {rule} {name} | {totals[rule]} | {len(mine)} | "
                     + " | ".join(str(labels[label] or "") for label in LABELS) + " |")
    labels = Counter(p["label"] for p in picked)
    lines.append(f"| **all** | {sum(totals.values())} | {len(picked)} | "
                 + " | ".join(str(labels[label]) for label in LABELS) + " |")
    return "\n".join(lines)


def write_sample(picked: list[dict[str, str]], out: Path) -> None:
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SAMPLE_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(picked)


def run(args: argparse.Namespace) -> int:
    histories = load_spec(args.spec)
    if args.only:
        histories = [h for h in histories if h.name in args.only]
    mirrors = [*args.mirror]
    if os.environ.get("SLUICE_CORPUS_MIRROR"):
        mirrors.append(Path(os.environ["SLUICE_CORPUS_MIRROR"]))
    mirrors.append(args.work / "repos")
    git_dirs: dict[str, Path] = {}
    missing: list[str] = []
    for history in histories:
        try:
            git_dirs[history.name] = find_git_dir(history, mirrors)
        except CorpusError as exc:
            missing.append(str(exc))
    if missing:
        raise CorpusError("\n".join(missing))
    labelled = read_labels(args.labels)
    measured = describe_sluice(args.sluice_rev)
    source = sluice_source(measured, args.work) if args.sluice_rev else None
    findings: list[dict[str, str]] = []
    sources = ["| history | repository @ commit | migrations | dialect | revisions (fully read) |",
               "|---|---|---|---|---|"]
    for history in histories:
        ini = materialise(history, git_dirs[history.name], args.work)
        result = lint(history, ini, source)
        coverage: dict[str, object] = result["coverage"]  # type: ignore[assignment]
        print(f"{history.name}: {coverage['line']}", file=sys.stderr)
        # fully read: statically (the source said everything) or rendered offline
        full = sum(int(str(coverage.get(k, 0))) for k in ("read_statically", "rendered"))
        sources.append(f"| {history.name} | {history.repo} @ {history.commit[:12]} | "
                       f"{history.path}/{history.versions} | {history.dialect} | "
                       f"{coverage['revisions']} ({full}) |")
        for finding in result["findings"]:  # type: ignore[attr-defined]
            findings.append({**finding, "history": history.name})
    (args.work / "findings.json").write_text(json.dumps(findings, indent=1))
    picked = sample(findings, args.sample, args.seed, labelled)
    write_sample(picked, args.work / "sample.csv")
    totals = Counter(f["rule"] for f in findings)
    report = "\n\n".join(["\n".join(sources), rule_table(findings, [h.name for h in histories]),
                           review_table(picked, totals), "\n".join(precision(picked, totals)),
                           f"Sluice measured: {measured}"])
    (args.work / "report.md").write_text(report + "\n")
    print(report)
    print(f"\nsample of {len(picked)} findings: {args.work / 'sample.csv'}; report: "
          f"{args.work / 'report.md'}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=BENCH / "corpus.toml")
    parser.add_argument("--work", type=Path, default=WORK,
                        help="folder for the histories, findings and sample (bench/_work/corpus)")
    parser.add_argument("--mirror", type=Path, action="append", default=[],
                        help="folder holding <owner>+<name> repository copies (repeatable)")
    parser.add_argument("--only", action="append", default=[], help="lint only this history")
    parser.add_argument("--sample", type=int, default=60, help="findings to sample for review")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--labels", type=Path, help="labelled sample CSV to carry labels from")
    parser.add_argument("--sluice-rev", metavar="REV",
                        help="lint with Sluice's code at this commit (default: the installed one)")
    args = parser.parse_args()
    try:
        return run(args)
    except CorpusError as exc:
        print(f"corpus: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
