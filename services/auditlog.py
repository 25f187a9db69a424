"""The audit log as a street admin or an archivist reads it: Chinese labels, names, local times.

Events store raw column values (ids, enum values, ISO timestamps in UTC). This module turns a
page of events into rows for the template: field names as the forms label them, foreign keys
as the names of what they point to (loaded in one query per referenced table), enum values as
their Chinese labels, booleans as 是/否, times in Beijing time, and control characters shown
escaped rather than interpreted.
"""

from __future__ import annotations

import enum
import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Boolean, Date, Enum, Table, Time, select

from common.dates import format_date, format_datetime
from models import AuditEvent, GridDuty, db
from models.base import UTCDateTime
from models.hours import days_text

# Fields named alike in most tables.
COMMON_LABELS = {
    "id": "编号",
    "street_id": "所属街道",
    "community_id": "所属社区",
    "unit_id": "单位",
    "status": "状态",
    "title": "标题",
    "name": "名称",
    "short_name": "简称",
    "address": "地址",
    "description": "说明",
    "detail": "具体内容",
    "reason": "原因",
    "position": "排序",
    "capacity": "容纳人数",
    "kind": "类别",
    "meeting_id": "会议",
    "text": "进展情况",
    "on": "日期",
    "created_by_id": "创建人",
    "opens_at": "每天开放",
    "closes_at": "关闭",
    "open_days": "开放日",
    "overnight": "允许跨午夜使用",
    "retired_at": "撤销时间",
    "city_id": "所属市",
    "district_id": "所属区",
    "grid_id": "所属网格",
    "equipment": "设备",
    "area_id": "片区",
    "note": "说明",
}

