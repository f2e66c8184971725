"""Model artifacts on disk: a joblib file plus a JSON sidecar, checked before every load."""

import hashlib
import json
from pathlib import Path

import joblib
import sklearn

from app.risk.model import ModelBundle
from app.risk.schema import FEATURES

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


class RegistryError(RuntimeError):
    """An artifact that must not be loaded (missing, altered, or built for other features)."""


def save(bundle: ModelBundle, directory: Path = ARTIFACTS) -> Path:
    """Write the artifact and its sidecar; the version embeds the artifact's sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    created = bundle.metadata["created_at"][:10].replace("-", "")
    staging = directory / "model-staging.joblib"
    bundle.version = ""
    joblib.dump(bundle, staging, compress=3)
    digest = hashlib.sha256(staging.read_bytes()).hexdigest()
    bundle.version = f"risk-{bundle.family.replace('_', '-')}-{created}-{digest[:8]}"
    path = directory / f"model-{bundle.version}.joblib"
    joblib.dump(bundle, path, compress=3)
    staging.unlink()
    sidecar = {
        **bundle.metadata,
        "version": bundle.version,
        "artifact_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    (directory / f"model-{bundle.version}.json").write_text(
        json.dumps(sidecar, indent=1, default=str)
    )
    return path


def sidecar(version: str, directory: Path = ARTIFACTS) -> dict:
    """The metadata written next to an artifact."""
    path = directory / f"model-{version}.json"
    if not path.exists():
        raise RegistryError(f"no model {version} in {directory}")
    return json.loads(path.read_text())


def load(version: str, directory: Path = ARTIFACTS) -> ModelBundle:
    """Load a model after checking its sha256, scikit-learn version and feature list."""
    meta = sidecar(version, directory)
    path = directory / f"model-{version}.joblib"
    if (
        not path.exists()
        or hashlib.sha256(path.read_bytes()).hexdigest() != meta["artifact_sha256"]
    ):
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
    bundle = joblib.load(path)  # noqa: S301 - our own artifact, sha256-verified above
    if bundle.version != version:
        raise RegistryError(f"artifact {path.name} holds {bundle.version}")
    return bundle


def default_version(directory: Path = ARTIFACTS) -> str:
    """The version shipped with the code (used until an admin activates another)."""
    return (directory / "DEFAULT").read_text().strip()


def versions(directory: Path = ARTIFACTS) -> list[str]:
    """Every model version on disk, oldest first."""
    return sorted(path.stem.removeprefix("model-") for path in directory.glob("model-*.json"))
