"""The JSON API's glue: operations declared once, with their models, and everything around them.

An operation is a view registered with `Api.operation`: its method and path, a summary and
description in Chinese, the pydantic models of its query, body and response, and the
errors it may answer. From that one declaration the view parses and checks its input
(unknown fields, malformed JSON and oversized bodies refused), answers with JSON, an ETag
and 304 for an unchanged GET, and web/openapi.py writes the OpenAPI document. Errors are
RFC 9457 problem details (application/problem+json) with a Chinese `title`.

Authentication is by personal token only (`Authorization: Bearer gj_…`), never the
session cookie, so a page in the browser cannot be made to call the API on a user's behalf.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select
from werkzeug.exceptions import HTTPException

from common.dates import SHANGHAI
from models import ApiToken, User, db
from models.base import utcnow
from services import tokens
from web.database import SAFE_METHODS, begin_write

PROBLEM_TYPE = "about:blank"
PROBLEM_MEDIA = "application/problem+json"

TITLES = {
    400: "请求有误",
    401: "需要有效的令牌",
    403: "没有权限",
    404: "不存在",
    405: "不支持该操作方式",
    406: "无法提供所要求的格式",
    409: "与当前状态冲突",
    413: "请求内容过大",
    415: "请求内容类型不支持",
    422: "不符合业务规则",
    429: "请求过于频繁",
    500: "系统出错了",
}
DETAILS = {
    401: "请在 Authorization 头中提供有效的个人令牌：Bearer gj_…（在“我的账号”页面生成）。",
    403: "您没有权限访问或修改这项内容。",
    404: "要找的内容不存在，或您无权看到它。",
    405: "这个地址不支持该操作方式。",
    413: "请求内容超过了接口允许的大小。",
    500: "服务器处理请求时出错，已记录，请稍后重试。",
}


class Problem(Exception):
    """An API error, answered as problem details."""

    def __init__(self, status: int, detail: str = "", *, title: str = "", errors=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.title = title or TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400])
        self.detail = detail or DETAILS.get(status, self.title)
        self.errors = errors or []
        self.headers = headers or {}


def problem_response(problem: Problem) -> Response:
    body = {"type": PROBLEM_TYPE, "title": problem.title, "status": problem.status, "detail": problem.detail}
    body["instance"] = request.path
    if problem.errors:
        body["errors"] = problem.errors
    resp = Response(json.dumps(body, ensure_ascii=False), status=problem.status, mimetype=PROBLEM_MEDIA)
    for name, value in problem.headers.items():
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp


def http_problem(exc: HTTPException) -> Response:
    """A werkzeug error (404 of an unknown path, 405, 413) as problem details."""
    status = exc.code or 500
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem_response(Problem(status, headers=headers))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


# --- input ------------------------------------------------------------------------------

_MESSAGES = {
    "missing": "必填。",
    "extra_forbidden": "不认识的字段。",
    "int_parsing": "须为整数。",
    "int_type": "须为整数。",
    "int_from_float": "须为整数。",
    "bool_parsing": "须为 true 或 false。",
    "bool_type": "须为 true 或 false。",
    "string_type": "须为文字。",
    "date_parsing": "日期格式应为 YYYY-MM-DD。",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD。",
    "date_from_datetime_inexact": "日期格式应为 YYYY-MM-DD。",
    "date_type": "日期格式应为 YYYY-MM-DD。",
    "datetime_parsing": "时间格式应为 ISO 8601，例如 2026-12-01T09:00:00+08:00。",
    "datetime_from_date_parsing": "时间格式应为 ISO 8601，例如 2026-12-01T09:00:00+08:00。",
    "datetime_type": "时间格式应为 ISO 8601，例如 2026-12-01T09:00:00+08:00。",
    "timezone_aware": "时间须带时区，例如 +08:00。",
    "enum": "不是可选的值。",
    "literal_error": "不是可选的值。",
    "model_type": "须为 JSON 对象。",
    "dict_type": "须为 JSON 对象。",
}


def _message(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字。"
    if kind == "string_too_short":
        return "不能为空。" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字。"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}。"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}。"
    if kind in ("enum", "literal_error") and ctx.get("expected"):
        return f"不是可选的值，可选：{ctx['expected']}。"
    return _MESSAGES.get(kind, "取值无效。")


def invalid(exc: ValidationError, where: str) -> Problem:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or where
        errors.append({"field": name, "in": where, "message": _message(error)})
    fields = "、".join(e["field"] for e in errors[:5])
    return Problem(400, f"{'查询参数' if where == 'query' else '请求内容'}有误：{fields}。", errors=errors)


def parse_query(model: type[BaseModel]) -> BaseModel:
    values: dict[str, Any] = {}
    for name in request.args:
        got = request.args.getlist(name)
        if len(got) > 1:
            raise Problem(
                400,
                f"查询参数 {name} 只能给一次。",
                errors=[{"field": name, "in": "query", "message": "只能给一次。"}],
            )
        values[name] = got[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise invalid(exc, "query") from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    request.max_content_length = current_app.config["API_MAX_BODY"]
    if request.mimetype != "application/json":
        raise Problem(415, "请求内容须为 JSON（Content-Type: application/json）。")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "请求内容不是有效的 JSON（须为 UTF-8 编码）。") from None
    if not isinstance(data, dict):
        raise Problem(400, "请求内容须为 JSON 对象。")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "body") from None


# --- authentication ------------------------------------------------------------------------


def authenticate_request() -> None:
    """Find the bearer token's user (401 otherwise), count the request (429 over the limit)."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="gongjian"'}
    if scheme.lower() != "bearer" or not secret.strip():
        raise Problem(401, headers=challenge)
    limit = current_app.config["API_RATE_LIMIT"]
    # The count is a short write of its own, committed before the request reads anything.
    begin_write(db.session)
    try:
        checked = tokens.check_and_count(secret.strip(), limit)
    except tokens.TokenError as exc:
        db.session.commit()
        raise Problem(401, f"{exc}{DETAILS[401]}", headers=challenge) from None
    db.session.commit()
    if request.method in SAFE_METHODS:
        g.write_transaction = False
    if checked.wait:
        raise Problem(
            429,
            f"这个令牌每分钟最多请求 {limit} 次，请 {checked.wait} 秒后再试。",
            headers={"Retry-After": str(checked.wait)},
        )
    g.api_token_id = checked.token_id
    g.api_scope = checked.scope
    # Flask-Login's current user for this request (the audit trail's actor), without a session.
    g._login_user = db.session.get(User, checked.user_id)


