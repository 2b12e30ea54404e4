"""edgevision: train an image classifier, export a verified bundle, run and measure it on a device.

The top-level package holds only what a device needs (no torch): the input contract, the
preprocessing, the bundle manifest and the error types. Training and export live in
``edgevision.training`` and ``edgevision.export`` and import torch themselves.
"""

__version__ = "0.1.0"
