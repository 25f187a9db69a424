"""The JSON API (/api/v1) over the same services as the pages, and its OpenAPI document.

Declared once per operation (web/api.Api): the views in views.py, the models in schemas.py.
Authenticated by personal token only; CSRF does not apply (no cookie is read).
"""

from flask import Blueprint, request

from web.api import Api, Problem, authenticate_request, problem_response
from web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

api = Api(
    bp,
    title="共建联席会议系统 API",
    version="1.0.0",
    description=(
        "共驻共建联席会议系统的开放接口：驻区单位、街道、社区、网格和会议室、联席会议（邀请、回复、出席）、"
        "会议纪要、议定事项和进展、共享资源和预约、需求清单、共建积分。\n\n"
        "以个人令牌认证（Authorization: Bearer gj_…，在“我的账号”页面生成，或 "
        "flask --app app create-token）；看得到、改得了什么与网页完全一致。列表按编号升序分页"
        "（cursor），都可用 updated_since 只取有变化的记录；GET 的响应带 ETag，内容未变时回答 304。"
        "错误按 RFC 9457 以 application/problem+json 返回，title 为中文。"
    ),
    tags={
        "账号": "令牌所属的用户",
        "地点": "街道、社区、网格和会议室",
        "单位": "驻区单位和共建积分",
        "会议": "联席会议、邀请回复和议题",
        "纪要": "会议纪要和存档 PDF",
        "议定事项": "议定事项和进展",
        "资源": "共享资源和预约",
        "需求": "社区需求和微心愿",
        "文档": "本接口的说明",
    },
)

PUBLIC = {"api.openapi", "api.docs"}


@bp.before_request
def _authenticate():
    if request.endpoint not in PUBLIC:
        authenticate_request()


@bp.errorhandler(Problem)
def _problem(exc: Problem):
    return problem_response(exc)


from blueprints.api import views  # noqa: E402,F401
