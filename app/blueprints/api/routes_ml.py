"""The risk model over the API: a what-if assessment, and listings matched to a lender."""

from flask import current_app

from app.extensions import db
from app.models import Role, User
from app.services.lending import recommendations, underwriting

from .routes import NotFound, api_user, bearer_required, bp, owned_or_404
from .routes_loans import loan_view
from .schemas import ApplicationSchema, MatchListSchema, RiskAssessmentSchema


@bp.route("/ml/assess-risk", methods=["POST"])
@bearer_required()
@bp.arguments(ApplicationSchema)
@bp.response(200, RiskAssessmentSchema)
@bp.doc(summary="Score an application without applying: score, grade, PD, reasons, rate")
def assess_risk(application: dict):
    result = underwriting.estimate(
        db.session,
        application,
        term_months=application["term_months"],
        use_ml=current_app.config["ENABLE_ML_SCORING"],
    )
    return {
        "risk_score": result.risk_score,
        "grade": result.grade,
        "probability_of_default": result.probability_of_default,
        "recommended_rate": result.interest_rate,
        "approved": result.approved,
        "scorer": result.scorer,
        "model_version": result.model_version,
        "risk_factors": result.reasons,
    }


@bp.route("/ml/loan-matching/<int:user_id>", methods=["GET"])
@bearer_required(Role.LENDER, Role.ADMIN)
@bp.response(200, MatchListSchema)
@bp.alt_response(404, description="No such lender (or not you)")
@bp.doc(summary="Open listings ranked for a lender's saved preferences (yourself, or any as admin)")
def loan_matching(user_id: int):
    viewer = api_user()
    lender = owned_or_404(User, user_id, "id", "lender")
    if lender.role is not Role.LENDER:
        raise NotFound("No such lender.")
    preference = recommendations.preference_of(db.session, lender.id)
    return {
        "matches": [
            {
                "loan": loan_view(loan, viewer),
                "score": match.score,
                "reasons": match.reasons,
                "expected_return_percent": match.expected_return_percent,
            }
            for match, loan in recommendations.for_lender(db.session, preference)
        ]
    }
