from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form as PlainForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models import Principle
from web.forms import CheckboxList, Form, strip


def unit_id(value) -> int:
    """A unit id from a form value: 0 for none chosen, -1 for anything that is not an id."""
    if value in (None, ""):
        return 0
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1


class ActionRowForm(PlainForm):
    class Meta:
        locales = ("zh_CN", "zh")

    action_id = HiddenField()
    title = StringField(
        "事项", filters=[strip], validators=[Length(max=200, message="事项不能超过 200 个字。")]
    )
    detail = TextAreaField(
        "具体内容",
        filters=[strip],
        validators=[Length(max=2000, message="内容不能超过 2000 个字。")],
        render_kw={"rows": 4},
    )
    # Choices are checked against the meeting's units in the view and the service; a value
    # that is not a number becomes -1 (no such unit) rather than an English coercion error.
    lead_unit_id = SelectField("牵头单位", coerce=unit_id, default=0, validate_choice=False)
    co_unit_ids = CheckboxList("协同单位", coerce=unit_id, validate_choice=False)
    due_on = DateField("完成时限", validators=[Optional()])
    principles = CheckboxList("共建方向", choices=Principle.choices(), validate_choice=False)


class MinutesForm(Form):
    recorder = StringField(
        "记录人", filters=[strip], validators=[DataRequired("请填写记录人。"), Length(max=50)]
    )
    summary = TextAreaField(
        "会议概况",
        filters=[strip],
        validators=[Length(max=20000, message="会议概况不能超过 20000 个字符。")],
        render_kw={"data-rich": ""},
    )
    actions = FieldList(FormField(ActionRowForm), min_entries=2)
    version = HiddenField()
    original = HiddenField()
    save = SubmitField("保存草稿")
    add_row = SubmitField("增加议定事项")

    def __init__(self, *args, unit_groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.unit_groups = {label: [(u.id, u.name) for u in units] for label, units in unit_groups if units}
        for row in self.actions:
            self.set_unit_choices(row)

    def set_unit_choices(self, row, extra=()) -> None:
        """Offer a row the meeting's units, grouped, plus `extra` units its action already names."""
        groups = dict(self.unit_groups)
        if extra:
            groups["原定单位（不属于本次会议）"] = [(u.id, u.name) for u in extra]
        row.lead_unit_id.choices = groups
        row.co_unit_ids.choices = groups


class SubmitMinutesForm(Form):
    ask_confirmation = BooleanField("请出席单位会签确认", default=True)
    confirm_days = IntegerField(
        "会签期限（天）",
        default=3,
        validators=[Optional(), NumberRange(min=1, max=30, message="会签期限 1 到 30 天。")],
    )
    submit = SubmitField("提交签发")


class ApproveForm(Form):
    unconfirmed_ok = BooleanField("已知悉上述单位未完成会签，仍然签发")
    submit = SubmitField("签发")


class ConfirmForm(Form):
    decision = RadioField(
        "会签意见",
        choices=[("confirm", "确认无误"), ("comment", "有修改意见")],
        validators=[InputRequired("请选择确认或提出意见。")],
    )
    comment = TextAreaField("意见", filters=[strip], validators=[Length(max=2000)])
    submit = SubmitField("提交")


class CorrectionForm(Form):
    reason = TextAreaField(
        "更正原因",
        filters=[strip],
        validators=[DataRequired("请填写更正原因。"), Length(max=500, message="原因不能超过 500 个字。")],
    )
    submit = SubmitField("开始更正")
