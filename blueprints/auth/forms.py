from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

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
