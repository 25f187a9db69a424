from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from formbase import Form
from models import ResourceKind, Visibility

PHONE_RE = r"^[0-9+\-() ]{7,20}$"
BOOKABLE_KINDS = (ResourceKind.VENUE.value, ResourceKind.EQUIPMENT.value)


def strip(value):
    return value.strip() if isinstance(value, str) else value


class ResourceForm(Form):
    """A resource offered to the other units: what, how much, when, on what terms, and who to call."""

    owner = SelectField("提供单位", validators=[DataRequired("请选择提供单位。")])
    kind = SelectField(
        "资源类别",
        choices=[("", "请选择")] + ResourceKind.choices(),
        validators=[DataRequired("请选择资源类别。")],
    )
    title = StringField(
        "资源名称",
        filters=[strip],
        validators=[DataRequired("请填写资源名称。"), Length(max=120, message="资源名称不能超过 120 个字。")],
    )
    description = TextAreaField(
        "资源说明", filters=[strip], validators=[Length(max=2000, message="说明不能超过 2000 个字。")]
    )
    capacity = IntegerField(
        "容纳人数",
        validators=[Optional(), NumberRange(min=1, max=100000, message="容纳人数应在 1 到 100000 之间。")],
        description="场地可容纳的人数；其他资源可不填。",
    )
    quantity = StringField(
        "数量",
        filters=[strip],
        validators=[Length(max=60, message="数量不能超过 60 个字。")],
        description="例如：投影仪 2 台、每月 20 课时。",
    )
    availability = StringField(
        "开放时间",
        filters=[strip],
        validators=[Length(max=200, message="开放时间不能超过 200 个字。")],
        description="例如：工作日 18:00 以后及周末全天。",
    )
    available_from = DateField("开放起始日期", validators=[Optional()])
    available_until = DateField("开放截止日期", validators=[Optional()])
    conditions = TextAreaField(
        "使用条件", filters=[strip], validators=[Length(max=1000, message="使用条件不能超过 1000 个字。")]
    )
    contact_name = StringField(
        "联系人", filters=[strip], validators=[Length(max=50, message="联系人姓名不能超过 50 个字。")]
    )
    contact_phone = StringField(
        "联系电话",
        filters=[strip],
        validators=[
            Optional(),
            Regexp(PHONE_RE, message="请输入有效的电话号码（7 到 20 位数字，可含 - 和空格）。"),
        ],
    )
    visibility = SelectField("可见范围", choices=Visibility.choices(), default=Visibility.ALL.value)
    bookable = BooleanField("开放预约（场地、设施设备可在线申请使用）")
    version = HiddenField()
    original = HiddenField()
    submit = SubmitField("保存")

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = list(owners)

    def validate_available_until(self, field):
        if field.data and self.available_from.data and field.data < self.available_from.data:
            raise ValidationError("开放截止日期不能早于起始日期。")

    def validate_bookable(self, field):
        if field.data and self.kind.data not in BOOKABLE_KINDS:
            raise ValidationError("只有场地和设施设备可以开放预约。")


class BookingForm(Form):
    """A request for a time range (Beijing time) and a purpose."""

    start_at = DateTimeLocalField(
        "开始时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写有效的开始时间。")]
    )
    end_at = DateTimeLocalField(
        "结束时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写有效的结束时间。")]
    )
    purpose = TextAreaField(
        "用途",
        filters=[strip],
        validators=[DataRequired("请填写用途。"), Length(max=500, message="用途不能超过 500 个字。")],
        description="例如：开展党员冬训、举办少儿书法班，预计 30 人。",
    )
    submit = SubmitField("提交预约申请")

    def validate_end_at(self, field):
        if field.data and self.start_at.data and field.data <= self.start_at.data:
            raise ValidationError("结束时间必须晚于开始时间。")


class DeclineForm(Form):
    reason = TextAreaField(
        "拒绝原因",
        filters=[strip],
        validators=[DataRequired("请填写拒绝的原因。"), Length(max=500, message="原因不能超过 500 个字。")],
    )
    submit = SubmitField("拒绝申请")
