from flask_wtf.file import FileField
from wtforms import DateField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from models.base import today
from web.forms import Form, strip


class ProgressForm(Form):
    on = DateField("日期", default=today, validators=[DataRequired("请填写有效的日期。")])
    text = TextAreaField(
        "进展情况",
        filters=[strip],
        validators=[DataRequired("请填写进展情况。"), Length(max=4000, message="不能超过 4000 个字。")],
    )
    attachment = FileField("附件（可选）", description="PDF、图片或办公文档，不超过 10 MB。")
    submit = SubmitField("报送进展")


class CloseForm(Form):
    on = DateField("完成日期", default=today, validators=[DataRequired("请填写有效的日期。")])
    result = TextAreaField(
        "完成情况",
        filters=[strip],
        validators=[DataRequired("请填写完成情况。"), Length(max=4000, message="不能超过 4000 个字。")],
    )
    submit = SubmitField("标记为已完成")


class SuperviseForm(Form):
    text = TextAreaField(
        "督办要求",
        filters=[strip],
        validators=[DataRequired("请填写督办要求。"), Length(max=1000, message="不能超过 1000 个字。")],
    )
    deadline = DateField("督办期限", validators=[DataRequired("请填写有效的督办期限。")])
    submit = SubmitField("发出督办")


class ExtendForm(Form):
    due_on = DateField("新的完成时限", validators=[DataRequired("请填写有效的日期。")])
    reason = TextAreaField(
        "调整原因",
        filters=[strip],
        validators=[
            DataRequired("调整完成时限须填写原因。"),
            Length(max=1000, message="不能超过 1000 个字。"),
        ],
    )
    submit = SubmitField("调整完成时限")


class LeadForm(Form):
    unit_id = SelectField("新的牵头单位", coerce=int, validators=[DataRequired("请选择新的牵头单位。")])
    reason = TextAreaField(
        "更换原因",
        filters=[strip],
        validators=[
            DataRequired("更换牵头单位须填写原因。"),
            Length(max=1000, message="不能超过 1000 个字。"),
        ],
    )
    submit = SubmitField("更换牵头单位")
