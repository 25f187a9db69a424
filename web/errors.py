"""Friendly Chinese error pages; refused access is audited."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from models import db
from services import audit
from web.api import Problem, http_problem, is_api_request, problem_response
from web.database import begin_write

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回后重试。"),
    403: ("没有权限", "您没有权限访问这个页面或执行这个操作。"),
    404: ("页面不存在", "您要找的页面不存在，可能已被移除或链接有误。"),
    405: ("操作方式不正确", "这个地址不支持该操作方式。"),
    413: ("文件过大", "上传的文件超过了 10 MB 的上限。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("系统出错了", "服务器处理请求时出错，已记录，请稍后重试。"),
}


def _page(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    if request_ctx.url_adapter is None:
        # A Host outside TRUSTED_HOSTS: no URL can be built, so no page with navigation.
        title, message = "访问地址有误", "请使用系统管理员告知的网址访问共建联席会议系统。"
        head = '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        head += '<meta name="viewport" content="width=device-width, initial-scale=1">'
        return f"{head}<title>{title}</title><h1>{title}</h1><p>{message}</p></html>", code
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def _audit_refusal() -> None:
    """Record a refused access in its own write transaction."""
    try:
        db.session.rollback()
        begin_write(db.session)
        audit.record(
            "forbidden",
            summary=f"{request.method} {request.path}",
            actor=current_user if current_user.is_authenticated else None,
        )
        db.session.commit()
    except Exception:  # the refusal page must still render
        log.exception("could not audit a refused access")
        db.session.rollback()


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _page(400, "页面已过期或来源不明（安全校验未通过），请刷新页面后重新提交。")

    @app.errorhandler(403)
    def _forbidden(e):
        _audit_refusal()
        if is_api_request():
            given = e.description if e.description != type(e).description else ""
            return problem_response(Problem(403, given))
        return _page(403)

    @app.errorhandler(HTTPException)
    def _http(e):
        if is_api_request():
            return http_problem(e)
        return _page(e.code or 500)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(e):
        # A number in the URL too large for the database: nothing can match it.
        db.session.rollback()
        if is_api_request():
            return problem_response(Problem(404))
        return _page(404)

    @app.errorhandler(Exception)
    def _error(e):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if is_api_request():
            return problem_response(Problem(500))
        return _page(500)
