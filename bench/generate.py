"""Build a benchmark database: one street, five communities, N units and their users.

    .venv/bin/python bench/generate.py                      # 2,000 units in bench/out/bench-2000.db
    .venv/bin/python bench/generate.py --units 500 --database sqlite:////tmp/b.db
    DATABASE_URL=postgresql://... .venv/bin/python bench/generate.py --reset

Every login (admin, archivist, secretary1-5, liaison1-N) has the password PASSWORD below,
hashed with a deliberately cheap argon2id so that building and logging in stay fast.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

PASSWORD = "基准测试-共建-2026"

# Cheap hashing for generated accounts only; production keeps the strong defaults.
BENCH_CONFIG: dict[str, Any] = {
    "SECRET_KEY": "bench-secret",
    "WTF_CSRF_ENABLED": False,
    "PASSWORD_TIME_COST": 1,
    "PASSWORD_MEMORY_COST": 8,
    "PASSWORD_PARALLELISM": 1,
}

# --- name material -----------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


PLACES = _words(
    "东大街 青年路 和平里 书院街 丰收园 新华里 钟楼 西关 南门 北苑 东郊 文昌 朝阳 建设路 解放路 人民路 胜利 长乐 兴庆 太白 含光 永宁 安定 "
    "广济 玉祥 德福巷 湘子庙 竹笆市 骡马市 柏树林"
)
BRANDS = _words(
    "鑫达 博远 华信 恒通 瑞丰 宏图 金泰 盛世 天成 润德 中联 安和 永兴 德隆 嘉禾 泰和 明远 佳禾 汇智 启航 睿思 锦程 东方 长青 同创 宏达 "
    "诚信 新程 弘毅 正源 云帆 信达 世纪 福瑞 顺德 卓越 蓝海 志诚 华章 星辰"
)
INDUSTRIES = _words(
    "信息科技 物业管理 商贸 餐饮管理 建筑工程 文化传媒 家政服务 医药连锁 教育咨询 广告 电子商务 物流 装饰工程 健康管理 人力资源 财务咨询 "
    "软件开发 环保科技 旅游服务 汽车服务"
)
FIRM_FORMS = ["有限公司", "有限责任公司", "股份有限公司"]
NUMERALS = ["第一", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十"]
BANKS = _words(
    "中国工商银行 中国建设银行 中国农业银行 中国银行 交通银行 中国邮政储蓄银行 招商银行 兴业银行 浦发银行 农村商业银行 中国人寿保险公司 "
    "中国平安保险公司"
)
BANK_BRANCHES = ["支行", "营业所", "分理处", "营业部"]
AGENCIES = _words(
    "税务局 市场监督管理局 公安分局 人民法院 人民检察院 住房和城乡建设局 城市管理执法局 人力资源和社会保障局 民政局 卫生健康局 司法局 "
    "消防救援大队"
)
AGENCY_OFFICES = ["所", "中队", "工作站", "服务站", "分局", "办事处"]
INSTITUTIONS = _words(
    "图书馆 文化馆 档案馆 青少年活动中心 科技馆 体育中心 疾病预防控制中心 不动产登记中心 公证处 气象站 博物馆 政务服务中心"
)
STATE_FIRMS = _words(
    "供电公司 自来水公司 燃气公司 公交集团 城建集团 新华书店 邮政公司 中国移动 中国电信 中国联通 热力公司 烟草专卖局"
)
STATE_UNITS = ["分公司", "营业厅", "供电所", "工程处", "服务中心", "项目部"]
SCHOOLS = ["小学", "中学", "实验小学", "幼儿园", "职业学校", "外国语学校"]
HOSPITALS = ["人民医院", "中医医院", "妇幼保健院", "口腔医院", "社区卫生服务中心", "康复医院"]
SOCIAL_KINDS = _words(
    "社会工作服务中心 志愿者协会 养老服务中心 公益基金会 商会 慈善协会 调解服务中心 青年创业协会 书画协会 助残服务社"
)
OTHER_KINDS = ["老年大学", "会展中心", "商业广场", "文化产业园", "孵化基地", "农贸市场"]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌海燕晓东雪林波")


def _names_for(category: str) -> list[tuple[str, str]]:
    """Every (name, short name) the generator can make for a category."""
    if category == "private_firm":
        return [
            (f"{b}{i}{f}", f"{b}{i[:2]}") for b, i, f in itertools.product(BRANDS, INDUSTRIES, FIRM_FORMS)
        ]
    if category == "finance":
        return [
            (f"{bank}{p}{br}", f"{bank[-4:]}{p}")
            for bank, p, br in itertools.product(BANKS, PLACES, BANK_BRANCHES)
        ]
    if category == "agency":
        return [
            (f"区{a}{p}{o}", f"{p}{a[:2]}{o}")
            for a, p, o in itertools.product(AGENCIES, PLACES, AGENCY_OFFICES)
        ]
    if category == "institution":
        return [
            (f"{lvl}{inst}{p}分馆" if lvl == "区" else f"{lvl}{inst}{p}服务点", f"{p}{inst[:3]}")
            for lvl, inst, p in itertools.product(("区", "市"), INSTITUTIONS, PLACES)
        ]
    if category == "state_firm":
        return [
            (f"{s}{p}{u}", f"{s[:2]}{p}{u[:2]}")
            for s, p, u in itertools.product(STATE_FIRMS, PLACES, STATE_UNITS)
        ]
    if category == "school":
        return [
            (f"{p}{n}{s}", f"{p}{n[-1]}{s[-2:]}") for p, n, s in itertools.product(PLACES, NUMERALS, SCHOOLS)
        ]
    if category == "hospital":
        return [
            (f"{p}{n}{h}", f"{p}{h[:2]}")
            for p, n, h in itertools.product(PLACES, ("", "第二", "第三", "东院", "西院"), HOSPITALS)
        ]
    if category == "social_org":
        return [(f"{b}{k}", f"{b}{k[:2]}") for b, k in itertools.product(PLACES + BRANDS, SOCIAL_KINDS)]
    return [(f"{p}{b}{k}", f"{p}{k[:2]}") for p, b, k in itertools.product(PLACES, BRANDS, OTHER_KINDS)]


# Rough shares of a city street's resident units, by category.
CATEGORY_WEIGHTS = {
    "private_firm": 34,
    "social_org": 10,
    "state_firm": 10,
    "finance": 8,
    "agency": 8,
    "institution": 8,
    "school": 8,
    "hospital": 5,
    "other": 9,
}


def unit_names(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """N unique (name, short name, category) triples spread over the categories."""
    categories = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()), k=n)
    pools: dict[str, list[tuple[str, str]]] = {}
    used: dict[str, int] = {}
    seen: set[str] = set()
    out = []
    for category in categories:
        pool = pools.get(category)
        if pool is None:
            pool = pools[category] = _names_for(category)
            rng.shuffle(pool)
        k = used.get(category, 0)
        used[category] = k + 1
        name, short = pool[k % len(pool)]
        if k >= len(pool):  # pool exhausted (very large N): number the branches
            name = f"{name}{k // len(pool) + 1}号分部"
        while name in seen:  # another category's pool may hold the same words
            name += "（分部）"
        seen.add(name)
        out.append((name, short[:40], category))
    return out


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


# --- database ----------------------------------------------------------------


def database_url(explicit: str | None = None, label: str = "2000") -> str:
    """The target database: --database, else DATABASE_URL, else a SQLite file under bench/out/."""
    if explicit:
        return explicit
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    OUT.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{OUT / f'bench-{label}.db'}"


def make_app(url: str) -> Flask:
    """The application on the benchmark database, with cheap password hashing."""
    from app import create_app

    return create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": url})


def fresh_schema(app: Flask) -> None:
    """Empty the database (delete the SQLite file, or drop PostgreSQL's public schema) and migrate."""
    from flask_migrate import upgrade

    from models import db

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            db.engine.dispose()
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        elif not url.startswith("sqlite"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))


