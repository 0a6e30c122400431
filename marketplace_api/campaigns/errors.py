"""Campaigns' business errors, each with a stable code the web cabinet relies on."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, Invalid, NotFound


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class InvalidCampaign(Invalid):
    """A campaign that breaks a business rule; `errors` names every offending field."""

    code = "invalid_campaign"


class WrongStatus(Conflict):
    """The campaign's status does not allow this step (e.g. launching an unapproved one)."""

    code = "campaign_status_conflict"


class AudienceTooSmall(Conflict):
    """The segment has fewer shoppers than the retailer's minimum audience size now."""

    code = "audience_too_small"


class NotOwner(Forbidden):
    """Only the owner organisation's managers may change or launch a campaign."""

    code = "not_campaign_owner"


class InvalidUpload(Invalid):
    """A campaign file that cannot be read at all (not the per-row problems: a report)."""

    code = "invalid_upload"
