"""HTTP routes of notifications: an organisation's in-app messages, read by its users.

Every user sees the notifications of their own organisation only (retailer staff too: the
retailer's own); another organisation's notification answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from marketplace_api.deps import (
    CurrentUser,
    DbSession,
    PathId,
    get_current_user,
    require_roles,
)
from marketplace_api.identity.models import Role
from marketplace_api.listing import ListQuery, ListSpec, equals, fetch_page, is_null
from marketplace_api.notifications import service as notifications
from marketplace_api.notifications.models import Notification
from marketplace_api.notifications.schemas import NotificationRead, UnreadCount

EVERY_ROLE = tuple(Role)
router = APIRouter(tags=["notifications"], dependencies=[Depends(get_current_user)])

NOTIFICATIONS = ListSpec(
    resource="notifications", key=(Notification.id.desc(),),
    sortable={"id": Notification.id, "created_at": Notification.created_at,
              "kind": Notification.kind, "read_at": Notification.read_at},
    filters={"id": equals(Notification.id), "kind": equals(Notification.kind),
             "campaign_id": equals(Notification.campaign_id),
             "unread": is_null(Notification.read_at)},
)


@router.get("/notifications", response_model=list[NotificationRead],
            dependencies=[Depends(require_roles(*EVERY_ROLE))])
def list_notifications(db: DbSession, user: CurrentUser, params: ListQuery,
                       response: Response) -> list[Notification]:
    """Newest first unless sorted otherwise; `filter={"unread": true}` for the unread."""
    statement = notifications.select_notifications(organisation_id=user.organisation_id)
    return fetch_page(db=db, statement=statement, params=params, spec=NOTIFICATIONS,
                      response=response)


@router.get("/notifications/unread-count", response_model=UnreadCount,
            dependencies=[Depends(require_roles(*EVERY_ROLE))])
def unread_count(db: DbSession, user: CurrentUser) -> UnreadCount:
    """For the bell in the cabinet's header."""
    return UnreadCount(unread=notifications.unread_count(
        db=db, organisation_id=user.organisation_id))


@router.get("/notifications/{notification_id}", response_model=NotificationRead,
            dependencies=[Depends(require_roles(*EVERY_ROLE))])
def get_notification(db: DbSession, user: CurrentUser, notification_id: PathId) -> Notification:
    return notifications.get_notification(db=db, notification_id=notification_id,
                                          organisation_id=user.organisation_id)


@router.post("/notifications/{notification_id}/read", response_model=NotificationRead,
             dependencies=[Depends(require_roles(*EVERY_ROLE))])
def mark_read(db: DbSession, user: CurrentUser, notification_id: PathId) -> Notification:
    notification = notifications.get_notification(db=db, notification_id=notification_id,
                                                  organisation_id=user.organisation_id)
    return notifications.mark_read(db=db, notification=notification, user_id=user.id)