def token_writes() -> bool:
    return g.api_scope == "write"


def current_token() -> ApiToken:
    return db.session.get(ApiToken, g.api_token_id)


# --- cursors and pages --------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "after" and value.isdigit() and len(value) < 12:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Problem(
        400,
        "cursor 无效：请使用上一页返回的 next_cursor。",
        errors=[{"field": "cursor", "in": "query", "message": "无效。"}],
    )


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    as_of: datetime


def page_of(stmt: Select, id_column, cursor: str | None, limit: int | None) -> Page:
    """One page of `stmt` (a select of one entity) in id order after the cursor; limit+1 rows
    say whether there is more. Ordering by id keeps a page stable while rows change."""
    as_of = utcnow()
    size = limit or current_app.config["API_PAGE_SIZE"]
    after = decode_cursor(cursor)
    stmt = stmt.order_by(None).order_by(id_column).where(id_column > after).limit(size + 1)
    rows = list(db.session.scalars(stmt).unique())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1].id) if more else None, as_of)


def local(value: datetime | None) -> datetime | None:
    """A stored time as Beijing time for the API (RFC 3339 with +08:00)."""
    return value.astimezone(SHANGHAI) if value is not None else None


# --- operations ----------------------------------------------------------------------------


@dataclass
class Operation:
    method: str
    rule: str
    endpoint: str
    summary: str
    description: str
    tag: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: Sequence[int]
    writes: bool
    media: str | None  # a file's media type instead of a JSON response
    public: bool


class Api:
    """The operations of one API blueprint, for its views and its OpenAPI document."""

    def __init__(self, bp: Blueprint, title: str, version: str, description: str, tags: dict[str, str]):
        self.bp = bp
        self.title = title
        self.version = version
        self.description = description
        self.tags = tags
        self.operations: list[Operation] = []
        self.models: list[type[BaseModel]] = []

    def operation(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        tag: str,
        description: str = "",
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: Sequence[int] = (),
        media: str | None = None,
        public: bool = False,
    ) -> Callable:
        def register(fn: Callable) -> Callable:
            op = Operation(
                method=method,
                rule=rule,
                endpoint=fn.__name__,
                summary=summary,
                description=description or (fn.__doc__ or "").strip(),
                tag=tag,
                query=query,
                body=body,
                response=response,
                status=status,
                errors=tuple(errors),
                writes=method not in SAFE_METHODS,
                media=media,
                public=public,
            )
            self.operations.append(op)

            def view(**path: Any):
                if op.writes and not token_writes():
                    # Through the app's 403 handler, which audits the refusal.
                    abort(403, "这个令牌只有读取权限；修改数据请使用读写令牌。")
                kwargs: dict[str, Any] = dict(path)
                if query is not None:
                    kwargs["query"] = parse_query(query)
                elif request.args and not public:
                    raise Problem(400, "这个接口不接受查询参数。")
                if body is not None:
                    kwargs["body"] = parse_body(body)
                result = fn(**kwargs)
                return respond(result, op)

            view.__name__ = fn.__name__
            view.__doc__ = fn.__doc__
            self.bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
            return fn

        return register


def respond(result: Any, op: Operation) -> Response:
    """JSON (or a file) with a strong ETag; 304 when the client already has this version."""
    version = None
    if isinstance(result, Response):
        resp = result
    else:
        if isinstance(result, BaseModel):
            data = result.model_dump_json(by_alias=True)
            if "as_of" in type(result).model_fields:
                # A page is the same page whenever it was read: its version leaves out as_of
                # (a weak ETag), so an unchanged list answers 304.
                version = result.model_dump_json(by_alias=True, exclude={"as_of"})
        else:
            data = json.dumps(result, ensure_ascii=False)  # the OpenAPI document: plain values
        resp = Response(data, status=op.status, mimetype="application/json")
    if op.method == "GET" and resp.status_code == 200:
        if version is not None:
            resp.set_etag(hashlib.sha256(version.encode()).hexdigest()[:32], weak=True)
        else:
            resp.set_etag(hashlib.sha256(resp.get_data()).hexdigest()[:32])
        resp.headers["Cache-Control"] = "private, no-cache"
        resp.make_conditional(request)
    return resp
