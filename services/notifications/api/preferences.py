"""The PreferenceService servicer: staff recipients, and everyone's preferences.

Anyone reads and sets their own preferences; supervisors and admins anyone's, and they put recipients.
"""

from __future__ import annotations

from datetime import timedelta

import grpc

from services.notifications import config as configuration
from services.notifications.api import convert
from services.notifications.api.callers import STAFF
from services.notifications.service import recipients
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.notifications.v1 import preferences_pb2 as pb
from switchboard.notifications.v1 import preferences_pb2_grpc
from switchboard.rpc.auth import INTEGRATION
from switchboard.rpc.callers import OVERSEERS, acting_for
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding

PERMISSIONS = {
    "GetPreferences": STAFF,
    "PutPreferences": STAFF,
    "PutRecipient": OVERSEERS | {INTEGRATION},
    "GetRecipient": STAFF | {INTEGRATION},
}


class PreferenceApi(preferences_pb2_grpc.PreferenceServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def GetPreferences(  # noqa: N802
        self, request: pb.GetPreferencesRequest, ctx: grpc.ServicerContext
    ) -> pb.GetPreferencesResponse:
        recipient_id = acting_for(request.recipient_id, "read the preferences of")
        with self.runtime.reader() as uow:
            prefs = recipients.get_preferences(uow, recipient_id)
        return pb.GetPreferencesResponse(preferences=convert.preferences_proto(prefs))

    def PutPreferences(  # noqa: N802
        self, request: pb.PutPreferencesRequest, ctx: grpc.ServicerContext
    ) -> pb.PutPreferencesResponse:
        recipient_id = acting_for(request.preferences.recipient_id, "set the preferences of")
        default_every = timedelta(seconds=configuration.load().digest_every_seconds)
        prefs = convert.preferences_of(request.preferences, recipient_id, default_every)

        def act(uow: UnitOfWork) -> pb.PutPreferencesResponse:
            stored = recipients.put_preferences(uow, prefs, expected_version=request.expected_version)
            return pb.PutPreferencesResponse(preferences=convert.preferences_proto(stored))

        return once(self.runtime, "PutPreferences", request, pb.PutPreferencesResponse, act)

    def PutRecipient(  # noqa: N802
        self, request: pb.PutRecipientRequest, ctx: grpc.ServicerContext
    ) -> pb.PutRecipientResponse:
        recipient = convert.recipient_of(request.recipient)

        def act(uow: UnitOfWork) -> pb.PutRecipientResponse:
            stored = recipients.put_recipient(uow, recipient, expected_version=request.expected_version)
            return pb.PutRecipientResponse(recipient=convert.recipient_proto(stored))

        return once(self.runtime, "PutRecipient", request, pb.PutRecipientResponse, act)

    def GetRecipient(  # noqa: N802
        self, request: pb.GetRecipientRequest, ctx: grpc.ServicerContext
    ) -> pb.GetRecipientResponse:
        with self.runtime.reader() as uow:
            found = recipients.get_recipient(uow, request.recipient_id)
        return pb.GetRecipientResponse(recipient=convert.recipient_proto(found))


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=PreferenceApi(runtime),
        add_to_server=preferences_pb2_grpc.add_PreferenceServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["PreferenceService"].full_name,
        permissions=PERMISSIONS,
    )
