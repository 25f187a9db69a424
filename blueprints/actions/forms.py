from flask_wtf.file import FileField
from wtforms import DateField, SubmitField, TextAreaField
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