# Per table, as the forms label them (see blueprints/*/forms.py), and plain Chinese for the
# fields no form shows.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "street": {"name": "街道名称", "fonds_code": "全宗号"},
    "community": {"name": "社区名称"},
    "grid": {"name": "网格名称"},
    "area": {"name": "片区名称", "retired_at": "撤销时间"},
    "notice_preference": {"kind": "提醒类别", "channel": "提醒方式", "user_id": "用户"},
    "api_token": {
        "user_id": "用户",
        "name": "令牌名称",
        "scope": "权限",
        "prefix": "令牌开头",
        "expires_at": "有效期至",
        "revoked_at": "吊销时间",
        "demo": "演示令牌",
    },
    "person_sign_in": {
        "meeting_id": "会议",
        "unit_id": "单位",
        "name": "姓名",
        "post": "职务",
        "is_delegate": "委派代表",
        "signed_at": "签到时间",
        "late": "迟到",
        "user_id": "联络员账号",
    },
    "action_event": {
        "action_id": "议定事项",
        "kind": "类别",
        "text": "督办要求或原因",
        "deadline": "督办期限",
        "before": "调整前",
        "after": "调整后",
        "by_id": "经办人",
        "by_name": "经办人姓名",
    },
    "grid_staff": {
        "name": "姓名",
        "phone": "联系电话",
        "unit_id": "派出单位",
        "duties": "职责",
        "left_at": "离任时间",
    },
    "city": {"name": "市名称"},
    "district": {"name": "区名称"},
    "building": {"name": "楼栋名称"},
    "point_rule": {"key": "积分项目", "points": "分值"},
    "unit": {
        "name": "单位名称",
        "category": "单位类别",
        "grid_id": "所属网格",
        "party_org_name": "党组织名称",
        "party_member_count": "党员人数",
        "liaison_name": "联络人",
        "liaison_phone": "联系电话",
        "liaison_email": "电子邮箱",
        "introduction": "单位简介与共建优势",
        "registered_on": "报到日期",
        "activated_on": "在册日期",
        "withdrawn_on": "退出日期",
        "agreement_date": "共建协议签订日期",
    },
    "resource": {
        "owner_unit_id": "提供单位",
        "owner_community_id": "提供社区",
        "kind": "资源类别",
        "title": "资源名称",
        "description": "资源说明",
        "quantity": "数量",
        "availability": "开放时间说明",
        "available_from": "开放起始日期",
        "available_until": "开放截止日期",
        "conditions": "使用条件",
        "contact_name": "联系人",
        "contact_phone": "联系电话",
        "visibility": "可见范围",
        "bookable": "开放预约",
        "active": "上架",
    },
    "room": {"name": "会议室名称", "unit_id": "所属单位", "bookable": "开放预约", "retired_at": "停用时间"},
    "user": {
        "username": "用户名",
        "display_name": "姓名",
        "email": "电子邮箱",
        "role": "角色",
        "community_id": "所属社区（社区书记）",
        "unit_id": "所属单位（单位联络员）",
        "active": "启用",
    },
    "attachment": {
        "storage_name": "存储文件名",
        "filename": "文件名",
        "content_type": "文件类型",
        "size": "大小（字节）",
        "sha256": "SHA-256 摘要",
        "uploaded_by_id": "上传人",
    },
    "booking": {
        "resource_id": "资源",
        "room_id": "会议室",
        "requester_unit_id": "申请单位",
        "requester_community_id": "申请社区",
        "requested_by_id": "申请人",
        "start_at": "开始时间",
        "end_at": "结束时间",
        "purpose": "用途",
        "decided_by_id": "审批人",
        "decided_at": "审批时间",
        "decline_reason": "拒绝原因",
    },
    "calendar_feed": {"user_id": "用户"},
    "meeting_series": {
        "community_id": "召集单位",
        "title": "系列名称",
        "kind": "会议类型",
        "rule": "重复方式",
        "interval": "间隔周数",
        "nth": "第几个",
        "weekday": "星期",
        "start_time": "开始时间",
        "duration_minutes": "时长（分钟）",
        "room_id": "会议室",
        "first_date": "从哪天起",
        "until": "到哪天止",
    },
    "need": {
        "kind": "需求类别",
        "is_wish": "微心愿",
        "description": "具体内容",
        "people_served": "受益人数",
        "wanted_by": "期望完成日期",
        "resident_name": "居民姓名",
        "resident_phone": "居民电话",
        "claimed_unit_id": "认领单位",
        "claimed_at": "认领时间",
        "claimed_by_id": "认领人",
        "claim_confirmed_at": "认领确认时间",
        "fulfilled_at": "完成时间",
        "fulfilment_note": "完成情况",
        "withdrawn_reason": "撤回原因",
        "posted_by_id": "发布人",
    },
    "unit_status_change": {
        "from_status": "原状态",
        "to_status": "变更为",
        "effective_on": "生效日期",
        "changed_by_id": "操作人",
        "changed_at": "操作时间",
    },
    "meeting": {
        "community_id": "召集单位",
        "kind": "会议类型",
        "title": "会议名称",
        "description": "会议说明",
        "start_at": "开始时间",
        "end_at": "结束时间",
        "room_id": "会议室",
        "cancel_reason": "取消原因",
        "published_at": "发布时间",
        "cancelled_at": "取消时间",
        "held_at": "召开时间",
        "topic_deadline": "议题征集截止",
        "uid": "日历标识",
        "sequence": "日历版本号",
        "series_id": "例会系列",
    },
    "need_update": {
        "need_id": "需求",
        "author_id": "报送人",
        "is_fulfilment": "完成登记",
    },
    "action": {
        "title": "事项",
        "lead_unit_id": "牵头单位",
        "due_on": "完成时限",
        "result": "完成情况",
        "done_on": "完成日期",
        "done_at": "标记完成时间",
        "done_by_id": "标记完成人",
        "resource_id": "关联资源",
        "need_id": "关联需求",
    },
    "invitation": {
        "reply": "回复",
        "reply_reason": "不参加的原因",
        "delegate_name": "代表姓名",
        "delegate_post": "代表职务",
        "replied_at": "回复时间",
        "replied_by_id": "回复人",
        "attendance": "出席情况",
        "attendance_at": "签到时间",
        "attendance_by_id": "签到登记人",
        "by_delegate": "委派代表出席",
    },
    "minutes": {
        "archive_no": "档案编号",
        "archive_scope": "编号范围",
        "archive_year": "编号年度",
        "archive_seq": "编号序号",
        "filing_year": "年度",
        "retention": "保管期限",
        "organ": "机构（问题）",
        "fonds_code": "全宗号",
        "item_no": "件号",
        "file_no": "档号",
        "filed_at": "归档时间",
        "filed_by_id": "归档人",
    },
    "need_update_photo": {"update_id": "需求进展", "attachment_id": "照片"},
    "topic": {
        "submitted_by_id": "提交人",
        "title": "议题",
        "detail": "议题说明",
        "cooperation": "希望得到的支持与合作",
        "decline_reason": "不采纳原因",
        "decided_at": "处理时间",
        "decided_by_id": "处理人",
    },
    "action_co_unit": {"action_id": "议定事项", "unit_id": "协同单位"},
    "action_progress": {"action_id": "议定事项", "author_id": "报送人", "attachment_id": "附件"},
    "action_tag": {"action_id": "议定事项", "principle": "共建方向"},
    "agenda_item": {
        "title": "议题",
        "presenter_unit_id": "汇报单位",
        "minutes": "时长（分钟）",
        "topic_id": "来源议题",
        "is_followup": "督办事项回顾",
    },
    "match": {
        "need_id": "需求",
        "resource_id": "资源",
        "proposed_by_id": "推荐人",
        "decided_by_id": "处理人",
        "decided_at": "处理时间",
        "action_id": "议定事项",
    },
    "minutes_ofd": {
        "revision_id": "纪要版本",
        "source_number": "据以生成的存档文件序号",
        "sha256": "OFD 的 SHA-256 摘要",
        "sm3": "OFD 的 SM3 摘要",
        "made_by": "生成人",
    },
    "minutes_rendition": {
        "revision_id": "纪要版本",
        "number": "存档文件序号",
        "source_number": "据以生成的存档文件序号",
        "pdf_sha256": "PDF 的 SHA-256 摘要",
        "pdf_sm3": "PDF 的 SM3 摘要",
        "reason": "生成原因",
        "findings": "原文件检查结果",
        "software": "生成软件及版本",
        "made_by": "生成人",
    },
    "minutes_revision": {
        "minutes_id": "会议纪要",
        "number": "版本号",
        "recorder": "记录人",
        "summary": "会议概况",
        "discussion": "议题讨论",
        "correction_reason": "更正原因",
        "confirm_due": "会签期限",
        "submitted_at": "提交时间",
        "submitted_by_id": "提交人",
        "approved_at": "签发时间",
        "approved_by_id": "签发人",
        "approved_by_name": "签发人姓名",
        "attendance_snapshot": "出席情况（存档）",
        "actions_snapshot": "议定事项（存档）",
        "followup_snapshot": "上次议定事项落实情况（存档）",
        "pdf_sha256": "PDF 的 SHA-256 摘要",
        "pdf_sm3": "PDF 的 SM3 摘要",
    },
    "minutes_confirmation": {
        "revision_id": "纪要版本",
        "status": "会签意见",
        "comment": "意见",
        "responded_at": "会签时间",
        "responded_by_id": "会签人",
    },
}

