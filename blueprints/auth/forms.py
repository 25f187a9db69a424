from datetime import timedelta

from wtforms import DateField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from models.base import today
from models.token import SCOPES
from services.passwords import PASSWORD_MAX
from web.forms import Form, NewPasswordMixin


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=PASSWORD_MAX)])
    submit = SubmitField("登录")


class PasswordForm(NewPasswordMixin, Form):
    current_password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。")])
    new_password = PasswordField(
        "新密码",
        validators=[DataRequired("请输入新密码。")],
        description="8 到 128 个字符，可以使用中文短语；不能是常见密码。",
    )
    confirm = PasswordField(
        "再次输入新密码",
        validators=[DataRequired("请再次输入新密码。"), EqualTo("new_password", "两次输入的新密码不一致。")],
    )
    submit = SubmitField("修改密码")

    def __init__(self, username: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.username_for_policy = username


def _in_ninety_days():
    return today() + timedelta(days=90)


class TokenForm(Form):
    name = StringField(
        "令牌名称",
        filters=[lambda v: v.strip() if v else v],
        validators=[DataRequired("请填写令牌名称。"), Length(max=60, message="令牌名称不能超过 60 个字。")],
        description="用来区分不同用途，例如“区智慧党建平台同步”。",
    )
    scope = RadioField("权限", choices=list(SCOPES.items()), default="read")
    expires_on = DateField(
        "有效期至",
        default=_in_ninety_days,
        validators=[Optional()],
        description="默认 90 天，最长一年；把日期清空则长期有效，直到吊销。",
    )
    submit = SubmitField("生成令牌")
