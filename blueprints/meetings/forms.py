from datetime import timedelta

from wtforms import (
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms import Form as PlainForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import MeetingKind, Reply, UnitCategory, UnitStatus
from models.base import today
from web.forms import CheckboxList, Form, strip
from web.templating import community_name


class AgendaRowForm(PlainForm):
    class Meta:
        locales = ("zh_CN", "zh")

    title = StringField(
        "议题", filters=[strip], validators=[Length(max=200, message="议题不能超过 200 个字。")]
    )
    presenter_unit_id = SelectField("汇报单位", coerce=int, default=0, validate_choice=False)
    minutes = IntegerField(
        "时长（分钟）",
        default=10,
        validators=[Optional(), NumberRange(min=1, max=600, message="每项议程 1 到 600 分钟。")],
    )
    topic_id = HiddenField()
    is_followup = HiddenField()


class MeetingForm(Form):
    kind = SelectField(
        "会议类型", choices=MeetingKind.choices(), validators=[DataRequired("请选择会议类型。")]
    )
    title = StringField(
        "会议名称",
        filters=[strip],
        validators=[DataRequired("请填写会议名称。"), Length(max=200, message="会议名称不能超过 200 个字。")],
    )
    community_id = SelectField("召集单位", coerce=int, validate_choice=True)
    room_id = SelectField("会议室", coerce=int, validators=[DataRequired("请选择会议室。")])
    day = DateField("日期", validators=[DataRequired("请填写有效的日期。")])
    start_time = TimeField("开始时间", validators=[DataRequired("请填写开始时间。")])
    end_time = TimeField("结束时间", validators=[DataRequired("请填写结束时间。")])
    topic_deadline = DateTimeLocalField(
        "议题征集截止",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="留空则为会议开始前 3 天。",
    )
    description = TextAreaField(
        "会议说明", filters=[strip], validators=[Length(max=4000, message="会议说明不能超过 4000 个字。")]
    )
    agenda = FieldList(FormField(AgendaRowForm), min_entries=3)
    units = CheckboxList("逐个选择", coerce=int, validate_choice=False)
    invite_community = CheckboxList("社区", coerce=int, validate_choice=False)
    invite_category = CheckboxList("类别", choices=UnitCategory.choices(), validate_choice=False)
    invite_exclude = CheckboxList("从名单中移除", coerce=int, validate_choice=False)
    # A district or city meeting (四级联动) invites streets and communities below it as well.
    invite_streets = CheckboxList("邀请街道", coerce=int, validate_choice=False)
    invite_communities = CheckboxList("邀请社区", coerce=int, validate_choice=False)
    version = HiddenField()
    original = HiddenField()
    save = SubmitField("保存")
    add_row = SubmitField("增加议程行")

    def __init__(
        self, *args, communities=(), rooms=(), units=(), allow_street=False, level=None, places=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        choices = [(0, "街道（跨社区片区联席会）")] if allow_street else []
        streets, place_communities = places or ((), ())
        if level is not None:  # the district or city convenes; no community hosts
            choices = [(0, f"{level.name}（{'市' if level.__tablename__ == 'city' else '区'}级联席会议）")]
        self.invite_streets.choices = [(s.id, s.name) for s in streets]
        self.invite_communities.choices = [(c.id, community_name(c.id, c.name)) for c in place_communities]
        self.community_id.choices = choices + [(c.id, community_name(c.id, c.name)) for c in communities]
        self.room_id.choices = room_choices(rooms)
        self.units.choices = unit_choices(units)
        self.unit_facts = unit_facts(units)
        self.invite_community.choices = [
            (c.id, community_name(c.id, c.name))
            for c in (place_communities if level is not None else communities)
        ]
        presenters = [(0, "—")] + [(u.id, u.name) for u in units]
        for row in self.agenda:
            row.presenter_unit_id.choices = presenters

    def validate_day(self, field):
        if field.data and field.data < today() - timedelta(days=3650):
            raise ValidationError("日期不正确。")


def unit_choices(units) -> list[tuple[int, str]]:
    """Invitable units with their community; with the street too when they come from several
    (a 片区 meeting may invite two streets' 青年路社区)."""
    several = len({u.street_id for u in units}) > 1
    return [
        (
            u.id,
            f"{u.name}（{u.community.street.short_name}·{u.community.short_name}）"
            if several
            else f"{u.name}（{u.community.short_name}）",
        )
        for u in units
    ]


def unit_facts(units) -> dict[int, dict[str, str]]:
    """What the invitation picker's script needs of each unit: community, category, 在册."""
    return {
        u.id: {
            "community": str(u.community_id),
            "category": u.category.value,
            "active": "1" if u.status == UnitStatus.ACTIVE else "0",
        }
        for u in units
    }


def room_choices(rooms) -> list[tuple[int, str]]:
    """Rooms as select options; the community is named only when rooms of several are offered,
    so a secretary's own room fits a phone's select."""
    several = len({(r.community_id, r.street_id) for r in rooms}) > 1
    return [
        (
            r.id,
            f"{(r.community or r.street).short_name} · {r.name}（{r.capacity} 人）"
            if several
            else f"{r.name}（{r.capacity} 人）",
        )
        for r in rooms
    ]


class ReplyForm(Form):
    reply = RadioField(
        "回复",
        choices=[(r.value, r.label) for r in Reply if r != Reply.PENDING],
        validators=[InputRequired("请选择参加、不参加或委派代表。")],
    )
    reason = TextAreaField("不参加的原因", filters=[strip], validators=[Length(max=500)])
    delegate_name = StringField("代表姓名", filters=[strip], validators=[Length(max=50)])
    delegate_post = StringField("代表职务", filters=[strip], validators=[Length(max=50)])
    submit = SubmitField("提交回复")


class TopicForm(Form):
    title = StringField(
        "议题",
        filters=[strip],
        validators=[DataRequired("请填写议题。"), Length(max=200, message="议题不能超过 200 个字。")],
    )
    detail = TextAreaField(
        "议题说明", filters=[strip], validators=[Length(max=2000, message="说明不能超过 2000 个字。")]
    )
    cooperation = TextAreaField(
        "希望得到的支持与合作", filters=[strip], validators=[Length(max=1000, message="不能超过 1000 个字。")]
    )
    submit = SubmitField("提交议题")


class ReasonForm(Form):
    reason = TextAreaField(
        "原因",
        filters=[strip],
        validators=[DataRequired("请填写原因。"), Length(max=500, message="原因不能超过 500 个字。")],
    )
    submit = SubmitField("确定")


class SeriesForm(Form):
    title = StringField(
        "系列名称",
        filters=[strip],
        validators=[DataRequired("请填写名称。"), Length(max=150, message="名称不能超过 150 个字。")],
        default="共驻共建联席会议例会",
    )
    community_id = SelectField("召集单位", coerce=int)
    room_id = SelectField("会议室", coerce=int, validators=[DataRequired("请选择会议室。")])
    rule = SelectField(
        "重复方式",
        choices=[
            ("quarterly", "每季度（第几个星期几）"),
            ("monthly", "每月（第几个星期几）"),
            ("weekly", "每隔 N 周（星期几）"),
        ],
        default="quarterly",
    )
    nth = SelectField(
        "第几个",
        coerce=int,
        choices=[(1, "第一个"), (2, "第二个"), (3, "第三个"), (4, "第四个"), (-1, "最后一个")],
    )
    weekday = SelectField(
        "星期",
        coerce=int,
        choices=[
            (0, "星期一"),
            (1, "星期二"),
            (2, "星期三"),
            (3, "星期四"),
            (4, "星期五"),
            (5, "星期六"),
            (6, "星期日"),
        ],
        default=1,
    )
    interval = IntegerField(
        "间隔周数",
        default=2,
        validators=[Optional(), NumberRange(min=1, max=26, message="间隔 1 到 26 周。")],
    )
    start_time = TimeField("开始时间", validators=[DataRequired("请填写开始时间。")])
    duration = IntegerField(
        "时长（分钟）",
        default=90,
        validators=[
            InputRequired("请填写时长。"),
            NumberRange(min=15, max=720, message="时长 15 到 720 分钟。"),
        ],
    )
    first_date = DateField("从哪天起", validators=[DataRequired("请填写开始日期。")])
    until = DateField("到哪天止", validators=[DataRequired("请填写结束日期。")])
    units = CheckboxList("逐个选择", coerce=int, validate_choice=False)
    invite_community = CheckboxList("社区", coerce=int, validate_choice=False)
    invite_category = CheckboxList("类别", choices=UnitCategory.choices(), validate_choice=False)
    invite_exclude = CheckboxList("从名单中移除", coerce=int, validate_choice=False)
    submit = SubmitField("预览各次会议")

    def __init__(self, *args, communities=(), rooms=(), units=(), allow_street=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(0, "街道（跨社区片区联席会）")] if allow_street else []
        self.community_id.choices = choices + [(c.id, community_name(c.id, c.name)) for c in communities]
        self.room_id.choices = room_choices(rooms)
        self.units.choices = unit_choices(units)
        self.unit_facts = unit_facts(units)
        self.invite_community.choices = [(c.id, community_name(c.id, c.name)) for c in communities]

    def validate_until(self, field):
        if self.first_date.data and field.data:
            if field.data < self.first_date.data:
                raise ValidationError("结束日期不能早于开始日期。")
            if (field.data - self.first_date.data).days > 366 * 5:
                raise ValidationError("一个系列最长 5 年。")
