"""pricing_ai's domain errors."""

from __future__ import annotations

from core.errors import Conflict, Invalid, NotFound


class NotEnoughData(Invalid):
    """Too little history to fit a model that means anything."""

    code = "not_enough_data"


class ArtifactMismatch(Invalid):
    """A saved model does not fit the data it is asked to score (a feature is missing)."""

    code = "artifact_mismatch"


class ModelNotFound(NotFound):
    code = "model_not_found"


class GuardrailNotFound(NotFound):
    code = "guardrail_not_found"


class GuardrailExists(Conflict):
    code = "guardrail_exists"


class InvalidCampaign(Invalid):
    code = "invalid_campaign"


class TrainingRunning(Conflict):
    code = "training_running"
