"""Put on ``PYTHONPATH`` by ``bench/process.py --phases``: the CPU time of this process
(``time.process_time``) at the entry and exit of a few functions of Alembic and Sluice,
written to stderr at exit as one line ``SLUICE_PHASES <json>`` of ``[point, seconds]``.
Inactive unless ``SLUICE_BENCH_PHASES`` is set. See ``bench/phases.py``."""

import os

if os.environ.get("SLUICE_BENCH_PHASES"):
    import atexit
    import functools
    import importlib.util
    import json
    import sys
    import time

    #: module -> functions (``Class.method`` or ``function``) whose entry and exit are noted
    POINTS = {
        "alembic.script.base": ["ScriptDirectory.run_env"],
        "alembic.runtime.migration": ["MigrationContext.run_migrations"],
        "sluice.runner.heads": ["probe"],
        "sluice.runner.run": ["_check_policy"],
        "sluice.runner.lock": ["MigrationLock.acquire", "MigrationLock.release"],
        "sluice.runner.flow": ["insert_run", "record_outcome"],
    }
    _marks = [["start", time.process_time()]]

    def _wrap(fn, name):
        @functools.wraps(fn)
        def noted(*args, **kwargs):
            _marks.append([">" + name, time.process_time()])
            try:
                return fn(*args, **kwargs)
            finally:
                _marks.append(["<" + name, time.process_time()])
        return noted

    def _patch(module, names):
        for name in names:
            owner = module
            *path, attr = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            setattr(owner, attr, _wrap(getattr(owner, attr), name))

    class _Finder:
        busy = False

        def find_spec(self, name, path, target=None):
            if name not in POINTS or self.busy:
                return None
            self.busy = True
            try:
                spec = importlib.util.find_spec(name)
            finally:
                self.busy = False
            if spec is None or spec.loader is None:
                return spec
            execute = spec.loader.exec_module

            def exec_module(module, _execute=execute, _name=name):
                _execute(module)
                _patch(module, POINTS[_name])

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _Finder())

    @atexit.register
    def _report():
        _marks.append(["exit", time.process_time()])
        sys.stderr.write("SLUICE_PHASES " + json.dumps(_marks) + "\n")
        sys.stderr.flush()
