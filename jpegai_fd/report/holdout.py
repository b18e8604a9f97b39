"""The leave-one-source-out matrix of the runs tagged ``holdout``: a row per held-out source, a column per source
whose test split was scored (the job's dataset as ``test/``, a ``train_extra`` source as ``eval/<name>/``), cells
ROC AUC [bootstrap interval]; one matrix per combination of the other factors."""

from pathlib import Path

import pandas as pd

from jpegai_fd.extra_eval.report import cell, to_markdown

GROUPING = ["classifier", "bpp", "component", "preprocess", "latent", "encoder"]
AUC = ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high")


def source_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, scored source): the factors, held_out, source, ROC AUC and interval, unseen (not trained on)."""
    rows = []
    for r in runs.to_dict("records"):
        trained = str(r["train_sources"]).split(",")
        for source in dict.fromkeys([r["dataset"], *trained, r["holdout"]]):
            prefix = "test" if source == r["dataset"] else f"eval/{source}"
            scores = {k: r.get(f"{prefix}/{k}") for k in AUC}
            rows.append({**{f: r[f] for f in GROUPING}, "held_out": r["holdout"], "source": source, **scores})
            rows[-1]["unseen"] = source not in trained
    return pd.DataFrame(rows).drop_duplicates([*GROUPING, "held_out", "source"], keep="last")  # the latest run


def write_holdout_report(runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """``leave_one_out.md`` / ``.csv`` when some run has a holdout tag; the files written."""
    runs = runs[runs["holdout"].notna()] if "holdout" in runs else runs.iloc[:0]
    if runs.empty:
        return []
    cells = source_cells(runs)
    cells.to_csv(out / "leave_one_out.csv", index=False)
    text = (
        f"# {title}: leave one source out\n\nRows: the source held out of training; columns: the source whose test "
        "split was scored; ROC AUC [95% bootstrap interval]; **bold**: a source the run did not train on (the "
        "held-out cell). The mean AUC on unseen sources averages those cells (the diagonal here; in a "
        "train-on-one cross table they are the off-diagonal cells).\n"
    )
    for key, group in cells.groupby(GROUPING, sort=False):
        order = list(dict.fromkeys(group["source"]))
        shown = [f"**{cell(r, AUC[0])}**" if r["unseen"] else cell(r, AUC[0]) for r in group.to_dict("records")]
        matrix = group.assign(auc=shown).pivot(index="held_out", columns="source", values="auc")
        matrix = matrix.reindex(index=[s for s in order if s in matrix.index], columns=order)
        unseen = group.loc[group["unseen"], AUC[0]].astype(float)
        factors = ", ".join(f"{f}={v}" for f, v in zip(GROUPING, key))
        text += f"\n## {factors}\n\n{to_markdown(matrix.reset_index(names='held out'), missing='-')}"
        text += f"\nMean AUC on unseen sources: {unseen.mean():.3f} ({unseen.notna().sum()} cells)\n"
    (out / "leave_one_out.md").write_text(text)
    return [out / "leave_one_out.csv", out / "leave_one_out.md"]
