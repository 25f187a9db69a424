from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from models import UnitCategory, UnitStatus
from models.base import today
from web.forms import Form, strip
from web.templating import community_name

PHONE_RE = r"^[0-9+\-() ]{7,20}$"
PHONE_MESSAGE = "请输入有效的电话号码（7 到 20 位数字，可含 - 和空格）。"


class UnitForm(Form):
    """A unit's register entry. Managers get every field; a liaison only the profile."""

    name = StringField(
        "单位名称",
        filters=[strip],
        validators=[DataRequired("请填写单位名称。"), Length(max=100, message="单位名称不能超过 100 个字。")],
    )
    short_name = StringField(
        "简称", filters=[strip], validators=[Length(max=40, message="简称不能超过 40 个字。")]
    )
    category = SelectField(
        "单位类别",
        choices=[("", "请选择")] + UnitCategory.choices(),
        validators=[DataRequired("请选择单位类别。")],
    )
    community_id = SelectField("所属社区", coerce=int, validators=[DataRequired("请选择所属社区。")])
    grid_id = SelectField(
        "所属网格", coerce=int, validate_choice=False, description="单位所在的网格；须属于所选社区，可不填。"
    )
    address = StringField(
        "地址", filters=[strip], validators=[Length(max=200, message="地址不能超过 200 个字。")]
    )
    party_org_name = StringField(
        "党组织名称", filters=[strip], validators=[Length(max=100, message="党组织名称不能超过 100 个字。")]
    )
    party_member_count = IntegerField(
        "党员人数",
        default=0,
        validators=[
            Optional(),
            NumberRange(min=0, max=100000, message="党员人数应在 0 到 100000 之间。"),
        ],
    )
    liaison_name = StringField(
        "联络人", filters=[strip], validators=[Length(max=50, message="联络人姓名不能超过 50 个字。")]
    )
    liaison_phone = StringField(
        "联系电话", filters=[strip], validators=[Optional(), Regexp(PHONE_RE, message=PHONE_MESSAGE)]
    )
    liaison_email = StringField(
        "电子邮箱",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=120),
            Email("请输入有效的电子邮箱地址。", check_deliverability=False),
        ],
    )
    introduction = TextAreaField(
        "单位简介与共建优势",
        filters=[strip],
        validators=[Length(max=2000, message="简介不能超过 2000 个字。")],
    )
    registered_on = DateField("报到日期", default=today, validators=[DataRequired("请填写有效的报到日期。")])
    agreement_date = DateField("共建协议签订日期", validators=[Optional()])
    version = HiddenField()
    original = HiddenField()
    submit = SubmitField("保存")

    MANAGER_ONLY = ("name", "category", "community_id", "grid_id", "registered_on", "agreement_date")

    def __init__(self, *args, communities=(), grids=(), profile_only=False, creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        if profile_only:
            for name in self.MANAGER_ONLY:
                delattr(self, name)
        else:
            self.community_id.choices = [(c.id, community_name(c.id, c.name)) for c in communities]
            self.grid_id.choices = [(0, "（未划入网格）"), *grids]
            if not creating:
                # The registration date changes only through a status change.
                delattr(self, "registered_on")

    def validate_agreement_date(self, field):
        if field.data and field.data > today():
            raise ValidationError("协议签订日期不能晚于今天。")

    def validate_registered_on(self, field):
        if field.data and field.data > today():
            raise ValidationError("报到日期不能晚于今天。")


class StatusForm(Form):
    to_status = SelectField("变更为", validators=[DataRequired("请选择新的状态。")])
    effective_on = DateField("生效日期", default=today, validators=[DataRequired("请填写有效的生效日期。")])
    reason = TextAreaField(
        "原因", filters=[strip], validators=[Length(max=500, message="原因不能超过 500 个字。")]
    )
    submit = SubmitField("变更状态")

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.to_status.choices = [(s.value, s.label) for s in allowed]

    def validate_effective_on(self, field):
        if field.data and field.data > today():
            raise ValidationError("生效日期不能晚于今天。")

    def validate_reason(self, field):
        if self.to_status.data == UnitStatus.WITHDRAWN.value and not field.data:
            raise ValidationError("退出时请填写原因。")


class ImportForm(Form):
    file = FileField(
        "登记表文件",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["xlsx", "csv"], "只支持 .xlsx 或 .csv 文件。"),
        ],
        description="Excel（.xlsx）或 CSV 文件，第一行为表头。可先下载导入模板。",
    )
    submit = SubmitField("检查文件")
