"""The TemplateService servicer: templates (checked when stored), previews, and rules.

Supervisors and admins write; staff read and preview.
"""

from __future__ import annotations

import json

import grpc

from services.notifications.api import convert
from services.notifications.api.callers import STAFF
from services.notifications.domain import templates as texts
from services.notifications.service import templates
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.notifications.v1 import templates_pb2 as pb
from switchboard.notifications.v1 import templates_pb2_grpc
from switchboard.rpc.callers import OVERSEERS
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding

PERMISSIONS = {
    "PutTemplate": OVERSEERS,
    "ListTemplates": STAFF,
    "PreviewTemplate": STAFF,
    "PutRule": OVERSEERS,
    "ListRules": STAFF,
}


class TemplateApi(templates_pb2_grpc.TemplateServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def PutTemplate(  # noqa: N802
        self, request: pb.PutTemplateRequest, ctx: grpc.ServicerContext
    ) -> pb.PutTemplateResponse:
        template = convert.template_of(request.template)

        def act(uow: UnitOfWork) -> pb.PutTemplateResponse:
            stored = templates.put_template(uow, template, expected_version=request.expected_version)
            return pb.PutTemplateResponse(template=convert.template_proto(stored))

        return once(self.runtime, "PutTemplate", request, pb.PutTemplateResponse, act)

    def ListTemplates(  # noqa: N802
        self, request: pb.ListTemplatesRequest, ctx: grpc.ServicerContext
    ) -> pb.ListTemplatesResponse:
        with self.runtime.reader() as uow:
            found = templates.list_templates(uow, request.key)
        keys = sorted({t.key for t in found})
        return pb.ListTemplatesResponse(
            templates=[convert.template_proto(t) for t in found],
            variables={key: pb.VariableNames(names=sorted(texts.variables_for(key))) for key in keys},
        )

    def PreviewTemplate(  # noqa: N802
        self, request: pb.PreviewTemplateRequest, ctx: grpc.ServicerContext
    ) -> pb.PreviewTemplateResponse:
        try:
            sample = json.loads(request.context_json) if request.context_json else {}
        except json.JSONDecodeError as exc:
            raise InvalidArgument([FieldViolation("context_json", f"not JSON: {exc}")]) from None
        if not isinstance(sample, dict):
            raise InvalidArgument([FieldViolation("context_json", "must be a JSON object")])
        given = convert.template_of(request.template) if request.HasField("template") else None
        if given is None and not request.key:
            raise InvalidArgument([FieldViolation("key", "name a stored template by key, or give one")])
        with self.runtime.reader() as uow:
            rendered = templates.preview(
                uow,
                key=request.key,
                locale=request.locale,
                given=given,
                context=sample,
                time_zone=request.time_zone,
            )
        return pb.PreviewTemplateResponse(subject=rendered.subject, body=rendered.body)

    def PutRule(self, request: pb.PutRuleRequest, ctx: grpc.ServicerContext) -> pb.PutRuleResponse:  # noqa: N802
        rule = convert.rule_of(request.rule)

        def act(uow: UnitOfWork) -> pb.PutRuleResponse:
            stored = templates.put_rule(uow, rule, expected_version=request.expected_version)
            return pb.PutRuleResponse(rule=convert.rule_proto(stored))

        return once(self.runtime, "PutRule", request, pb.PutRuleResponse, act)

    def ListRules(self, request: pb.ListRulesRequest, ctx: grpc.ServicerContext) -> pb.ListRulesResponse:  # noqa: N802
        with self.runtime.reader() as uow:
            found = templates.list_rules(uow, request.event_type)
        return pb.ListRulesResponse(rules=[convert.rule_proto(r) for r in found])


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=TemplateApi(runtime),
        add_to_server=templates_pb2_grpc.add_TemplateServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["TemplateService"].full_name,
        permissions=PERMISSIONS,
    )
