"""Tuning stays on Optuna's user API, and a worker that loses the race for the last slot runs one trial
more, never two."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


# In a fresh interpreter: every import made by project code is recorded, and the study and its trials are
# seen through a proxy that records each private attribute (one underscore) project code reads. A second
# "worker" takes the last slot right after this worker's stop check.
SCRIPT = textwrap.dedent("""
    import builtins, json, sys, warnings
    private = []

    def from_project(frame):
        return frame.f_globals.get("__name__", "").startswith("jpegai_fd")

    real_import = builtins.__import__
    def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
        frame = sys._getframe(1)
        if level == 0 and name.startswith("optuna") and from_project(frame):
            names = name.split(".") + list(fromlist or ())
            if any(n.startswith("_") and not n.startswith("__") for n in names):
                private.append(f"{frame.f_globals['__name__']} imports {name} {list(fromlist or ())}")
        return real_import(name, globals, locals, fromlist, level)
    builtins.__import__ = recording_import

    import optuna
    from jpegai_fd.tuning.study import counted, open_storage, run_trials, wait_for_running

    class Seen:
        def __init__(self, target):
            object.__setattr__(self, "target", target)
        def __getattr__(self, name):
            frame = sys._getframe(1)
            if name.startswith("_") and not name.startswith("__") and from_project(frame):
                private.append(f"{frame.f_globals['__name__']} reads {type(self.target).__name__}.{name}")
            value = getattr(self.target, name)
            if name == "optimize":  # the objective, too, gets a watched trial
                return lambda func, *a, **kw: value(lambda trial: func(Seen(trial)), *a, **kw)
            if name == "ask":
                return lambda *a, **kw: Seen(value(*a, **kw))
            if name == "tell":
                return lambda trial, *a, **kw: value(getattr(trial, "target", trial), *a, **kw)
            return value
        def __setattr__(self, name, value):
            setattr(self.target, name, value)

    url = sys.argv[1]
    study = Seen(optuna.create_study(study_name="s", storage=open_storage(url), direction="maximize"))
    other = optuna.load_study(study_name="s", storage=open_storage(url))
    taken = []
    def other_worker_takes_a_slot():
        if not taken:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # ask() on a heartbeat storage
                taken.append(other.ask().number)
    objective = lambda trial: trial.suggest_float("x", 0, 1)
    first = run_trials(study, objective, 2, None, 0, other_worker_takes_a_slot)
    after_race = [(t.number, t.state.name) for t in study.trials]
    other.tell(taken[0], 0.5)
    wait_for_running(study, 10)
    second = run_trials(study, objective, 3, None, 0)
    print(json.dumps({"first": first, "after_race": after_race, "second": second, "counted": counted(study),
                      "final": [(t.number, t.state.name) for t in study.trials], "private": private}))
""")


def test_a_worker_that_loses_the_last_slot_runs_one_trial_more_through_public_api_only(tmp_path):
    """The race for the last slot, made deterministic: run_trials evaluates trial 0; another worker takes
    trial 1 (the last of n_trials=2) between this worker's stop check and its next ask; this worker runs
    trial 2 (n_trials + workers - 1 = 3 in all) and stops; a later run with n_trials=3 runs nothing. Along the
    way project code imports nothing private from Optuna and reads no private attribute of the study or its
    trials."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path}/optuna.db"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["private"] == [], "project code goes past Optuna's user API"
    assert out["first"] == 2
    assert out["after_race"] == [[0, "COMPLETE"], [1, "RUNNING"], [2, "COMPLETE"]]
    assert out["second"] == 0 and out["counted"] == 3
    assert out["final"] == [[0, "COMPLETE"], [1, "COMPLETE"], [2, "COMPLETE"]]
