"""Shared fixtures: the real test data beside the repository, and bundles built once per session.

Fixtures that need torch live in ``_fixtures_train.py`` and ``_fixtures_export.py`` and are
re-exported here; they skip cleanly when the train extra is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sample_data import make_foreign_mobilenet_bundle

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EDGEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only folder of real photos, videos and weights (see its README)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data not found at {SHARED_DATA}; set EDGEVISION_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def foreign_bundle(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ready bundle that needs no torch: ImageNet MobileNet V2 (quantized), 1001 labels."""
    return make_foreign_mobilenet_bundle(shared_data, tmp_path_factory.mktemp("foreign") / "bundle")


# Torch-backed session fixtures (hymenoptera_checkpoint, hymenoptera_bundle, imagenet_bundle...);
# each skips its tests when the train extra is not installed.
from _fixtures_export import *  # noqa: E402, F403
from _fixtures_train import *  # noqa: E402, F403
