"""The saved model's model-from-code file: MLflow runs it at load, so only the Detector is pickled."""

import mlflow.models

from jpegai_fd.model.pyfunc import DetectorModel

mlflow.models.set_model(DetectorModel())