# Statements that are transaction control, not queries a page asks for.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def record_statements(app: Flask) -> list[str]:
    """Collect every SQL statement the app's engine runs from now on (the benchmarks clear it)."""
    from sqlalchemy import event

    from models import db

    statements: list[str] = []
    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute")
        def _record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

    return statements


def count_queries(statements: list[str]) -> int:
    """The recorded statements that are queries (transaction control left out)."""
    return sum(1 for s in statements if not s.lstrip().upper().startswith(TRANSACTION_CONTROL))


def refuse_to_reset_unasked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A benchmark drops the schema of DATABASE_URL: refuse unless --reset (or a child run)."""
    if not database_url().startswith("sqlite") and not (args.reset or getattr(args, "child", None)):
        parser.error(
            "DATABASE_URL is set: the benchmark drops that database's public schema. "
            "Pass --reset to confirm, or unset DATABASE_URL to use SQLite under bench/out/."
        )


def generate(units: int = 2000, seed: int = 2026) -> dict[str, int]:
    """Fill the (empty, migrated) database of the current app; return row counts."""
    from demo.people import SECRETARY_NAMES
    from demo.places import COMMUNITIES, STREET
    from models import (
        Community,
        Role,
        Room,
        Street,
        Unit,
        UnitCategory,
        UnitStatus,
        UnitStatusChange,
        User,
        db,
    )
    from models.base import today
    from services.passwords import hash_password

    rng = random.Random(seed)
    now = datetime.now(UTC)

    street = Street(name=STREET[0], short_name=STREET[1])
    db.session.add(street)
    communities = []
    for position, (name, short, address) in enumerate(COMMUNITIES, start=1):
        community = Community(street=street, name=name, short_name=short, position=position, address=address)
        communities.append(community)
        db.session.add(community)
        db.session.add(
            Room(
                community=community,
                name=f"{short}社区共驻共建会议室",
                capacity=30 + 5 * position,
                address=address,
            )
        )
    db.session.flush()

    end = today()
    unit_rows: list[dict[str, Any]] = []
    histories: list[list[tuple[UnitStatus | None, UnitStatus, date, str]]] = []
    for k, (name, short, category) in enumerate(unit_names(units, rng), start=1):
        community = (
            communities[(k - 1) % len(communities)] if k <= len(communities) else rng.choice(communities)
        )
        registered = end - timedelta(days=rng.randint(30, 3 * 365))
        history: list[tuple[UnitStatus | None, UnitStatus, date, str]] = [
            (None, UnitStatus.REGISTERED, registered, "报到登记")
        ]
        roll = rng.random()
        status = UnitStatus.REGISTERED
        activated = withdrawn = agreement = None
        if roll < 0.8:  # signed the agreement
            activated = agreement = min(registered + timedelta(days=rng.randint(7, 60)), end)
            history.append((UnitStatus.REGISTERED, UnitStatus.ACTIVE, activated, "签订共建协议，转为在册"))
            status = UnitStatus.ACTIVE
            if roll < 0.08:  # and later left the street
                withdrawn = min(activated + timedelta(days=rng.randint(30, 400)), end)
                history.append((UnitStatus.ACTIVE, UnitStatus.WITHDRAWN, withdrawn, "单位迁出本街道"))
                status = UnitStatus.WITHDRAWN
        liaison = person_name(rng)
        members = rng.choice((0, 1, 2, 3, 5, 8, 12, 20, 35, 60, 120))
        unit_rows.append(
            {
                "street_id": street.id,
                "community_id": community.id,
                "name": name,
                "short_name": short,
                "category": UnitCategory(category),
                "address": f"{community.short_name}{rng.randint(1, 300)} 号",
                "party_org_name": f"{short}党支部" if members >= 3 else "",
                "party_member_count": members,
                "liaison_name": liaison,
                "liaison_phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                "liaison_email": f"liaison{k}@bench.gongjian.local",
                "introduction": f"{name}积极参与{community.name}共驻共建，提供场地、志愿服务和专业支持。",
                "status": status,
                "registered_on": registered,
                "activated_on": activated,
                "withdrawn_on": withdrawn,
                "agreement_date": agreement,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        histories.append(history)

    unit_ids = list(
        db.session.scalars(insert(Unit).returning(Unit.id, sort_by_parameter_order=True), unit_rows)
    )
    change_rows = [
        {
            "unit_id": unit_id,
            "from_status": from_status,
            "to_status": to_status,
            "effective_on": on,
            "reason": reason,
            "changed_by_id": None,
            "changed_at": now,
        }
        for unit_id, history in zip(unit_ids, histories, strict=True)
        for from_status, to_status, on, reason in history
    ]
    db.session.execute(insert(UnitStatusChange), change_rows)

    pw = hash_password(PASSWORD)
    user_rows: list[dict[str, Any]] = [
        {"username": "admin", "display_name": "街道党工委管理员", "role": Role.ADMIN},
        {"username": "archivist", "display_name": "档案室 郭敏", "role": Role.ARCHIVIST},
    ]
    for n, community in enumerate(communities, start=1):
        user_rows.append(
            {
                "username": f"secretary{n}",
                "display_name": SECRETARY_NAMES[n - 1],
                "role": Role.SECRETARY,
                "community_id": community.id,
            }
        )
    for k, (unit_id, row) in enumerate(zip(unit_ids, unit_rows, strict=True), start=1):
        user_rows.append(
            {
                "username": f"liaison{k}",
                "display_name": row["liaison_name"],
                "role": Role.LIAISON,
                "unit_id": unit_id,
                "email": row["liaison_email"],
            }
        )
    import secrets

    for row in user_rows:
        row.setdefault("community_id", None)
        row.setdefault("unit_id", None)
        # Every account works in the street (a bulk insert skips the model's event that sets it).
        row["street_id"] = street.id
        row.setdefault("email", f"{row['username']}@bench.gongjian.local")
        row.update(password_hash=pw, active=True, session_token=secrets.token_urlsafe(24), created_at=now)
    db.session.execute(insert(User), user_rows)
    db.session.commit()
    return {
        "communities": len(communities),
        "units": len(unit_rows),
        "status_changes": len(change_rows),
        "users": len(user_rows),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=2000, help="number of units (default 2000)")
    parser.add_argument(
        "--database", help="SQLAlchemy URL (default: DATABASE_URL, else bench/out/bench-N.db)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="allow emptying a PostgreSQL database (drops its public schema); SQLite files are always replaced",
    )
    args = parser.parse_args(argv)
    url = database_url(args.database, str(args.units))
    if not url.startswith("sqlite") and not args.reset:
        parser.error("generating into PostgreSQL drops its public schema: pass --reset to confirm")
    app = make_app(url)
    started = time.perf_counter()
    fresh_schema(app)
    with app.app_context():
        counts = generate(args.units, args.seed)
    elapsed = time.perf_counter() - started
    print(f"{url}: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" in {elapsed:.1f} s")
    print(f"logins: admin, archivist, secretary1-5, liaison1-{args.units}; password: {PASSWORD}")


if __name__ == "__main__":
    main()
