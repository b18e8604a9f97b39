"""How many bad images (screened out or unreadable) a job tolerates: ``dataset.max_bad_fraction`` of a
split's listing. The count only grows, so extraction stops as soon as the limit is passed."""

from __future__ import annotations

from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.errors import UserError


def check_bad_fraction(split: DatasetSplit, unreadable: list[tuple[str, str]], max_fraction: float | None) -> None:
    """Raise UserError when skipped + ``unreadable`` ((path, reason) pairs) exceed ``max_fraction`` of
    the listing; ``None`` disables the check."""
    if max_fraction is None:
        return
    bad = [(s.path, s.reason) for s in split.skipped] + list(unreadable)
    total = len(split) + len(split.skipped)
    if total and len(bad) > max_fraction * total:
        path, reason = bad[0]
        raise UserError(
            f"{len(bad)} of {total} images of split '{split.name}' are bad (more than "
            f"dataset.max_bad_fraction={max_fraction}), e.g. '{path}': {reason}; fix the dataset "
            f"or raise dataset.max_bad_fraction (the log lists every bad image)"
        )
