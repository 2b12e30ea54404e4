"""Fine-tuning classification models on image folders (needs the ``train`` extra: torch).

``train(TrainConfig(...))`` runs the default transfer-learning recipe and writes a run folder
with the best and last checkpoints, the resolved config, per-epoch metrics and pictures.
"""

from edgevision.errors import missing_extra

try:
    import torch  # noqa: F401
except ModuleNotFoundError as err:  # pragma: no cover - depends on the install
    raise missing_extra("torch", "train") from err

from edgevision.training.config import TrainConfig
from edgevision.training.run import Callbacks, TrainResult, train

__all__ = ["Callbacks", "TrainConfig", "TrainResult", "train"]
