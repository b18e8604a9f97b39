"""The model-from-code file of the saved MLflow model (copied into it by :func:`.pyfunc.save_detector`):
MLflow runs it at load to get the Python model, so nothing of the class is pickled, only the Detector."""

import mlflow.models

from jpegai_fd.model.pyfunc import DetectorModel

mlflow.models.set_model(DetectorModel())
