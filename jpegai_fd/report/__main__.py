"""`python -m jpegai_fd.report [--tracking-uri URI] [--experiment NAME] [--sweep latest|RUN_ID|NAME] [--out DIR]`

Reads the FINISHED job runs of an experiment (or of one sweep) from any tracking URI (sqlite file, http server,
PostgreSQL) and writes the results table, the timing table, the bar charts and the paired comparisons of runs on the
same test images; with ``--sweep`` it also logs them under ``report/`` of the sweep's parent run."""

import argparse
import sys
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from jpegai_fd.errors import UserError
from jpegai_fd.report.build import write_report
from jpegai_fd.report.comparisons import compare_runs
from jpegai_fd.report.runs import load_runs
from jpegai_fd.tracking.connection import add_tracking_uri, check_scheme, check_tracking_uri


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, object | None]:
    """The runs to report (untuned ones named on stderr and left out unless ``--include-untuned``), the parent."""
    runs, parent = load_runs(args.tracking_uri, args.experiment, args.sweep)
    untuned = runs[runs["untuned"].notna()] if len(runs) else runs
    if len(untuned) and not args.include_untuned:
        names = [
            f"{r.classifier}-{r.preprocess}-{r.component}-{r.latent}-bpp{r.bpp} ({r.run_id[:8]})"
            for r in untuned.head(5).itertuples()
        ]
        print(
            f"jpegai_fd.report: skipped {len(untuned)} run(s) without a search result (tuning.n_trials=0 or "
            f"no completed trial: tag warning.untuned or cv/best_score nan): {', '.join(names)}"
            f"{', ...' if len(untuned) > 5 else ''}; --include-untuned counts them",
            file=sys.stderr,
        )
        runs = runs.drop(untuned.index).reset_index(drop=True)
    if runs.empty:
        sweep = f" for sweep {args.sweep!r}" if args.sweep else ""
        raise UserError(f"no FINISHED job runs in experiment {args.experiment!r}{sweep} at {args.tracking_uri}")
    return runs, parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.report", description=__doc__.split("\n\n")[1])
    add_tracking_uri(parser)
    add = parser.add_argument
    add("--experiment", default="jpegai_fd")
    add("--sweep", help="latest, a parent run id or a sweep name (default: all runs)")
    add("--out", type=Path, help="output folder (default: reports/<experiment>[_<sweep run id>])")
    add("--no-log", action="store_true", help="do not log the files to the sweep's parent run")
    untuned = "also count runs without a search result (tuning.n_trials=0, tag warning.untuned)"
    add("--include-untuned", action="store_true", help=untuned)
    add("--alpha", type=float, default=0.05, help="significance level of the paired comparisons (default 0.05)")
    add("--resamples", type=int, default=1000, help="bootstrap resamples of the paired AUC comparison (default 1000)")
    args = parser.parse_args(argv)
    try:
        if not 0 < args.alpha < 1 or args.resamples < 1:
            raise UserError(
                f"--alpha {args.alpha:g} / --resamples {args.resamples}: use an alpha strictly between 0 and 1 "
                "(e.g. 0.05) and at least 1 resample (e.g. 1000)"
            )
        check_scheme("--tracking-uri", args.tracking_uri)
        check_tracking_uri(args.tracking_uri)
        runs, parent = _load(args)
    except UserError as exc:
        print(f"jpegai_fd.report: error: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path("reports") / (args.experiment + (f"_{parent.info.run_id[:8]}" if parent else ""))
    title = parent.info.run_name if parent else f"experiment {args.experiment}"
    comparisons = compare_runs(args.tracking_uri, runs, alpha=args.alpha, n_resamples=args.resamples)
    files = write_report(runs, out, title, comparisons)
    if log_to := parent is not None and not args.no_log:
        MlflowClient(args.tracking_uri).log_artifacts(parent.info.run_id, str(out), "report")
    logged = f"; logged to run {parent.info.run_id}" if log_to else ""
    print(f"report of {len(runs)} runs written to {out}: {', '.join(f.name for f in files)}{logged}")
    if (out / "leave_one_out.md").is_file():
        print((out / "leave_one_out.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
