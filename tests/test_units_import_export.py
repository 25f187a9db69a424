"""Import of the unit register with a row-by-row report, and export to xlsx/CSV."""

import csv
import io
import re
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from models import AuditEvent, Unit, UnitCategory, UnitImport, UnitStatus, db
from tests.conftest import count

HEADERS = [
    "单位名称",
    "简称",
    "单位类别",
    "所属社区",
    "地址",
    "党组织名称",
    "党员人数",
    "联络人",
    "联系电话",
    "电子邮箱",
    "报到日期",
    "共建协议签订日期",
]


def _xlsx(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(client, content: bytes, filename: str):
    return client.post(
        "/units/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


ROWS = [
    # row 2: valid
    [
        "青年路便民超市",
        "便民超市",
        "非公企业",
        "青年路社区",
        "青年路 3 号",
        "",
        2,
        "钱多多",
        "13800138000",
        "q@example.cn",
        "2026-03-01",
        "2026年3月15日",
    ],
    # row 3: missing name
    ["", "", "学校", "青年路社区", "", "", "", "", "", "", "", ""],
    # row 4: bad category and bad phone
    ["青年路书画社", "", "协会", "青年路社区", "", "", "", "", "12ab", "", "", ""],
    # row 5: community of another secretary
    ["和平里花店", "", "非公企业", "和平里社区", "", "", "", "", "", "", "", ""],
    # row 6: unknown community
    ["月亮湾茶社", "", "非公企业", "月亮湾社区", "", "", "", "", "", "", "", ""],
    # row 7: already registered in this street
    ["东大街第一小学", "", "学校", "青年路社区", "", "", "", "", "", "", "", ""],
    # row 8: valid
    ["青年路中医诊所", "", "医疗机构", "青年路社区", "", "", "3", "", "", "", "2026/2/1", ""],
    # row 9: duplicate of row 8 within the file
    ["青年路中医诊所", "", "医疗机构", "青年路社区", "", "", "", "", "", "", "", ""],
    # row 10: bad email, bad count, bad date, future date
    ["青年路快递站", "", "其他", "青年路社区", "", "", "很多", "", "", "bad@", "昨天", "2999-01-01"],
    # row 11: blank row is skipped silently
    [None] * 12,
]


def test_import_reports_rejected_rows_and_writes_nothing_until_confirmed(app, client, world, login_as):
    login_as("secretary1")
    with app.app_context():
        before = count(Unit)
    resp = _upload(client, _xlsx(ROWS), "名册.xlsx")
    assert resp.status_code == 302
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert count(Unit) == before  # nothing written yet
        batch = db.session.scalar(select(UnitImport))
        rejected = {(r["row"], r["column"]) for r in batch.rejected_rows}
    assert [r["name"] for r in batch.valid_rows] == ["青年路便民超市", "青年路中医诊所"]
    assert rejected == {
        (3, "单位名称"),
        (4, "单位类别"),
        (4, "联系电话"),
        (5, "所属社区"),
        (6, "所属社区"),
        (7, "单位名称"),
        (9, "单位名称"),
        (10, "党员人数"),
        (10, "电子邮箱"),
        (10, "报到日期"),
        (10, "共建协议签订日期"),
    }
    for reason in (
        "单位名称不能为空",
        "无效的单位类别“协会”",
        "您无权向“和平里社区”导入单位",
        "没有名为“月亮湾社区”的社区",
        "本街道已有同名单位“东大街第一小学”",
        "与第 8 行重名",
        "无法识别的日期“昨天”",
        "不能晚于今天",
    ):
        assert reason in preview
    assert "第 4 行" in preview
    assert re.search(r'id="valid-count">2<', preview)
    assert re.search(r'id="rejected-count">7<', preview)

    resp = client.post(f"/units/import/{batch.id}/confirm")
    assert resp.status_code == 302
    with app.app_context():
        assert count(Unit) == before + 2
        shop = db.session.scalar(select(Unit).where(Unit.name == "青年路便民超市"))
        assert shop.community_id == world.community1
        assert shop.status == UnitStatus.REGISTERED
        assert shop.agreement_date.isoformat() == "2026-03-15"
        assert shop.liaison_phone == "13800138000"
        assert count(AuditEvent, AuditEvent.action == "import") == 1
    # Confirming twice creates nothing more.
    client.post(f"/units/import/{batch.id}/confirm")
    with app.app_context():
        assert count(Unit) == before + 2


def test_import_batch_belongs_to_its_uploader(app, client, world, login_as):
    login_as("secretary1")
    resp = _upload(client, _xlsx(ROWS[:1]), "a.xlsx")
    batch_url = resp.headers["Location"]
    login_as("secretary2")
    assert client.get(batch_url).status_code == 403
    assert client.post(batch_url + "/confirm").status_code == 403
    with app.app_context():
        assert count(Unit, Unit.name == "青年路便民超市") == 0
    login_as("admin")  # an admin may do everything, including finishing someone's import
    assert client.get(batch_url).status_code == 200


def test_import_gbk_csv_from_wps(app, client, world, login_as):
    login_as("admin")
    text = "单位名称,单位类别,所属社区,联络人\r\n和平里花店,非公企业,和平里社区,花姐\r\n"
    resp = _upload(client, text.encode("gb18030"), "register.csv")
    assert resp.status_code == 302
    with app.app_context():
        batch = db.session.scalar(select(UnitImport))
        assert batch.valid_rows[0]["name"] == "和平里花店"
        assert batch.valid_rows[0]["liaison_name"] == "花姐"


def test_import_bad_files_get_a_message_on_the_form(app, client, world, login_as):
    login_as("secretary1")
    resp = _upload(client, b"this is not a workbook", "x.xlsx")
    assert resp.status_code == 200 and "无法读取这个 Excel 文件" in resp.get_data(as_text=True)
    resp = _upload(client, _xlsx([["a"]], headers=["名称"]), "x.xlsx")
    assert "表头缺少：单位名称、单位类别、所属社区" in resp.get_data(as_text=True)
    resp = _upload(client, b"", "x.csv")
    assert resp.status_code == 200
    resp = _upload(client, b"abc", "x.txt")
    assert "只支持 .xlsx 或 .csv 文件" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(UnitImport) == 0


def test_export_xlsx_and_csv_keep_chinese_and_follow_filters(app, client, world, login_as):
    login_as("secretary1")
    resp = client.get(f"/units/export.xlsx?community={world.community1}")
    assert resp.status_code == 200
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("单位名称", "简称", "单位类别", "所属社区")
    names = {r[0] for r in rows[1:]}
    assert names == {"东大街第一小学", "市第三人民医院"}
    assert rows[1][3] == "青年路社区" and rows[1][12] == "报到"

    resp = client.get("/units/export.csv")
    assert resp.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel and WPS read UTF-8
    table = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert {r[0] for r in table[1:]} == {"东大街第一小学", "市第三人民医院", "和平里派出所"}
    with app.app_context():
        assert count(AuditEvent, AuditEvent.action == "export") == 2


def test_export_neutralises_formulas(app, client, world, login_as, make_unit):
    make_unit(name='=HYPERLINK("http://evil","点我")', liaison_name="+86 138")
    login_as("admin")
    data = client.get("/units/export.xlsx").data
    # xlsx: text cells, never formulas, and no apostrophe added to what the user typed.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    ws = load_workbook(io.BytesIO(data)).active
    cells = {c.value: c.data_type for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert cells['=HYPERLINK("http://evil","点我")'] == "s"
    assert cells["+86 138"] == "s"
    assert not any(v.startswith("'") for v in cells)
    # CSV: the apostrophe OWASP recommends, since a CSV cell has no type.
    text = client.get("/units/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+86 138" in text


def test_csv_exports_declare_one_charset(app, client, world, login_as):
    login_as("admin")
    for url in ("/units/export.csv", "/actions/export.csv"):
        content_type = client.get(url).headers["Content-Type"]
        assert content_type == "text/csv; charset=utf-8", (url, content_type)


TRICKY_UNITS = [
    {
        "name": "=SUM(A1:A9)社区服务站",
        "short_name": "@服务站",
        "address": "东大街 8 号院，3 号楼",
        "party_org_name": "",
        "party_member_count": 0,
        "liaison_name": "-王建国",
        "liaison_phone": "01088886666",
        "liaison_email": "wang@example.cn",
        "registered_on": date(2025, 12, 31),
        "agreement_date": None,
    },
    {
        "name": "-东大街志愿服务队",
        "short_name": "'志愿队",
        "address": '青年路"乙"3 号',
        "party_org_name": "东大街志愿服务队党支部",
        "party_member_count": 37,
        "liaison_name": "欧阳·娜娜",
        "liaison_phone": "+86 010 6666 0001",
        "liaison_email": "",
        "registered_on": date(2024, 2, 29),
        "agreement_date": date(2024, 3, 1),
    },
    {
        "name": "'=1+2 书画社",
        "short_name": "",
        "address": "",
        "party_org_name": "",
        "party_member_count": 5,
        "liaison_name": "",
        "liaison_phone": "0571-8888 0000",
        "liaison_email": "",
        "registered_on": date(2026, 1, 5),
        "agreement_date": None,
    },
]
COMPARED = ["name", "category", "community_id", *TRICKY_UNITS[0]]


def _snapshot(app, names) -> dict:
    with app.app_context():
        units = db.session.scalars(select(Unit).where(Unit.name.in_(names))).all()
        return {u.name: {f: getattr(u, f) for f in COMPARED} for u in units}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exported_register_imports_back_unchanged(app, client, world, login_as, make_unit, fmt):
    """Export the register, import the file: nothing to do, nothing duplicated, nothing rejected."""
    for fields in TRICKY_UNITS:
        make_unit(category=UnitCategory.SOCIAL_ORG, **fields)
    names = [u["name"] for u in TRICKY_UNITS]
    before = _snapshot(app, names)
    login_as("admin")
    data = client.get(f"/units/export.{fmt}").data
    with app.app_context():
        total = count(Unit)

    resp = _upload(client, data, f"名册.{fmt}")
    assert resp.status_code == 302
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="valid-count">0<', preview)
    assert re.search(r'id="rejected-count">0<', preview)
    assert re.search(rf'id="unchanged-count">{total}<', preview)
    assert "内容完全一致，无需导入" in preview
    assert "确认导入" not in preview
    with app.app_context():
        assert count(Unit) == total

    # Remove the tricky units and import the same file: they come back exactly as they were.
    with app.app_context():
        for unit in db.session.scalars(select(Unit).where(Unit.name.in_(names))):
            db.session.delete(unit)
        db.session.commit()
    resp = _upload(client, data, f"名册.{fmt}")
    with app.app_context():
        batch = db.session.scalars(select(UnitImport).order_by(UnitImport.id.desc())).first()
        assert batch.rejected_rows == []
        assert sorted(r["name"] for r in batch.valid_rows) == sorted(names)
    client.post(f"/units/import/{batch.id}/confirm")
    after = _snapshot(app, names)
    for name in names:
        assert {k: v for k, v in after[name].items()} == before[name], name


def test_changed_row_of_a_registered_unit_names_the_differing_columns(app, client, world, login_as):
    login_as("admin")
    ws = load_workbook(io.BytesIO(client.get("/units/export.xlsx").data)).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    phone = rows[0].index("联系电话")
    changed = next(r for r in rows[1:] if r[0] == "东大街第一小学")
    changed[phone] = "010-12345678"
    resp = _upload(client, _xlsx(rows[1:], headers=rows[0]), "改过的名册.xlsx")
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "本街道已有同名单位“东大街第一小学”，且联系电话与名册不同" in preview
    assert re.search(r'id="rejected-count">1<', preview)
    assert re.search(r'id="unchanged-count">2<', preview)
    with app.app_context():
        assert db.session.get(Unit, world.unit_a).liaison_phone == ""


def test_registered_data_that_predates_todays_checks_still_counts_as_unchanged(
    app, client, world, login_as, make_unit
):
    # Stored before the e-mail check was as strict as it is now (the demo's .local addresses).
    make_unit(name="青年路老年活动中心", liaison_email="laonian@demo.gongjian.local")
    login_as("admin")
    resp = _upload(client, client.get("/units/export.csv").data, "名册.csv")
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="rejected-count">0<', preview)
    assert re.search(r'id="unchanged-count">4<', preview)


def test_non_ascii_digits_as_party_member_count_are_a_rejected_cell(app, client, world, login_as):
    """'²'.isdigit() is true but int('²') fails: the row is refused with a message, never a 500."""
    login_as("secretary1")
    row = ["青年路书店", "", "非公企业", "青年路社区", "", "", "²", "", "", "", "", ""]
    resp = _upload(client, _xlsx([row]), "名册.xlsx")
    assert resp.status_code == 302
    client.get(resp.headers["Location"])
    with app.app_context():
        batch = db.session.scalar(select(UnitImport))
        assert [(r["row"], r["column"]) for r in batch.rejected_rows] == [(2, "党员人数")]
        assert batch.valid_rows == []
