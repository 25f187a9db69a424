"""The OpenAPI 3.1 document of an Api, written from its operations and their pydantic models.

Nothing here is maintained by hand: paths come from the registered rules, parameters and
bodies from the query and body models, responses from the response models, and schemas
from pydantic's JSON Schema (2020-12, which OpenAPI 3.1 uses as it is).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from models.enums import LabelledEnum
from web.api import PROBLEM_MEDIA, TITLES, Api, Operation

REF = "#/components/schemas/{model}"
PATH_PARAM = re.compile(r"<(?:(int|string):)?([a-z_]+)>")
MAX_ID = 2**31 - 1


def choices(enum: type[LabelledEnum]) -> str:
    """An enum's values with their Chinese labels: "accept＝参加；decline＝不参加；…"."""
    return "；".join(f"{m.value}＝{m.label}" for m in enum)


# Every enum schema is described by its choices (not its docstring, written for developers).
ENUM_LABELS = {enum.__name__: choices(enum) for enum in LabelledEnum.__subclasses__()}


class FieldError(BaseModel):
    """问题所在的一个字段。"""

    field: str = Field(description="字段名（嵌套时以点分隔）", examples=["reply"])
    in_: str = Field(alias="in", description="位置：query（查询参数）或 body（请求内容）", examples=["body"])
    message: str = Field(description="中文说明", examples=["必填。"])


class ProblemDetails(BaseModel):
    """错误说明（RFC 9457 problem details）。title 为中文标题，detail 说明原因和怎么办。"""

    type: str = Field(description="问题类型，本接口均为 about:blank", examples=["about:blank"])
    title: str = Field(description="中文标题", examples=["没有权限"])
    status: int = Field(description="HTTP 状态码", examples=[403])
    detail: str = Field(description="中文说明", examples=["您没有权限访问或修改这项内容。"])
    instance: str = Field(description="出错的请求路径", examples=["/api/v1/meetings/12/reply"])
    errors: list[FieldError] | None = Field(default=None, description="逐个字段的问题（输入有误时）")


def openapi_path(rule: str) -> str:
    return PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule)


def _path_parameters(rule: str) -> list[dict]:
    params = []
    for kind, name in PATH_PARAM.findall(rule):
        schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        if kind == "string":
            schema = {"type": "string", "minLength": 1, "maxLength": 200}
        params.append({"name": name, "in": "path", "required": True, "schema": schema, "description": "编号"})
    return params


def _query_parameters(model: type[BaseModel], defs: dict) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF, by_alias=True)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _problem(status: int) -> dict:
    return {
        "description": TITLES.get(status, "错误"),
        "content": {PROBLEM_MEDIA: {"schema": {"$ref": REF.format(model="ProblemDetails")}}},
    }


def _responses(op: Operation, refs: dict) -> dict:
    responses: dict[str, Any] = {}
    if op.media:
        content = {op.media: {"schema": {"type": "string", "contentMediaType": op.media}}}
    elif op.response is not None:
        content = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    else:
        content = {}
    ok: dict[str, Any] = {"description": "成功" if op.status == 200 else "已创建"}
    if content:
        ok["content"] = content
    if op.method == "GET":
        ok["headers"] = {
            "ETag": {"description": "这份内容的版本；下次以 If-None-Match 询问", "schema": {"type": "string"}}
        }
    responses[str(op.status)] = ok
    if op.method == "GET":
        responses["304"] = {"description": "未修改：与 If-None-Match 给出的版本相同"}
    errors = set(op.errors)
    if op.query is not None or op.body is not None:
        errors.add(400)
    if not op.public:
        # Any operation may be refused: the object-level permissions of the pages apply.
        errors.update({401, 403, 429})
    if op.writes:
        errors.update({413, 415})
    if "<" in op.rule:
        errors.add(404)
    for status in sorted(errors):
        responses[str(status)] = _problem(status)
        if status == 429:
            responses["429"]["headers"] = {
                "Retry-After": {"description": "几秒后可以再试", "schema": {"type": "integer"}}
            }
    return responses


def document(api: Api, server_url: str) -> dict:
    """The OpenAPI 3.1 document of `api`, served at `server_url`."""
    wanted: list[tuple[type[BaseModel], str]] = [(ProblemDetails, "serialization")]
    for op in api.operations:
        if op.response is not None:
            wanted.append((op.response, "serialization"))
        if op.body is not None:
            wanted.append((op.body, "validation"))
    wanted = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(wanted, ref_template=REF, by_alias=True)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict] = {}
    for op in api.operations:
        parameters = _path_parameters(op.rule)
        if op.query is not None:
            parameters += _query_parameters(op.query, schemas)
        if op.method == "GET" and not op.public:
            parameters.append(
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "上次响应的 ETag；内容未变时回答 304",
                }
            )
        entry: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
            "responses": _responses(op, refs),
        }
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.public:
            entry["security"] = []
        paths.setdefault(openapi_path(op.rule), {})[op.method.lower()] = entry
    for name, schema in schemas.items():
        # An enum is described by its values and their Chinese labels, not its docstring.
        labels = ENUM_LABELS.get(name)
        if "enum" in schema and labels:
            schema["description"] = labels
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version, "description": api.description},
        "servers": [{"url": server_url}],
        "tags": [{"name": name, "description": text} for name, text in api.tags.items()],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "个人令牌（gj_ 开头），在“我的账号”页面或用 flask create-token 生成",
                }
            },
        },
        "security": [{"bearer": []}],
    }


# --- the documentation page ---------------------------------------------------------------------


def type_text(schema: dict) -> str:
    """A schema's type in a few words, for people (the docs page)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        parts = [type_text(s) for s in schema["anyOf"]]
        nullable = "null" in parts
        parts = [p for p in parts if p != "null"]
        return " | ".join(parts) + ("（可为 null）" if nullable else "")
    kind = schema.get("type", "")
    if kind == "array":
        return f"{type_text(schema.get('items', {}))} 的列表"
    if "enum" in schema:
        return "、".join(str(v) for v in schema["enum"])
    fmt = schema.get("format")
    return f"{kind}（{fmt}）" if fmt else (kind or "任意")


def schema_rows(schema: dict) -> list[dict]:
    """The properties of an object schema as rows: name, type, required, description, example."""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        examples = prop.get("examples") or []
        rows.append(
            {
                "name": name,
                "type": type_text(prop),
                "required": name in required,
                "description": prop.get("description", ""),
                "example": examples[0] if examples else None,
            }
        )
    return rows
