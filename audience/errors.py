"""Audience's business errors, each with a stable code the web cabinet relies on."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, Invalid, NotFound


class InvalidRule(Invalid):
    """A segment rule that cannot be evaluated. `path` names the offending node in the
    rule tree (`all[2].any[0]`; empty for the root), `reason` says what is wrong with it."""

    code = "invalid_rule"

    def __init__(self, path: str, reason: str) -> None:
        where = path or "the root"
        key = f"rule.{path}" if path else "rule"
        super().__init__(f"Invalid rule at {where}: {reason}", errors={key: reason})
        self.path = path
        self.reason = reason


class InvalidFeatureConfig(Invalid):
    code = "invalid_feature_config"


class InvalidScores(Invalid):
    code = "invalid_scores"


class NoFeatures(Conflict):
    """No feature build has been published yet, so there is nothing to count."""

    code = "no_features"


class BuildRunning(Conflict):
    code = "feature_build_running"


class SegmentNotFound(NotFound):
    code = "segment_not_found"


class SegmentVersionNotFound(NotFound):
    code = "segment_version_not_found"


class MaterialisationNotFound(NotFound):
    code = "materialisation_not_found"


class SegmentArchived(Conflict):
    code = "segment_archived"


class AudienceTooSmall(Invalid):
    """A segment below the retailer's minimum audience size cannot be used for a campaign."""

    code = "audience_too_small"


class SegmentNotEditable(Forbidden):
    """Retailer staff may read every organisation's segments but change only their own."""

    code = "segment_not_editable"
