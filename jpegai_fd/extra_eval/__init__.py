"""Beyond the training distribution: extra test sets, perturbation conditions and other rates.
:mod:`.plan` (what, checked), :mod:`.run` (how), :mod:`.report` (the run's table and charts)."""

from jpegai_fd.extra_eval.plan import ExtraPlan, load_test_split
from jpegai_fd.extra_eval.run import ExtraResult, Latents, Scorer, evaluate_extras, extract_extras

__all__ = ["ExtraPlan", "ExtraResult", "Latents", "Scorer", "evaluate_extras", "extract_extras", "load_test_split"]
