from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from models import Retention
from web.forms import Form, strip


class DescriptionForm(Form):
    retention = SelectField("保管期限", choices=[(r.value, r.label) for r in Retention])
    organ = StringField(
        "机构（问题）",
        filters=[strip],
        validators=[Length(max=40, message="机构（问题）不能超过 40 个字。")],
        description="可不填；按机构或问题分类时填写，如“党建办”。",
    )
    reason = TextAreaField(
        "改变保管期限的理由",
        filters=[strip],
        validators=[Length(max=500, message="理由不能超过 500 个字。")],
        description="保管期限与默认不同时必填，记入操作日志。",
    )
    submit = SubmitField("保存著录")