# What a foreign key's value shows: the attribute of the row it points to.
NAME_COLUMNS = {
    "user": "display_name",
    "resource": "title",
    "need": "title",
    "meeting": "title",
    "meeting_series": "title",
    "action": "title",
    "topic": "title",
    "attachment": "filename",
    "minutes": "archive_no",
    "minutes_revision": "number",
    "need_update": "on",
}


def field_label(table: str, column: str) -> str:
    """The Chinese name of a field, as its form labels it."""
    label = FIELD_LABELS.get(table, {}).get(column) or COMMON_LABELS.get(column)
    if label:
        return label
    return column  # a column added without a label: shown as is (test_audit_log catches it)


# --- escaping --------------------------------------------------------------------------------

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: Any) -> Markup:
    """Text with control and invisible format characters shown as escapes, never interpreted."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(Markup('<span class="audit-ctl">{}</span>').format(_escape_char(ch)))
        else:
            out.append(escape(ch))
    return Markup("").join(out)


# --- values ----------------------------------------------------------------------------------


def _local(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value)


def _columns(table: str):
    t = db.metadata.tables.get(table)
    return t.columns if isinstance(t, Table) else {}


def _fk_target(table: str, column: str) -> str | None:
    col = _columns(table).get(column) if table in db.metadata.tables else None
    if col is None:
        return None
    for fk in col.foreign_keys:
        return fk.column.table.name
    return None


def _format(table: str, column: str, value: Any, names: dict[tuple[str, int], str]) -> Markup | str:
    """One stored value as a user sees it."""
    if value is None or value == "":
        return "（空）"
    col = _columns(table).get(column) if table in db.metadata.tables else None
    target = _fk_target(table, column)
    if target and isinstance(value, int) and not isinstance(value, bool):
        name = names.get((target, value))
        return visible(name) if name is not None else f"（已删除，编号 {value}）"
    col_type = getattr(col, "type", None)
    if isinstance(col_type, Boolean) or isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(col_type, Enum) and isinstance(value, str):
        enum_class = col_type.enum_class
        if enum_class is not None and value in enum_class._value2member_map_:
            member = enum_class(value)
            return getattr(member, "label", member.value)
    if column == "open_days" and isinstance(value, str):
        return days_text(value)
    if table == "grid_staff" and column == "duties" and isinstance(value, list):
        return "、".join(GridDuty(d).label if d in GridDuty._value2member_map_ else str(d) for d in value)
    if isinstance(value, str):
        try:
            if isinstance(col_type, UTCDateTime):
                return _local(datetime.fromisoformat(value))
            if isinstance(col_type, Date):
                return format_date(date.fromisoformat(value[:10]))
            if isinstance(col_type, Time):
                return time.fromisoformat(value).strftime("%H:%M")
        except ValueError:
            pass
        return visible(value)
    if isinstance(value, dict | list):
        return visible(json.dumps(value, ensure_ascii=False))
    if isinstance(value, enum.Enum):
        return getattr(value, "label", value.value)
    return visible(value)


@dataclass
class Change:
    label: str
    old: Markup | str | None = None
    new: Markup | str | None = None
    single: bool = False  # a created row's value (no before/after)


@dataclass
class Row:
    event: AuditEvent
    changes: list[Change] = field(default_factory=list)


def _wanted_names(events: list[AuditEvent]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for ev in events:
        for column, value in (ev.changes or {}).items():
            target = _fk_target(ev.object_type, column)
            if not target:
                continue
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31:
                    wanted[target].add(v)
    return wanted


def _load_names(wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """Names of the referenced rows: one query per referenced table."""
    names: dict[tuple[str, int], str] = {}
    for table_name, ids in wanted.items():
        table = db.metadata.tables.get(table_name)
        if table is None or "id" not in table.c:
            continue
        attr = NAME_COLUMNS.get(table_name, "name")
        if attr not in table.c:
            continue
        for row_id, value in db.session.execute(select(table.c.id, table.c[attr]).where(table.c.id.in_(ids))):
            if table_name == "minutes_revision":
                value = f"第 {value} 版"
            elif table_name == "need_update" and isinstance(value, date):
                value = f"{format_date(value)}的进展"
            elif table_name == "minutes" and not value:
                value = f"会议纪要（编号 {row_id}）"
            names[(table_name, row_id)] = str(value)
    return names


# A resident's contact on a 微心愿: the archivist reads the log but may not see them (as on
# the need's page, see permissions.can_see_resident).
RESIDENT_FIELDS = {("need", "resident_name"), ("need", "resident_phone")}
HIDDEN = "（居民信息，不予显示）"


def rows_for(events: list[AuditEvent], see_residents: bool = True) -> list[Row]:
    """The events of one page, ready to show; a resident's contact masked unless see_residents."""
    names = _load_names(_wanted_names(events))
    rows = []
    for ev in events:
        row = Row(ev)
        paired = ev.action in ("update", "status")
        for column, value in (ev.changes or {}).items():
            if column == "id":  # the object's own number: the object column names it already
                continue
            label = field_label(ev.object_type, column) if ev.object_type else column
            if not see_residents and (ev.object_type, column) in RESIDENT_FIELDS:
                row.changes.append(Change(label, new=HIDDEN, single=True))
                continue
            if paired and isinstance(value, list) and len(value) == 2:
                row.changes.append(
                    Change(
                        label,
                        _format(ev.object_type, column, value[0], names),
                        _format(ev.object_type, column, value[1], names),
                    )
                )
            else:
                row.changes.append(
                    Change(label, new=_format(ev.object_type, column, value, names), single=True)
                )
        rows.append(row)
    return rows
