"""The one place the project goes past Optuna's user API: handing a claimed trial back as WAITING.

Optuna has no public call that returns a RUNNING trial to the queue; ``study.ask()`` only ever
takes WAITING trials out of it. Exactly ``n_trials`` across workers needs it (see shared.py): a
worker that lost the race for the last slot must leave its trial uncounted and reusable, not
finished. Checked against Optuna 5.0.0; ``tests/test_tuning_public_api.py`` pins that version and
says what to re-check on an upgrade.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState


def hand_back(study: optuna.Study, trial: optuna.Trial | FrozenTrial) -> None:
    """Set a claimed, not yet evaluated trial of ``study`` back to WAITING: it is not counted, and
    the next ``study.ask()`` (of a later run with a larger ``n_trials``) takes it instead of a new one."""
    study._storage.set_trial_state_values(trial._trial_id, TrialState.WAITING)  # noqa: SLF001  (the one fenced private call)
