"""The original design's risk model calls: a what-if assessment and listings matched to a
lender (twins in v1's routes_ml, on the same model and matching)."""

from decimal import Decimal

from flask import current_app, g
from marshmallow import Schema, fields, validate

from app.extensions import db
from app.models import APPLICATION_LIMITS as LIMITS
from app.models import EmploymentStatus, LoanPurpose, Role, User
from app.risk.features import FeatureError
from app.services.lending import recommendations, typical_facts, underwriting

from . import MoneyNumber, answer, bp, documented_errors, refused, signed_in_required


class OriginalAssessRequestSchema(Schema):
    userId = fields.Integer(  # noqa: N815 - the design's names
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "whose profile fills what is not sent: you, or anyone (admin)"},
    )
    loanAmount = MoneyNumber(required=True, high=LIMITS["amount"][1])  # noqa: N815
    termMonths = fields.Integer(required=True, validate=validate.Range(min=1, max=600))  # noqa: N815
    purpose = fields.String(
        required=True, validate=validate.OneOf([purpose.value for purpose in LoanPurpose])
    )
    annualIncome = MoneyNumber(high=LIMITS["annual_income"][1])  # noqa: N815
    creditScore = fields.Integer(validate=validate.Range(*LIMITS["credit_score"]))  # noqa: N815
    employmentStatus = fields.String(  # noqa: N815
        validate=validate.OneOf([status.value for status in EmploymentStatus])
    )


class OriginalRiskFactorsSchema(Schema):
    creditScore = fields.Integer()  # noqa: N815
    incomeStability = fields.String(allow_none=True)  # noqa: N815
    debtToIncome = fields.Decimal(as_string=False, metadata={"description": "percent"})  # noqa: N815
    loanAmount = fields.Decimal(as_string=False, metadata={"description": "percent of income"})  # noqa: N815


class OriginalAssessmentSchema(Schema):
    riskScore = fields.Integer()  # noqa: N815
    riskGrade = fields.String(allow_none=True, metadata={"description": "null: declined"})  # noqa: N815
    probabilityDefault = fields.Decimal(as_string=False)  # noqa: N815
    riskFactors = fields.Nested(OriginalRiskFactorsSchema)  # noqa: N815
    recommendedInterestRate = fields.Decimal(as_string=False, allow_none=True)  # noqa: N815
    reasons = fields.List(fields.String())
    assumed = fields.List(fields.String(), metadata={"description": "facts taken as typical"})


class OriginalAssessAnswerSchema(Schema):
    success = fields.Boolean()
    assessment = fields.Nested(OriginalAssessmentSchema)


class OriginalMatchSchema(Schema):
    loanId = fields.Integer()  # noqa: N815
    matchScore = fields.Integer(metadata={"description": "0-100"})  # noqa: N815
    reasons = fields.List(fields.String())


class OriginalMatchesSchema(Schema):
    success = fields.Boolean()
    matches = fields.List(fields.Nested(OriginalMatchSchema))


@bp.route("/ml/assess-risk", methods=["POST"])
@signed_in_required()
@bp.arguments(OriginalAssessRequestSchema)
@bp.response(200, OriginalAssessAnswerSchema)
@documented_errors(401, 404, 422)
@bp.doc(
    summary="Score a loan without applying (twin: POST /api/v1/ml/assess-risk)",
    description="Income and credit score come from the request, else from the person's "
    "profile, else typical values; the model's other facts are typical. `assumed` lists "
    "every fact not from the request or the profile. The employment status is reported as "
    "incomeStability; the model does not score it.",
)
def assess_risk(body: dict):
    person = _subject(body.get("userId"))
    if person is None:
        return refused(404, "No such user.")
    income = body.get("annualIncome") or person.annual_income
    score = body.get("creditScore") or person.credit_score
    facts, assumed = typical_facts.credit_facts(income, score)
    application = {"amount": body["loanAmount"], "purpose": body["purpose"], **facts}
    try:
        result = underwriting.estimate(
            db.session,
            application,
            term_months=body["termMonths"],
            use_ml=current_app.config["ENABLE_ML_SCORING"],
        )
    except FeatureError as error:
        return refused(422, str(error))
    status = body.get("employmentStatus") or (
        person.employment_status.value if person.employment_status else None
    )
    return answer(assessment=_assessment(result, facts, body["loanAmount"], status, assumed))


def _subject(user_id: int | None) -> User | None:
    """Whose profile fills the gaps: the caller's own; another person's only for an admin."""
    viewer = g.api_user
    if user_id is None or user_id == viewer.id:
        return viewer
    return db.session.get(User, user_id) if viewer.role is Role.ADMIN else None


def _assessment(result, facts: dict, amount: Decimal, status: str | None, assumed) -> dict:
    income = facts["annual_income"]
    return {
        "riskScore": result.risk_score,
        "riskGrade": result.grade,
        "probabilityDefault": Decimal(str(result.probability_of_default)).quantize(
            Decimal("0.0001")
        ),
        "riskFactors": {
            "creditScore": facts["credit_score"],
            "incomeStability": status,
            "debtToIncome": (facts["monthly_debt"] * 12 / income * 100).quantize(Decimal("0.01")),
            "loanAmount": (amount / income * 100).quantize(Decimal("0.01")),
        },
        "recommendedInterestRate": result.interest_rate,
        "reasons": [reason["text"] for reason in result.reasons],
        "assumed": assumed,
    }


@bp.route("/ml/loan-matching/<int:user_id>", methods=["GET"])
@signed_in_required(Role.LENDER, Role.ADMIN)
@bp.response(200, OriginalMatchesSchema)
@documented_errors(401, 403, 404)
@bp.doc(summary="Open listings ranked for a lender's saved preferences: yourself, or any "
        "lender as admin (twin: GET /api/v1/ml/loan-matching/<id>)")  # fmt: skip
def loan_matching(user_id: int):
    viewer = g.api_user
    lender = db.session.get(User, user_id)
    mine = viewer.role is Role.ADMIN or viewer.id == user_id
    if lender is None or not mine or lender.role is not Role.LENDER:
        return refused(404, "No such lender.")
    preference = recommendations.preference_of(db.session, lender.id)
    return answer(
        matches=[
            {"loanId": loan.id, "matchScore": match.score, "reasons": match.reasons}
            for match, loan in recommendations.for_lender(db.session, preference)
        ]
    )
