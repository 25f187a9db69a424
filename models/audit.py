"""The audit trail: who did what to which object, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User

ACTION_LABELS = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "status": "状态变更",
    "login": "登录",
    "login_failed": "登录失败",
    "login_throttled": "登录受限",
    "logout": "退出登录",
    "forbidden": "越权访问",
    "password": "修改密码",
    "import": "导入",
    "export": "导出",
    "calendar_reply": "日历回复",
    "calendar_reply_refused": "拒收日历回复",
}

OBJECT_LABELS = {
    "unit": "单位",
    "user": "用户",
    "community": "社区",
    "street": "街道",
    "grid": "网格",
    "city": "市",
    "district": "区",
    "building": "楼栋",
    "grid_staff": "网格员",
    "area": "片区",
    "area_community": "片区成员社区",
    "meeting_place": "受邀街道、社区",
    "person_sign_in": "扫码签到",
    "api_token": "API 令牌",
    "notice_preference": "提醒方式设置",
    "room": "会议室",
    "unit_status_change": "单位状态",
    "unit_import": "导入批次",
    "meeting": "会议",
    "agenda_item": "议程",
    "invitation": "会议邀请",
    "topic": "议题",
    "meeting_series": "例会系列",
    "calendar_feed": "日历订阅",
    "minutes": "会议纪要",
    "minutes_revision": "纪要版本",
    "minutes_rendition": "纪要存档文件",
    "minutes_ofd": "纪要 OFD 版式文件",
    "minutes_confirmation": "纪要会签",
    "action": "议定事项",
    "action_progress": "事项进展",
    "action_event": "事项督办与变更",
    "action_co_unit": "事项协同单位",
    "action_tag": "事项共建方向",
    "attachment": "附件",
    "resource": "共享资源",
    "booking": "预约",
    "need": "需求",
    "need_update": "需求进展",
    "need_update_photo": "需求进展照片",
    "match": "资源需求对接",
    "point_rule": "积分规则",
}


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    # The street the event belongs to (its object's, else its actor's): what a street's admin
    # and archivist read. None: above any street (the system administrator reads those).
    street_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(30), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="", index=True)
    object_id: Mapped[int | None] = mapped_column(index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(200), default="")

    actor: Mapped[User | None] = relationship()

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def object_label(self) -> str:
        return OBJECT_LABELS.get(self.object_type, self.object_type)
