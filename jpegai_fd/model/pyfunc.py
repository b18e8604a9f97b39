"""The MLflow model of a job: a pyfunc wrapper around a pickled :class:`~.detector.Detector`; its input and output
columns, and why a served model refuses paths: docs/how-to/predict.md."""

import base64
import binascii
import io
import json
import os
import pickle
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.entities import LoggedModelOutput
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, Schema
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_MODELS
from PIL import Image

from jpegai_fd.model.detector import Detector, Predictor

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "path", required=False), ColSpec("binary", "image", required=False)]),
    outputs=Schema([ColSpec("double", "p_fake"), ColSpec("string", "label"), ColSpec("string", "status")]),
)
SERVE_PATHS = "JPEGAI_FD_SERVE_PATHS"
REFUSED = f"refused: send the image's bytes in 'image' (paths need {SERVE_PATHS}=1 on the server)"
# Installed distributions whose versions the model records (the ones its pickle and code need).
REQUIREMENTS = tuple(
    "jpegai_fd mlflow numpy pandas scikit-learn hydra-core omegaconf zarr pillow lightgbm torch".split()
)


def predict_frame(predictor: Predictor, model_input) -> pd.DataFrame:
    frame, todo = pd.DataFrame(model_input), {}  # row -> path or bytes to score
    served = "mlflow.pyfunc.scoring_server" in sys.modules  # loaded by `mlflow models serve` only
    out, absent = [None] * len(frame), [None] * len(frame)
    for i, (image, path) in enumerate(zip(frame.get("image", absent), frame.get("path", absent))):
        if isinstance(image, (bytes, bytearray)):
            todo[i] = image
        elif isinstance(image, str) and image:  # base64 text, e.g. from JSON built without the schema
            try:
                todo[i] = base64.b64decode(image)
            except (binascii.Error, ValueError):
                out[i] = (None, "", "unreadable: image is not base64 text")
        elif isinstance(path, str) and path and served and os.environ.get(SERVE_PATHS) != "1":
            out[i] = (None, "", REFUSED)
        elif isinstance(path, str) and path:
            todo[i] = path
        else:
            out[i] = (None, "", "no path or image")
    for i, result in zip(todo, predictor.predict(list(todo.values()))):
        out[i] = result
    frame = pd.DataFrame(out, columns=["p_fake", "label", "status"]).astype({"p_fake": "float64"})
    if (skipped := frame["p_fake"].isna()).any():  # NaN is not JSON: a skipped row's p_fake is null
        frame["p_fake"] = frame["p_fake"].astype(object).where(~skipped, None)
    return frame


class DetectorModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        detector = pickle.loads(Path(context.artifacts["detector"]).read_bytes())
        self.predictor = Predictor(detector, dict((context.model_config or {}).get("encoder") or {}))

    # A DataFrame hint: MLflow then takes the input schema from SIGNATURE (and stops asking for hints).
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predict_frame(self.predictor, model_input)


def requirements(names=REQUIREMENTS) -> list[str]:
    """``name==version`` of each installed distribution in ``names`` (absent ones left out)."""
    installed = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    return [f"{name}=={installed[name]}" for name in names if name in installed]


def input_example(image_size: int) -> pd.DataFrame:
    """One mid-grey PNG of the model's size in the ``image`` column."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((image_size, image_size, 3), 128, dtype=np.uint8)).save(buffer, format="PNG")
    return pd.DataFrame({"image": [buffer.getvalue()]})


def save_detector(detector: Detector, path: str | Path) -> Path:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # artifacts are copied, not downloaded
    with tempfile.TemporaryDirectory(prefix="jfd_model_") as tmp:
        pickled, card = Path(tmp) / "detector.pkl", Path(tmp) / "detector.json"
        pickled.write_bytes(pickle.dumps(detector, protocol=pickle.HIGHEST_PROTOCOL))
        card.write_text(json.dumps(detector.card(), indent=2, default=str))
        model = dict(python_model=str(Path(__file__).with_name("served.py")), signature=SIGNATURE)
        model |= dict(artifacts={"detector": str(pickled), "card": str(card)}, pip_requirements=requirements())
        example = input_example(int(detector.reader["image_size"]))
        # model_config: the key load-time overrides may replace
        mlflow.pyfunc.save_model(str(path), input_example=example, model_config={"encoder": {}}, **model)
    return Path(path)


def log_detector(run, detector: Detector, tags: dict[str, str] | None = None) -> None:
    """Save ``detector`` as the run's ``model/`` artifacts and as an MLflow 3 logged model tagged ``tags``."""
    path = save_detector(detector, run.artifact_dir / "model")
    if run.run_id is None:  # no server at the start: jpegai_fd.cli.sync uploads model/ later, under a new run id
        return
    model = Model.load(str(path))
    model.run_id, model.artifact_path = run.run_id, "model"
    # The run's model history tag, as mlflow's log_model writes it: older UIs list the run's model from it.
    run.set_tags({MLFLOW_LOGGED_MODELS: json.dumps([model.get_tags_dict()])})
    made: list = []
    # Not "model": MLflow 3 would then resolve runs:/<id>/model to it instead of the run's folder.
    what = {"name": "detector", "source_run_id": run.run_id, "tags": tags or {}, "model_type": "detector"}
    run.guarded(lambda: made.append(run.client.create_logged_model(run.run.info.experiment_id, **what)))
    if not made:
        return
    model_id = made[0].model_id
    run.guarded(run.client.log_model_artifacts, model_id, str(path))
    run.guarded(run.client.finalize_logged_model, model_id, "READY")
    run.guarded(run.client.log_outputs, run.run_id, [LoggedModelOutput(model_id, 0)])
    run.set_tags({"jpegai_fd.model_id": model_id})
