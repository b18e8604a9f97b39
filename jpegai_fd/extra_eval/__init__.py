"""Extra test sets, perturbations and other rates: :mod:`.plan` (what), :mod:`.run` (how), :mod:`.report`."""

from jpegai_fd.extra_eval.plan import ExtraPlan, load_source, load_test_split
from jpegai_fd.extra_eval.run import ExtraResult, Scorer, evaluate_extras, extract_extras

__all__ = ["ExtraPlan", "ExtraResult", "Scorer", "evaluate_extras", "extract_extras", "load_source"]
__all__ += ["load_test_split"]
