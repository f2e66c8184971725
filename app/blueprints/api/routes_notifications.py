"""Notifications over the API: what the bell shows, with each one's facts as data."""

from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from app.extensions import db
from app.models import Notification

from .fields import CamelSchema
from .routes import api_user, bearer_required, bp


class NotificationSchema(CamelSchema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    data = fields.Dict(
        allow_none=True,
        metadata={"description": 'the facts the message states; money as strings ("12.50")'},
    )
    read_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class NotificationListSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema))


class NotificationQuerySchema(CamelSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


@bp.route("/notifications", methods=["GET"])
@bearer_required()
@bp.arguments(NotificationQuerySchema, location="query", unknown=RAISE)
@bp.response(200, NotificationListSchema)
@bp.doc(summary="Your notifications, newest first")
def notifications_index(query: dict):
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == api_user().id)
        .order_by(Notification.id.desc())
        .limit(query["limit"])
    ).all()
    return {"notifications": rows}
