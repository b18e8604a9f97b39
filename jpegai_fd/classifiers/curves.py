"""Training curves of a fitted estimator (its ``curves_``: name -> value per epoch or round), logged
into the job's MLflow run as metric histories plus one figure."""

from __future__ import annotations


def log_training_curves(run, model, prefix: str) -> None:
    """Log each curve of ``model.curves_`` as the metric ``prefix/name`` (step = epoch or round) and
    ``figures/<prefix>_curves.png`` through ``run`` (a :class:`jpegai_fd.tracking.TrackedRun`);
    estimators without curves log nothing."""
    curves = getattr(model, "curves_", None)
    if not curves:
        return
    for name, values in curves.items():
        run.log_series(f"{prefix}/{name}", values, range(len(values)))
    summary = ", ".join(f"best {k[:-1]} {v}" for k, v in vars(model).items() if k in ("best_epoch_", "best_iteration_"))
    run.log_figure(curves_figure(curves, f"{prefix}: {summary}"), f"figures/{prefix}_curves.png")


def curves_figure(curves: dict[str, list[float]], title: str):
    """Loss curves on the left axis, accuracy curves (names containing 'acc') on the right one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    acc_ax = None
    for name, values in curves.items():
        if "acc" in name:
            acc_ax = acc_ax or ax.twinx()
            acc_ax.plot(values, "--", label=name)
        else:
            ax.plot(values, label=name)
    ax.set_xlabel("epoch / round")
    ax.set_ylabel("loss")
    handles = ax.get_legend_handles_labels()
    if acc_ax is not None:
        acc_ax.set_ylabel("accuracy")
        more = acc_ax.get_legend_handles_labels()
        handles = (handles[0] + more[0], handles[1] + more[1])
    ax.legend(*handles, fontsize=7)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
