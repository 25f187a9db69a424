from wtforms import IntegerField, SubmitField
from wtforms.validators import InputRequired, StopValidation, ValidationError

from services.points import POINTS_LIMIT, RULES
from web.forms import Form


def points_in_range(form, field) -> None:
    """Within ±POINTS_LIMIT; a value that is not a whole number was already reported."""
    if field.data is None:
        raise StopValidation()
    if abs(field.data) > POINTS_LIMIT:
        raise ValidationError(f"积分须在 -{POINTS_LIMIT} 到 {POINTS_LIMIT} 之间。")


class PointRulesForm(Form):
    """One whole-number field per rule; fields are added below, named by the rule key."""

    submit = SubmitField("保存积分规则")

    def values(self) -> dict[str, int]:
        return {r.key: self[r.key].data for r in RULES}


for _rule in RULES:
    setattr(
        PointRulesForm,
        _rule.key,
        IntegerField(
            _rule.label,
            invalid_value_message="积分必须是整数。",
            description=f"{_rule.explain}。默认 {_rule.default:+d} 分；扣分请填负数。",
            validators=[InputRequired("请填写积分（整数，可以为 0 或负数）。"), points_in_range],
        ),
    )
