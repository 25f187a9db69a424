from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form as PlainForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from formbase import CheckboxList, Form, strip
from models import Principle


class ActionRowForm(PlainForm):
    class Meta:
        locales = ("zh_CN", "zh")

    action_id = HiddenField()
    title = StringField(
        "事项", filters=[strip], validators=[Length(max=200, message="事项不能超过 200 个字。")]
    )
    detail = TextAreaField(
        "具体内容", filters=[strip], validators=[Length(max=2000, message="内容不能超过 2000 个字。")]
    )
    lead_unit_id = SelectField("牵头单位", coerce=int, default=0, validate_choice=False)
    co_unit_ids = SelectMultipleField("协同单位", coerce=int, validate_choice=False)
    due_on = DateField("完成时限", validators=[Optional()])
    principles = CheckboxList("共建方向", choices=Principle.choices(), validate_choice=False)


class MinutesForm(Form):
    recorder = StringField(
        "记录人", filters=[strip], validators=[DataRequired("请填写记录人。"), Length(max=50)]
    )
    summary = TextAreaField("会议概况", filters=[strip], validators=[Length(max=20000)])
    actions = FieldList(FormField(ActionRowForm), min_entries=2)
    version = HiddenField()
    save = SubmitField("保存草稿")
    add_row = SubmitField("增加议定事项")

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(u.id, u.name) for u in units]
        for row in self.actions:
            row.lead_unit_id.choices = [(0, "请选择")] + choices
            row.co_unit_ids.choices = choices


class SubmitMinutesForm(Form):
    ask_confirmation = BooleanField("请出席单位会签确认", default=True)
    confirm_days = IntegerField(
        "会签期限（天）",
        default=3,
        validators=[Optional(), NumberRange(min=1, max=30, message="会签期限 1 到 30 天。")],
    )
    submit = SubmitField("提交签发")


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
