"""Model artifacts: a joblib file plus a JSON sidecar, checked before every load.

The model shipped with the code lives on disk here; models trained later are kept as bytes in
the database (services/platform/risk_models.py), so every node loads the same one. Both go
through `to_bytes` and `from_bytes`, which make and check the version, digest and features.
"""

import hashlib
import io
import json
from pathlib import Path

import joblib
import sklearn

from app.risk.model import ModelBundle
from app.risk.schema import FEATURES

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


class RegistryError(RuntimeError):
    """An artifact that must not be loaded (missing, altered, or built for other features)."""


def to_bytes(bundle: ModelBundle) -> tuple[bytes, dict]:
    """The artifact and its sidecar; the version (set on `bundle`) embeds the digest."""
    created = bundle.metadata["created_at"][:10].replace("-", "")
    bundle.version = ""
    digest = hashlib.sha256(_dumped(bundle)).hexdigest()
    bundle.version = f"risk-{bundle.family.replace('_', '-')}-{created}-{digest[:8]}"
    data = _dumped(bundle)
    sidecar = json.loads(json.dumps(
        {**bundle.metadata, "version": bundle.version,
         "artifact_sha256": hashlib.sha256(data).hexdigest()},
        default=str,
    ))  # fmt: skip
    return data, sidecar


def from_bytes(version: str, data: bytes | None, meta: dict) -> ModelBundle:
    """The model in `data` after checking its sha256, scikit-learn version and features."""
    if data is None or hashlib.sha256(data).hexdigest() != meta["artifact_sha256"]:
        raise RegistryError(f"artifact of {version} is missing or does not match its sha256")
    if meta["sklearn_version"] != sklearn.__version__:
        raise RegistryError(
            f"{version} was built with scikit-learn {meta['sklearn_version']}, "
            f"this is {sklearn.__version__}: retrain it"
        )
    if tuple(meta["features"]) != FEATURES:
        raise RegistryError(
            f"{version} uses features {meta['features']}, the app uses {list(FEATURES)}"
        )
    bundle = joblib.load(io.BytesIO(data))  # noqa: S301 - our own artifact, sha256-verified
    if bundle.version != version:
        raise RegistryError(f"artifact of {version} holds {bundle.version}")
    return bundle


def _dumped(bundle: ModelBundle) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(bundle, buffer, compress=3)
    return buffer.getvalue()


def save(bundle: ModelBundle, directory: Path = ARTIFACTS) -> Path:
    """Write the artifact and its sidecar to disk (the shipped model; `flask risk train`)."""
    directory.mkdir(parents=True, exist_ok=True)
    data, sidecar = to_bytes(bundle)
    path = directory / f"model-{bundle.version}.joblib"
    path.write_bytes(data)
    (directory / f"model-{bundle.version}.json").write_text(json.dumps(sidecar, indent=1))
    return path


def sidecar(version: str, directory: Path = ARTIFACTS) -> dict:
    """The metadata written next to an artifact."""
    path = directory / f"model-{version}.json"
    if not path.exists():
        raise RegistryError(f"no model {version} in {directory}")
    return json.loads(path.read_text())


def load(version: str, directory: Path = ARTIFACTS) -> ModelBundle:
    """Load a model from disk after checking its sha256, scikit-learn version and features."""
    meta = sidecar(version, directory)
    path = directory / f"model-{version}.joblib"
    return from_bytes(version, path.read_bytes() if path.exists() else None, meta)


def default_version(directory: Path = ARTIFACTS) -> str:
    """The version shipped with the code (used until an admin activates another)."""
    return (directory / "DEFAULT").read_text().strip()


def versions(directory: Path = ARTIFACTS) -> list[str]:
    """Every model version on disk, oldest first."""
    return sorted(path.stem.removeprefix("model-") for path in directory.glob("model-*.json"))
