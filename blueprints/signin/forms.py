from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from web.forms import Form, strip


class SignInForm(Form):
    unit_id = SelectField(
        "所在单位", coerce=int, validate_choice=False, validators=[DataRequired("请选择您所在的单位。")]
    )
    name = StringField(
        "姓名",
        filters=[strip],
        validators=[DataRequired("请填写您的姓名。"), Length(max=50, message="不超过 50 个字。")],
    )
    post = StringField("职务", filters=[strip], validators=[Length(max=50, message="不超过 50 个字。")])
    is_delegate = BooleanField("我是受单位委派参会的代表")
    submit = SubmitField("签到")
