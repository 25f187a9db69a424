from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from models import GridDuty
from web.forms import CheckboxList, Form, strip


class PlaceForm(Form):
    """A place's name, short name and address (a street: also its district)."""

    name = StringField(
        "名称",
        filters=[strip],
        validators=[DataRequired("请填写名称。"), Length(max=100, message="名称不能超过 100 个字。")],
    )
    short_name = StringField(
        "简称",
        filters=[strip],
        validators=[Length(max=20, message="简称不能超过 20 个字。")],
        description="列表和手机上显示的短名称，可不填。",
    )
    address = StringField(
        "地址", filters=[strip], validators=[Length(max=200, message="地址不能超过 200 个字。")]
    )
    district_id = SelectField("所属区", coerce=int, validate_choice=False)
    fonds_code = StringField(
        "全宗号",
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z0-9]{1,10}$", message="全宗号只能由字母和数字组成，最多 10 位，例如 J001。"),
        ],
        description="档案室给本街道的全宗号（DA/T 22），如 J001；设置后档案员才能归档会议纪要，已归档的档号不变。",
    )
    submit = SubmitField("保存")

    def __init__(self, *args, kind=None, districts=(), fonds=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.district_id.choices = [(0, "（暂不归属）")] + list(districts)
        if kind is None or kind.key in ("city", "district"):
            del self.address
        if kind is None or kind.key != "street":
            del self.district_id
        if kind is None or kind.key != "street" or not fonds:
            del self.fonds_code
        elif kind.key == "street":
            self.name.label.text = "街道名称"

    def validate_district_id(self, field):
        if field.data and field.data not in {c[0] for c in field.choices}:
            raise ValidationError("请选择一个在用的区。")


class PlaceImportForm(Form):
    file = FileField(
        "地点表文件",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["xlsx", "csv"], "只支持 .xlsx 或 .csv 文件。"),
        ],
        description="Excel（.xlsx）或 CSV 文件，第一行为表头。可先下载导入模板。",
    )
    submit = SubmitField("检查文件")


class StaffForm(Form):
    """A person on a grid's roster: name, phone, the unit that sent them, their duties."""

    name = StringField(
        "姓名",
        filters=[strip],
        validators=[DataRequired("请填写姓名。"), Length(max=50, message="姓名不能超过 50 个字。")],
    )
    phone = StringField(
        "联系电话",
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"^[0-9+\-() ]{7,20}$", message="请输入有效的电话号码（7 到 20 位数字，可含 - 和空格）。"),
        ],
    )
    unit_id = SelectField(
        "派出单位",
        coerce=int,
        validate_choice=False,
        description="由驻区单位派出的网格员选择其单位，可不填。",
    )
    duties = CheckboxList("职责（网格“十员”，可多选）", choices=GridDuty.choices())
    submit = SubmitField("保存")

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.unit_id.choices = [(0, "（不是单位派出）"), *((u.id, u.name) for u in units)]
        self._unit_ids = {u.id for u in units}

    def validate_unit_id(self, field):
        if field.data and field.data not in self._unit_ids:
            raise ValidationError("派出单位应是本社区的驻区单位。")

    def validate_duties(self, field):
        if not field.data:
            raise ValidationError("请至少选择一项职责。")


class AreaForm(Form):
    """A 片区: its name, a note, and its member communities (two or more)."""

    name = StringField(
        "片区名称",
        filters=[strip],
        validators=[DataRequired("请填写片区名称。"), Length(max=100, message="片区名称不能超过 100 个字。")],
        description="例如：青年路片区、火车站周边片区。",
    )
    note = StringField(
        "说明", filters=[strip], validators=[Length(max=500, message="说明不能超过 500 个字。")]
    )
    communities = CheckboxList("包含的社区（至少两个，可跨街道）", coerce=int)
    submit = SubmitField("保存")

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.communities.choices = [(c.id, f"{c.street.short_name} · {c.name}") for c in communities]

    def validate_communities(self, field):
        if len(set(field.data or [])) < 2:
            raise ValidationError("片区至少包含两个社区。")
