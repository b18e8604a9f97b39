"""Importances per latent channel and position, and the trials table, from real fitted models and a
real Optuna study."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from jpegai_fd.tracking.job_artifacts import split_importances, tree_importances
from jpegai_fd.tracking.job_artifacts import trials_table

SHAPES = {"model_y": (4, 3, 2), "model_uv": (2, 3, 2)}


def test_flatten_importances_map_back_to_channels_and_positions():
    n = 4 * 3 * 2 + 2 * 3 * 2
    imp = np.zeros(n)
    imp[np.ravel_multi_index((2, 1, 0), (4, 3, 2))] = 0.75  # model_y channel 2 at (1, 0)
    imp[24 + np.ravel_multi_index((1, 2, 1), (2, 3, 2))] = 0.25  # model_uv channel 1 at (2, 1)
    parts = split_importances(imp, SHAPES, whole_latents=True)
    assert parts["model_y"]["channels"].tolist() == [0, 0, 0.75, 0]
    assert parts["model_y"]["positions"][1, 0] == 0.75 and parts["model_y"]["positions"].sum() == 0.75
    assert parts["model_uv"]["channels"].tolist() == [0, 0.25]
    assert parts["model_uv"]["positions"][2, 1] == 0.25


def test_patch_importances_are_per_channel_and_sizes_are_checked():
    parts = split_importances(np.arange(6.0), SHAPES, whole_latents=False)
    assert parts["model_y"]["channels"].tolist() == [0, 1, 2, 3] and parts["model_uv"]["channels"].tolist() == [4, 5]
    assert "positions" not in parts["model_y"]
    with pytest.raises(ValueError, match="do not match"):
        split_importances(np.arange(7.0), SHAPES, whole_latents=False)


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=20, random_state=0),
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ],
)
def test_tree_importances_find_the_informative_feature(model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    y = (X[:, 7] > 0).astype(int)
    imp = tree_importances(model.fit(X, y))
    assert imp.shape == (10,) and imp.sum() == pytest.approx(1.0)
    assert imp.argmax() == 7


def test_tree_importances_of_a_non_tree_model_is_none():
    from sklearn.linear_model import LogisticRegression

    assert tree_importances(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])) is None


def test_trials_table_from_a_real_study_with_pruned_and_failed_trials():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            raise ValueError("boom")
        scores = []
        for fold in range(3):
            scores.append(x + fold)
            trial.set_user_attr("fold_scores", scores)
            trial.report(float(np.mean(scores)), fold)
            if trial.number == 1:
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=4, catch=(ValueError,))
    table = trials_table(study.trials_dataframe(attrs=("number", "value", "state", "duration", "params", "user_attrs")))
    assert list(table["state"]) == ["COMPLETE", "PRUNED", "FAIL", "COMPLETE"]
    assert [len(json.loads(f)) for f in table["fold_scores"]] == [3, 1, 0, 3]
    assert (table["duration_s"] >= 0).all() and "param_x" in table
    assert np.isnan(table["value"][2])
