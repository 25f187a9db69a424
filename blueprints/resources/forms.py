from datetime import time

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
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from models import ResourceKind, Visibility
from models.hours import ALL_DAYS, DEFAULT_CLOSES, DEFAULT_OPENS, WEEKDAY_CHOICES
from web.forms import CheckboxList, Form, strip

PHONE_RE = r"^[0-9+\-() ]{7,20}$"
BOOKABLE_KINDS = (ResourceKind.VENUE.value, ResourceKind.EQUIPMENT.value)


class WeekdaysField(CheckboxList):
    """Open weekdays as checkboxes, stored as a string such as "12345".

    No box ticked is a choice only when the checkboxes were on the page (their hidden marker
    ``<name>_shown`` came back); a post without the field keeps the stored days.
    """

    def process(self, formdata, data=None, extra_filters=None):
        if formdata is not None and self.name not in formdata and f"{self.name}_shown" not in formdata:
            formdata = None
        if isinstance(data, str):
            data = list(data)
        super().process(formdata, data=data, extra_filters=extra_filters)

    def _value(self):
        return self.data

    @property
    def stored(self) -> str:
        return "".join(sorted(set(self.data or []) & set(ALL_DAYS)))


class HoursMixin:
    """Weekly opening hours on a resource's or a room's form (bookings must fall within them)."""

    opens_at = TimeField("每天开放", default=DEFAULT_OPENS, validators=[DataRequired("请填写开放时间。")])
    closes_at = TimeField(
        "关闭",
        default=DEFAULT_CLOSES,
        validators=[DataRequired("请填写关闭时间。")],
        description="00:00 表示开到午夜。",
    )
    open_days = WeekdaysField("开放日", choices=WEEKDAY_CHOICES, default=list(ALL_DAYS))
    overnight = BooleanField("允许跨午夜使用（预约可延续到次日或多日，如设备借用）")

    def validate_open_days(self, field):
        if not field.stored:
            raise ValidationError("请至少选择一个开放日。")
        if set(field.data or []) - set(ALL_DAYS):
            raise ValidationError("开放日无效。")

    def validate_closes_at(self, field):
        opens, closes = self.opens_at.data, field.data
        if opens is None or closes is None or closes == time(0, 0):
            return
        if closes == opens:
            raise ValidationError("关闭时间不能与开放时间相同。")
        if closes < opens and not self.overnight.data:
            raise ValidationError(
                "关闭时间早于开放时间，即开到次日：请勾选“允许跨午夜使用”，或改为当天的关闭时间。"
            )


class ResourceForm(HoursMixin, Form):
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
        "开放时间说明",
        filters=[strip],
        validators=[Length(max=200, message="开放时间不能超过 200 个字。")],
        description="补充说明，例如：寒暑假另行通知。预约按下面的每周开放时间检查。",
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


class RoomForm(HoursMixin, Form):
    """A room: name, size, where, what it has, whether others may book it and when it is open."""

    name = StringField(
        "会议室名称",
        filters=[strip],
        validators=[DataRequired("请填写会议室名称。"), Length(max=100, message="名称不能超过 100 个字。")],
        description="例如：青年路社区共驻共建会议室、党群服务中心二楼多功能厅。",
    )
    capacity = IntegerField(
        "容纳人数",
        validators=[
            InputRequired("请填写容纳人数。"),
            NumberRange(min=1, max=10000, message="容纳人数应在 1 到 10000 之间。"),
        ],
    )
    address = StringField(
        "地址", filters=[strip], validators=[Length(max=200, message="地址不能超过 200 个字。")]
    )
    equipment = StringField(
        "设备",
        filters=[strip],
        validators=[Length(max=200, message="设备说明不能超过 200 个字。")],
        description="例如：投影仪、话筒、视频会议终端。",
    )
    bookable = BooleanField("开放预约（其他单位、社区可在线申请使用）")
    submit = SubmitField("保存")
