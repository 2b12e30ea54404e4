"""The bundle: a folder of model files plus ``manifest.json``, the workstation → device contract.

This module reads and validates bundles and writes manifests; it never imports torch. Export
builds a bundle in a temporary sibling folder and renames it into place (see
:func:`edgevision.fsutil.replace_dir`), so a reader never sees a half-written bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgevision import __version__
from edgevision.contract import InputContract, OutputContract
from edgevision.errors import BundleError

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
FORMATS = ("onnx", "openvino", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass
class Variant:
    """One model artifact of a bundle: a format at a precision.

    Attributes:
        name: Unique name within the bundle, e.g. ``"onnx-fp32"``.
        format: ``"onnx"``, ``"openvino"`` (IR .xml + .bin) or ``"tensorrt"`` (engine built on
            the device from an ONNX file).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"``.
        file: Main model file, relative to the bundle folder.
        sha256: Digest of every file of the variant (main file and side files), by relative path.
        batch: ``{"min": m, "max": n}`` batch sizes the artifact accepts.
        details: Format-specific facts (opset, tool versions, calibration, trtexec command...).
        fidelity: Results of the checks against the PyTorch model, written by export.
    """

    name: str
    format: str
    precision: str
    file: str
    sha256: dict[str, str] = field(default_factory=dict)
    batch: dict[str, int] = field(default_factory=lambda: {"min": 1, "max": 1})
    details: dict[str, Any] = field(default_factory=dict)
    fidelity: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form stored in the manifest."""
        return {
            "name": self.name,
            "format": self.format,
            "precision": self.precision,
            "file": self.file,
            "sha256": dict(self.sha256),
            "batch": dict(self.batch),
            "details": self.details,
            "fidelity": self.fidelity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        """Build a variant from its manifest form, validating types, paths and digests."""
        if not isinstance(data, dict):
            raise BundleError("manifest variants must be JSON objects")
        try:
            variant = cls(**data)
        except TypeError as err:
            raise BundleError(f"manifest variant is malformed: {err}") from err
        _check_types(
            f"variant {variant.name!r}",
            (
                ("name", variant.name, str),
                ("format", variant.format, str),
                ("precision", variant.precision, str),
                ("file", variant.file, str),
                ("sha256", variant.sha256, dict),
                ("batch", variant.batch, dict),
                ("details", variant.details, dict),
                ("fidelity", variant.fidelity, dict),
            ),
        )
        for rel in (variant.file, *variant.sha256):
            _check_inside(rel, variant.name)
        if variant.file not in variant.sha256:
            raise BundleError(
                f"variant {variant.name!r}: no sha256 recorded for {variant.file}; a bundle must "
                "list a digest for every model file (re-export it)"
            )
        if variant.format not in FORMATS:
            raise BundleError(f"variant {variant.name!r}: unknown format {variant.format!r}")
        if variant.precision not in PRECISIONS:
            raise BundleError(f"variant {variant.name!r}: unknown precision {variant.precision!r}")
        return variant


@dataclass
class Manifest:
    """Everything a device needs to know about a bundle besides the model bytes."""

    labels: list[str]
    input: InputContract
    output: OutputContract = field(default_factory=OutputContract)
    variants: list[Variant] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    edgevision_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form written to ``manifest.json``."""
        return {
            "schema_version": self.schema_version,
            "edgevision_version": self.edgevision_version,
            "labels": list(self.labels),
            "input": self.input.to_dict(),
            "output": self.output.to_dict(),
            "variants": [v.to_dict() for v in self.variants],
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Validate and build a manifest from its JSON form."""
        if not isinstance(data, dict):
            raise BundleError("manifest.json must hold a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BundleError(
                f"manifest schema_version {version!r} is not supported (this edgevision reads "
                f"{SCHEMA_VERSION}); re-export the bundle with this version"
            )
        for key in ("labels", "input", "variants"):
            if key not in data:
                raise BundleError(f"manifest.json lacks the required field {key!r}")
        for key, expected in (
            ("input", dict),
            ("variants", list),
            ("output", dict),
            ("provenance", dict),
        ):
            if key in data and not isinstance(data[key], expected):
                raise BundleError(
                    f"manifest.json field {key!r} must be a JSON "
                    f"{'object' if expected is dict else 'array'}"
                )
        labels = data["labels"]
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) for x in labels)
        ):
            raise BundleError("manifest labels must be a non-empty list of strings")
        manifest = cls(
            labels=labels,
            input=InputContract.from_dict(data["input"]),
            output=OutputContract.from_dict(data.get("output", {})),
            variants=[Variant.from_dict(v) for v in data["variants"]],
            provenance=data.get("provenance", {}),
            schema_version=version,
            edgevision_version=data.get("edgevision_version", "unknown"),
        )
        names = [v.name for v in manifest.variants]
        if len(set(names)) != len(names):
            raise BundleError(f"manifest variant names repeat: {names}")
        return manifest


