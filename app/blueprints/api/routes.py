"""JSON API v1 (token-authenticated; grows in the API issue)."""

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/")
def index():
    """What this API is and where its parts are."""
    return jsonify(name="CommunityLend API", version="v1", status="preview")
