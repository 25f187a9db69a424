"""Forms of the needs board."""

from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from common.dates import format_date
from models import ResourceKind
from models.base import today
from web.forms import Form, strip
from web.templating import community_name

PHONE_RE = r"^[0-9+\-() ]{7,20}$"
PHONE_MESSAGE = "请输入有效的电话号码（7 到 20 位数字，可含 - 和空格）。"
PHOTO_HELP = "可选，最多 6 张，JPG、PNG、GIF 或 WEBP 格式，每张不超过 10 MB。"


class NeedForm(Form):
    """A community need or a resident's 微心愿. Admins choose the community."""

    community_id = SelectField("所属社区", coerce=int, validators=[DataRequired("请选择所属社区。")])
    grid_id = SelectField(
        "所在网格",
        coerce=int,
        validate_choice=False,
        description="需求或微心愿所在的网格；须属于所选社区，可不填。",
    )
    is_wish = RadioField(
        "类型",
        choices=[("0", "社区需求"), ("1", "居民微心愿")],
        default="0",
        validators=[InputRequired("请选择类型。")],
    )
    kind = SelectField(
        "需求类别",
        choices=[("", "请选择")] + ResourceKind.choices(),
        validators=[DataRequired("请选择需求类别。")],
    )
    title = StringField(
        "标题",
        filters=[strip],
        validators=[DataRequired("请填写标题。"), Length(max=120, message="标题不能超过 120 个字。")],
    )
    description = TextAreaField(
        "具体内容",
        filters=[strip],
        validators=[Length(max=2000, message="具体内容不能超过 2000 个字。")],
    )
    people_served = IntegerField(
        "受益人数",
        validators=[Optional(), NumberRange(min=1, max=1000000, message="受益人数应在 1 到 1000000 之间。")],
    )
    wanted_by = DateField("期望完成日期", validators=[Optional()])
    resident_name = StringField(
        "居民姓名",
        filters=[strip],
        validators=[Length(max=50, message="姓名不能超过 50 个字。")],
        description="仅本社区书记、街道管理员和认领单位联络员可见。",
    )
    resident_phone = StringField(
        "居民电话",
        filters=[strip],
        validators=[Optional(), Regexp(PHONE_RE, message=PHONE_MESSAGE)],
        description="仅本社区书记、街道管理员和认领单位联络员可见。",
    )
    version = HiddenField()
    original = HiddenField()
    submit = SubmitField("保存")

    def __init__(self, *args, communities=(), grids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.grid_id.choices = [(0, "（不限网格）"), *grids]
        if communities:
            self.community_id.choices = [(c.id, community_name(c.id, c.name)) for c in communities]
        else:
            delattr(self, "community_id")

    def data_for_service(self) -> dict:
        return {
            "kind": ResourceKind(self.kind.data),
            "is_wish": self.is_wish.data == "1",
            "title": self.title.data,
            "description": self.description.data or "",
            "people_served": self.people_served.data,
            "wanted_by": self.wanted_by.data,
            "resident_name": self.resident_name.data or "",
            "resident_phone": self.resident_phone.data or "",
            "grid_id": self.grid_id.data or None,
        }


class ReasonForm(Form):
    reason = TextAreaField(
        "原因",
        filters=[strip],
        validators=[DataRequired("请填写原因。"), Length(max=500, message="原因不能超过 500 个字。")],
    )


class ProgressForm(Form):
    on = DateField("日期", default=today, validators=[DataRequired("请填写有效的日期。")])
    text = TextAreaField(
        "进展情况",
        filters=[strip],
        validators=[DataRequired("请填写进展情况。"), Length(max=2000, message="不能超过 2000 个字。")],
    )
    photos = MultipleFileField("照片", description=PHOTO_HELP)
    submit = SubmitField("报送进展")


class FulfilForm(Form):
    on = DateField("完成日期", default=today, validators=[DataRequired("请填写有效的日期。")])
    note = TextAreaField(
        "完成情况",
        filters=[strip],
        validators=[DataRequired("请填写完成情况。"), Length(max=2000, message="不能超过 2000 个字。")],
    )
    photos = MultipleFileField("照片", description=PHOTO_HELP)
    submit = SubmitField("登记完成")


class ProposeForm(Form):
    resource_id = IntegerField(
        validators=[
            DataRequired("请选择要推荐的资源。"),
            NumberRange(min=1, max=2**31 - 1, message="请选择有效的资源。"),
        ]
    )


class DecideForm(Form):
    reason = TextAreaField(
        "说明（可选）", filters=[strip], validators=[Length(max=500, message="说明不能超过 500 个字。")]
    )


class ActionForm(Form):
    meeting_id = SelectField("转为会议的议定事项", coerce=int, validators=[DataRequired("请选择会议。")])

    def __init__(self, *args, meetings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting_id.choices = [(0, "请选择会议")] + [
            (m.id, f"{m.title}（{format_date(m.start_at)}）") for m in meetings
        ]