@dataclass
class Bundle:
    """A bundle on disk: its folder and its validated manifest."""

    path: Path
    manifest: Manifest

    @property
    def labels(self) -> list[str]:
        return self.manifest.labels

    @property
    def contract(self) -> InputContract:
        return self.manifest.input

    def variant(
        self, name: str | None = None, *, format: str | None = None, precision: str | None = None
    ) -> Variant:
        """Pick a variant by name, or the first one matching format and precision.

        Raises:
            BundleError: No variant matches; the message lists those present.
        """
        for variant in self.manifest.variants:
            if name is not None and variant.name != name:
                continue
            if format is not None and variant.format != format:
                continue
            if precision is not None and variant.precision != precision:
                continue
            return variant
        present = ", ".join(v.name for v in self.manifest.variants) or "none"
        wanted = name or "/".join(x for x in (format, precision) if x) or "any"
        raise BundleError(f"bundle {self.path} has no variant {wanted}; it holds: {present}")

    def file(self, variant: Variant) -> Path:
        """Absolute path of a variant's main file."""
        return self.path / variant.file


def _check_types(where: str, fields: tuple[tuple[str, Any, type], ...]) -> None:
    for key, value, expected in fields:
        if not isinstance(value, expected):
            raise BundleError(
                f"manifest {where}: {key!r} must be a {expected.__name__}, "
                f"not {type(value).__name__}"
            )


def _check_inside(relative: str, variant: str) -> None:
    """Refuse file names that would reach outside the bundle folder."""
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts or not relative:
        raise BundleError(
            f"variant {variant!r}: file {relative!r} is not a path inside the bundle folder"
        )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_bundle(path: str | os.PathLike[str], *, verify: bool = True) -> Bundle:
    """Open a bundle folder and validate its manifest (and, with ``verify``, file digests).

    Raises:
        BundleError: The folder or manifest is missing or malformed, or a file is missing or
            does not match its recorded digest.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"bundle folder not found: {path}; create one with 'edgevision export'")
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{path} is not a bundle: {MANIFEST_NAME} is missing")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(
            f"{manifest_path} is not valid JSON ({err}); re-export the bundle"
        ) from err
    bundle = Bundle(path, Manifest.from_dict(data))
    if verify:
        verify_files(bundle)
    return bundle


def verify_files(bundle: Bundle) -> None:
    """Check that every variant's files exist and match the digests in the manifest."""
    for variant in bundle.manifest.variants:
        if not (bundle.path / variant.file).is_file():
            raise BundleError(
                f"bundle {bundle.path}: {variant.file} is missing (variant {variant.name})"
            )
        for rel, expected in variant.sha256.items():
            file = bundle.path / rel
            if not file.is_file():
                raise BundleError(
                    f"bundle {bundle.path}: {rel} is missing (variant {variant.name})"
                )
            if sha256_file(file) != expected:
                raise BundleError(
                    f"bundle {bundle.path}: {rel} does not match its sha256 in the manifest; "
                    "the file is corrupt or was changed, re-export or re-copy the bundle"
                )


def write_manifest(folder: str | os.PathLike[str], manifest: Manifest) -> Path:
    """Write ``manifest.json`` into ``folder`` (pretty-printed, UTF-8)."""
    target = Path(folder) / MANIFEST_NAME
    target.write_text(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return target
