from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from web.forms import Form, strip


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
    submit = SubmitField("保存")

    def __init__(self, *args, kind=None, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.district_id.choices = [(0, "（暂不归属）")] + list(districts)
        if kind is None or kind.key in ("city", "district"):
            del self.address
        if kind is None or kind.key != "street":
            del self.district_id
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
