"""Model artifacts: one folder per trained version holding the fitted estimators
(`models.joblib`), what serving needs to score shoppers without re-reading receipts
(`serving.joblib`), and a JSON manifest (name, version, metrics, data window, feature
lists, library versions). Loading refuses an artifact whose features the running code
cannot build, rather than scoring with a silently different input."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from pricing_ai import training
from pricing_ai.errors import ArtifactMismatch
from pricing_ai.training import FittedModels

MANIFEST = "manifest.json"
MODELS_FILE = "models.joblib"
SERVING_FILE = "serving.joblib"
FORMAT_VERSION = 1


def feature_lists() -> dict[str, list[str]]:
    """The features the running code builds for each model."""
    return {"response": list(training.RESPONSE_FEATURES),
            "cherry_picker": list(training.CHERRY_FEATURES),
            "wallet": list(training.WALLET_FEATURES)}


@dataclass
class Artifact:
    models: FittedModels
    manifest: dict[str, Any]
    serving: Any | None  # scoring.ServingState, when saved with one
    path: Path


def _library_versions() -> dict[str, str]:
    import lightgbm
    import numpy
    import sklearn

    return {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__}


def save(models: FittedModels, folder: Path, *, name: str, version: int,
         serving: Any | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump({"response": models.response, "cherry_picker": models.cherry,
                 "wallet": models.wallet, "response_sigma": models.response_sigma,
                 "forecast_calibration": models.forecast_calibration},
                folder / MODELS_FILE, compress=3)
    if serving is not None:
        joblib.dump(serving, folder / SERVING_FILE, compress=3)
    manifest = {
        "format": FORMAT_VERSION, "name": name, "version": version,
        "metrics": models.metrics, "data_window": models.window,
        "features": {key: [str(f) for f in estimator.feature_names_in_] for key, estimator in
                     (("response", models.response), ("cherry_picker", models.cherry),
                      ("wallet", models.wallet))},
        "response_sigma": models.response_sigma, "libraries": _library_versions(),
        "serving": serving is not None,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=float) + "\n",
                                   encoding="utf-8")
    return folder


def load(folder: Path, *, available: Mapping[str, Sequence[str]] | None = None,
         with_serving: bool = True) -> Artifact:
    """The artifact in `folder`; ArtifactMismatch when a model needs a feature that
    `available` (by default what this code builds) lacks, or the files disagree."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise ArtifactMismatch(f"No model artifact in {folder}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise ArtifactMismatch(f"Unsupported artifact format {manifest.get('format')!r}")
    available = feature_lists() if available is None else available
    for model, needed in manifest["features"].items():
        missing = sorted(set(needed) - set(available.get(model, ())))
        if missing:
            raise ArtifactMismatch(
                f"Model {manifest['name']} v{manifest['version']} ({model}) needs features "
                f"that are not available: {', '.join(missing)}",
                errors={"features": ", ".join(missing)})
    saved = joblib.load(folder / MODELS_FILE)
    for model, estimator in (("response", saved["response"]),
                             ("cherry_picker", saved["cherry_picker"]),
                             ("wallet", saved["wallet"])):
        if list(estimator.feature_names_in_) != list(manifest["features"][model]):
            raise ArtifactMismatch(f"The {model} model's features differ from the manifest")
    models = FittedModels(response=saved["response"], cherry=saved["cherry_picker"],
                          wallet=saved["wallet"], metrics=manifest["metrics"],
                          window=manifest["data_window"],
                          response_sigma=float(saved["response_sigma"]),
                          forecast_calibration=saved.get("forecast_calibration"))
    serving = None
    if with_serving and (folder / SERVING_FILE).exists():
        serving = joblib.load(folder / SERVING_FILE)
    return Artifact(models=models, manifest=manifest, serving=serving, path=folder)
