"""The device side (runtime, live loop, bench, their CLI commands) works with torch absent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

DEVICE_PACKAGES = ("edgevision.runtime", "edgevision.live", "edgevision.benchmark")
DEVICE_COMMANDS = ("edgevision.cli.live", "edgevision.cli.bench", "edgevision.cli.report")

# Runs in a fresh interpreter in which any attempt to import torch (or torchvision, timm)
# fails as it would on a device where it was never installed.
PROBE = textwrap.dedent(
    """
    import importlib, importlib.abc, json, pkgutil, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "torchvision", "timm"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTorch())
    packages, commands, bundle = json.loads(sys.argv[1])
    imported = []
    for name in packages:
        package = importlib.import_module(name)
        imported.append(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            importlib.import_module(info.name)
            imported.append(info.name)
    for name in commands:
        importlib.import_module(name)
        imported.append(name)

    from edgevision.images import load_image, list_images
    from edgevision.predict import Classifier
    from edgevision.runtime import open_runtime

    classifier = Classifier(open_runtime(bundle))
    sample = list_images(sys.argv[2])[0]
    top1 = classifier.predict(load_image(sample)).top1
    print(json.dumps({"imported": imported, "top1": top1,
                      "torch_loaded": "torch" in sys.modules}))
    """
)


def test_device_side_runs_without_torch(foreign_bundle, shared_data):
    args = json.dumps([DEVICE_PACKAGES, DEVICE_COMMANDS, str(foreign_bundle)])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, args, str(shared_data / "imagenet_samples")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch_loaded"] is False
    assert "edgevision.runtime.onnxruntime_backend" in result["imported"]
    assert "edgevision.runtime.openvino_backend" in result["imported"]
    assert any(name.startswith("edgevision.live.") for name in result["imported"])
    assert any(name.startswith("edgevision.benchmark.") for name in result["imported"])
    assert result["top1"] == "Egyptian cat"  # cat_720p.jpg sorts first
