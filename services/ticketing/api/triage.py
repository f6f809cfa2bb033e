"""The triage rules' gRPC servicer: agents read the rules, supervisors (and admins) replace them."""

from __future__ import annotations

import grpc

from services.ticketing.api.callers import current_actor, once
from services.ticketing.domain.triage import Ruleset, TriageRule
from services.ticketing.service import triage as service
from switchboard.composition import Runtime
from switchboard.enums import channel_name, channel_value, tier_name, tier_value
from switchboard.rpc.auth import AGENT, SUPERVISOR
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import triage_pb2 as pb
from switchboard.ticketing.v1 import triage_pb2_grpc
from switchboard.timestamps import timestamp

PERMISSIONS = {
    "GetTriageRules": frozenset({AGENT, SUPERVISOR}),
    "ReplaceTriageRules": frozenset({SUPERVISOR}),
}


def rule_from_proto(rule: pb.TriageRule) -> TriageRule:
    return TriageRule(
        name=rule.name,
        note=rule.note,
        any_keywords=tuple(rule.any_keywords),
        all_keywords=tuple(rule.all_keywords),
        none_keywords=tuple(rule.none_keywords),
        channels=frozenset(channel_name(c) for c in rule.channels),
        tiers=frozenset(tier_name(t) for t in rule.tiers),
        asset_patterns=tuple(rule.asset_patterns),
        category=rule.category,
        team=rule.team,
        required_skills=tuple(rule.required_skills),
        priority=rule.priority or None,
        raise_priority=rule.raise_priority,
        stop=rule.stop,
    )


def rule_to_proto(rule: TriageRule) -> pb.TriageRule:
    return pb.TriageRule(
        name=rule.name,
        note=rule.note,
        any_keywords=rule.any_keywords,
        all_keywords=rule.all_keywords,
        none_keywords=rule.none_keywords,
        channels=sorted(channel_value(c) for c in rule.channels),
        tiers=sorted(tier_value(t) for t in rule.tiers),
        asset_patterns=rule.asset_patterns,
        category=rule.category,
        team=rule.team,
        required_skills=rule.required_skills,
        priority=rule.priority or 0,  # type: ignore[arg-type]  # 1-4 are PRIORITY_P1..P4
        raise_priority=rule.raise_priority,
        stop=rule.stop,
    )


def ruleset_to_proto(ruleset: Ruleset) -> pb.TriageRuleset:
    message = pb.TriageRuleset(
        version=ruleset.version,
        rules=[rule_to_proto(r) for r in ruleset.rules],
        updated_by=ruleset.updated_by,
    )
    if ruleset.updated_at is not None:
        message.updated_at.CopyFrom(timestamp(ruleset.updated_at))
    return message


class TriageApi(triage_pb2_grpc.TriageServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def GetTriageRules(  # noqa: N802 - gRPC method names
        self, request: pb.GetTriageRulesRequest, ctx: grpc.ServicerContext
    ) -> pb.GetTriageRulesResponse:
        with self.runtime.reader() as uow:
            ruleset = service.current_rules(uow)
        return pb.GetTriageRulesResponse(ruleset=ruleset_to_proto(ruleset))

    def ReplaceTriageRules(  # noqa: N802 - gRPC method names
        self, request: pb.ReplaceTriageRulesRequest, ctx: grpc.ServicerContext
    ) -> pb.ReplaceTriageRulesResponse:
        rules = [rule_from_proto(r) for r in request.rules]
        actor = current_actor()
        return once(
            self.runtime,
            "ReplaceTriageRules",
            request,
            pb.ReplaceTriageRulesResponse,
            lambda uow: pb.ReplaceTriageRulesResponse(
                ruleset=ruleset_to_proto(
                    service.replace_rules(uow, rules, expected_version=request.version, actor=actor)
                )
            ),
        )


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=TriageApi(runtime),
        add_to_server=triage_pb2_grpc.add_TriageServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["TriageService"].full_name,
        permissions=PERMISSIONS,
    )
