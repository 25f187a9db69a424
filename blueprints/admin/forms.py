from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from models import Role
from web.forms import Form, NewPasswordMixin, strip
from web.templating import community_name


class UserForm(NewPasswordMixin, Form):
    username = StringField(
        "用户名",
        filters=[strip],
        validators=[
            DataRequired("请填写用户名。"),
            Length(min=2, max=64, message="用户名长度应为 2 到 64 个字符。"),
            Regexp(r"^[A-Za-z0-9_.\-]+$", message="用户名只能包含字母、数字、下划线、点和连字符。"),
        ],
    )
    display_name = StringField(
        "姓名", filters=[strip], validators=[DataRequired("请填写姓名。"), Length(max=64)]
    )
    email = StringField(
        "电子邮箱",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=120),
            Email("请输入有效的电子邮箱地址。", check_deliverability=False),
        ],
    )
    role = SelectField("角色", choices=Role.choices(), validators=[DataRequired("请选择角色。")])
    street_id = SelectField("所属街道（街道管理员、档案员）", coerce=int, validate_choice=False)
    place = SelectField("所在区或市（上级党组织）", validate_choice=False)
    community_id = SelectField("所属社区（社区书记）", coerce=int, validate_choice=False)
    unit_id = SelectField("所属单位（单位联络员）", coerce=int, validate_choice=False)
    new_password = PasswordField(
        "初始密码", description="8 到 128 个字符，可以使用中文短语；不能是常见密码。"
    )
    active = BooleanField("启用", default=True)
    submit = SubmitField("保存")

    def __init__(
        self, *args, communities=(), units=(), streets=(), places=(), roles=None, creating=True, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.creating = creating
        if roles is not None:
            self.role.choices = [(r.value, r.label) for r in roles]
        self.street_id.choices = [(0, "—")] + [(s.id, s.name) for s in streets]
        self._street_ids = {s.id for s in streets}
        self.place.choices = [("", "—")] + list(places)
        self._places = {value for value, _ in places}
        self.community_id.choices = [(0, "—")] + [(c.id, community_name(c.id, c.name)) for c in communities]
        self.unit_id.choices = [(0, "—")] + [(u.id, u.name) for u in units]
        self._community_ids = {c.id for c in communities}
        self._unit_ids = {u.id for u in units}
        if not creating:
            self.new_password.label.text = "重置密码"
            self.new_password.description = "留空则不修改；重置后该用户所有登录失效。"

    def validate_new_password(self, field):
        if not field.data:
            if self.creating:
                raise ValidationError("请设置初始密码。")
            return
        self.username_for_policy = self.username.data or ""
        super().validate_new_password(field)

    def validate_role(self, field):
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("请选择有效的角色。")

    def validate_street_id(self, field):
        if self.role.data in (Role.ADMIN.value, Role.ARCHIVIST.value) and field.data not in self._street_ids:
            raise ValidationError("街道管理员和档案员必须选择所属街道。")

    def validate_place(self, field):
        if self.role.data == Role.OBSERVER.value and field.data not in self._places:
            raise ValidationError("上级党组织账号必须选择所在的区或市。")

    def validate_community_id(self, field):
        if self.role.data == Role.SECRETARY.value and field.data not in self._community_ids:
            raise ValidationError("社区书记必须选择所属社区。")

    def validate_unit_id(self, field):
        if self.role.data == Role.LIAISON.value and field.data not in self._unit_ids:
            raise ValidationError("单位联络员必须选择所属单位。")
