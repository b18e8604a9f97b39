"""The :class:`Detector` of a job, from its composed config and its built, fitted parts."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from jpegai_fd.model.decision import Decision
from jpegai_fd.model.detector import Detector


def job_detector(cfg: DictConfig, parts, estimator, decision: Decision, info: dict | None = None) -> Detector:
    """Record the resolved encoder and preprocess configs (plain dicts with ``_target_``), ``bpp``,
    component, latent, the dataset's reader settings and the encoder's fingerprint with ``estimator``."""
    return Detector(
        encoder=OmegaConf.to_container(cfg.encoder, resolve=True),
        preprocess=OmegaConf.to_container(cfg.preprocess, resolve=True),
        bpp=int(cfg.bpp),
        component=str(cfg.component),
        latent=str(cfg.latent),
        reader=parts.dataset.reader.settings(),
        fingerprint=parts.encoder.fingerprint(),
        estimator=estimator,
        decision=decision,
        info=dict(info or {}),
    )
