"""Demo units: about thirty resident units of every category, registered, active or withdrawn."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Community, Street, Unit, UnitCategory, UnitStatus, db
from models.base import today
from services.units import create_unit

UNITS = [
    ("东大街第一小学", "一小", UnitCategory.SCHOOL, 1, 36, "王丽华"),
    ("市第三人民医院", "市三院", UnitCategory.HOSPITAL, 1, 210, "李建国"),
    ("中国工商银行东大街支行", "工行东大街支行", UnitCategory.FINANCE, 1, 18, "张敏"),
    ("区税务局第二税务所", "二所", UnitCategory.AGENCY, 1, 27, "赵志强"),
    ("鑫达物业管理有限公司", "鑫达物业", UnitCategory.PRIVATE_FIRM, 1, 6, "孙海燕"),
    ("阳光社会工作服务中心", "阳光社工", UnitCategory.SOCIAL_ORG, 1, 5, "周晓雯"),
    ("国网城区供电公司东大街供电所", "东大街供电所", UnitCategory.STATE_FIRM, 2, 22, "吴军"),
    ("区图书馆", "区图", UnitCategory.INSTITUTION, 2, 15, "郑雅琴"),
    ("和平里派出所", "和平里所", UnitCategory.AGENCY, 2, 31, "冯涛"),
    ("中国建设银行和平里支行", "建行和平里", UnitCategory.FINANCE, 2, 14, "陈静"),
    ("晨曦幼儿园", "晨曦幼", UnitCategory.SCHOOL, 2, 8, "褚亚楠"),
    ("乐龄养老服务中心", "乐龄养老", UnitCategory.SOCIAL_ORG, 2, 4, "卫红梅"),
    ("市第十二中学", "十二中", UnitCategory.SCHOOL, 3, 58, "蒋文博"),
    ("书院街社区卫生服务中心", "书院街社卫", UnitCategory.HOSPITAL, 3, 19, "沈玉兰"),
    ("新华书店书院街店", "新华书店", UnitCategory.STATE_FIRM, 3, 9, "韩磊"),
    ("恒信律师事务所", "恒信律所", UnitCategory.PRIVATE_FIRM, 3, 7, "杨帆"),
    ("区文化馆", "文化馆", UnitCategory.INSTITUTION, 3, 21, "朱丹"),
    ("区人民法院东大街人民法庭", "东大街法庭", UnitCategory.AGENCY, 3, 16, "秦思远"),
    ("城建集团第五工程有限公司", "城建五公司", UnitCategory.STATE_FIRM, 4, 64, "尤立新"),
    ("中国邮政储蓄银行丰收园营业所", "邮储丰收园", UnitCategory.FINANCE, 4, 6, "许晨"),
    ("丰收园消防救援站", "丰收园消防站", UnitCategory.AGENCY, 4, 24, "何勇"),
    ("博远信息科技有限公司", "博远科技", UnitCategory.PRIVATE_FIRM, 4, 12, "吕梦琪"),
    ("美邻家政服务有限公司", "美邻家政", UnitCategory.PRIVATE_FIRM, 4, 3, "施秀英"),
    ("红枫志愿者协会", "红枫志愿", UnitCategory.SOCIAL_ORG, 4, 11, "张浩然"),
    ("市中医医院", "市中医院", UnitCategory.HOSPITAL, 5, 132, "孔德明"),
    ("东大街农村商业银行新华里支行", "农商行新华里", UnitCategory.FINANCE, 5, 10, "曹丽"),
    ("市公交集团第三客运分公司", "公交三分公司", UnitCategory.STATE_FIRM, 5, 88, "严建华"),
    ("区青少年活动中心", "青少年中心", UnitCategory.INSTITUTION, 5, 13, "华美玲"),
    ("区市场监督管理局新华里市场监管所", "新华里监管所", UnitCategory.AGENCY, 5, 12, "金涛"),
    ("华联超市新华里店", "华联新华里", UnitCategory.PRIVATE_FIRM, 5, 2, "魏小平"),
    ("东大街老年大学", "老年大学", UnitCategory.OTHER, 5, 9, "陶志刚"),
]
# Units (by 1-based index) that are still only registered, and the one that withdrew.
ONLY_REGISTERED = {6, 17, 23, 31}
WITHDRAWN = {30}

DEMO_UNIT_DOMAIN = "danwei.example.gov.cn"


def seed(street: Street, communities: list[Community]) -> list[Unit]:
    """The demo units, in the order of UNITS (liaisonK belongs to the K-th)."""
    start = today() - timedelta(days=720)
    units = []
    for k, (name, short, category, c_index, members, liaison) in enumerate(UNITS, start=1):
        unit = db.session.scalar(select(Unit).where(Unit.street_id == street.id, Unit.name == name))
        if unit is None:
            registered = start + timedelta(days=7 * k)
            unit = create_unit(
                {
                    "name": name,
                    "short_name": short,
                    "category": category,
                    "community_id": communities[c_index - 1].id,
                    "address": f"{communities[c_index - 1].short_name}{10 + k} 号",
                    "party_org_name": f"{short}党支部" if members >= 3 else "",
                    "party_member_count": members,
                    "liaison_name": liaison,
                    "liaison_phone": f"138{k:04d}{(k * 7919) % 10000:04d}",
                    "liaison_email": f"liaison{k}@{DEMO_UNIT_DOMAIN}",
                    "introduction": f"{name}积极参与{communities[c_index - 1].name}共驻共建。",
                    "registered_on": registered,
                    "agreement_date": registered + timedelta(days=14) if k not in ONLY_REGISTERED else None,
                },
                by=None,
            )
            if k not in ONLY_REGISTERED:
                unit.change_status(
                    UnitStatus.ACTIVE, registered + timedelta(days=14), "签订共建协议，转为在册", None
                )
            if k in WITHDRAWN:
                unit.change_status(UnitStatus.WITHDRAWN, today() - timedelta(days=30), "单位迁出本街道", None)
        units.append(unit)
    db.session.flush()
    return units
