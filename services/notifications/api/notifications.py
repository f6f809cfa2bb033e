"""The NotificationService servicer: ad hoc sends, status, a recipient's notifications, the live feed.

Staff read their own notifications and watch their own feed; supervisors and admins anyone's. Agents,
supervisors, admins and integrations send.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.notifications.api import convert
from services.notifications.api.callers import SENDERS, STAFF
from services.notifications.service import notifications
from services.notifications.service.signals import FEED_CHANNEL
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import PermissionDenied
from switchboard.notifications.v1 import notifications_pb2 as pb
from switchboard.notifications.v1 import notifications_pb2_grpc
from switchboard.rpc.callers import acting_for, caller_id, oversees
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding
from switchboard.rpc.streams import Looks

PERMISSIONS = {
    "Send": SENDERS,
    "GetStatus": STAFF | SENDERS,
    "ListNotifications": STAFF,
    "Subscribe": STAFF,
}


class NotificationApi(notifications_pb2_grpc.NotificationServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def Send(self, request: pb.SendRequest, ctx: grpc.ServicerContext) -> pb.SendResponse:  # noqa: N802
        actor = caller_id()

        def act(uow: UnitOfWork) -> pb.SendResponse:
            sent = notifications.send(
                uow,
                recipient_id=request.recipient_id,
                category=request.category,
                priority=convert.priority_of(request.priority),
                channels=list(request.channels),
                template_key=request.template_key,
                subject=request.subject,
                body=request.body,
                variables=dict(request.variables),
                link=request.link,
                actor=actor,
            )
            return pb.SendResponse(notifications=[convert.notification_proto(n) for n in sent])

        return once(self.runtime, "Send", request, pb.SendResponse, act)

    def GetStatus(self, request: pb.GetStatusRequest, ctx: grpc.ServicerContext) -> pb.GetStatusResponse:  # noqa: N802
        with self.runtime.reader() as uow:
            found = notifications.get_status(uow, request.notification_id)
        if found.recipient_id != caller_id() and not oversees() and found.customer_id == "":
            # Another worker's message is theirs; customers' notifications are open to the staff serving them.
            raise PermissionDenied(f"{caller_id()} may not read another worker's notifications")
        return pb.GetStatusResponse(notification=convert.notification_proto(found))

    def ListNotifications(  # noqa: N802
        self, request: pb.ListNotificationsRequest, ctx: grpc.ServicerContext
    ) -> pb.ListNotificationsResponse:
        recipient_id = request.recipient_id or caller_id()
        if recipient_id != caller_id() and not oversees():
            raise PermissionDenied(f"{caller_id()} may not list the notifications of {recipient_id}")
        position = paging.decode(request.page_token, expected={"before"})
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            found = notifications.list_for(
                uow,
                recipient_id,
                status=convert.status_of(request.status) or None,
                before_seq=paging.integer_at(position, "before"),
                limit=limit + 1,
            )
        page, token = paging.next_page(found, limit, lambda last: {"before": last.seq})
        return pb.ListNotificationsResponse(
            notifications=[convert.notification_proto(n) for n in page], next_page_token=token
        )

    def Subscribe(  # noqa: N802
        self, request: pb.SubscribeRequest, ctx: grpc.ServicerContext
    ) -> Iterator[pb.SubscribeResponse]:
        recipient_id = acting_for(request.recipient_id, "watch the live feed of")

        def concerns(payload: str) -> bool:
            # An empty payload names nobody (signals missed while nobody listened): it concerns everyone.
            return payload in ("", recipient_id)

        with Looks(self.runtime.db, FEED_CHANNEL, ctx, concerns) as looks:
            with self.runtime.reader() as uow:
                cursor, replay = notifications.feed_start(
                    uow, recipient_id, request.after_cursor, request.replay_latest
                )
            for _ in looks:
                with self.runtime.reader() as uow:
                    items = replay + notifications.feed_after(uow, recipient_id, cursor)
                replay = []
                if not items:
                    continue
                for item in items:
                    yield pb.SubscribeResponse(item=convert.feed_item_proto(item))
                cursor = items[-1].cursor
                if recipient_id == caller_id():
                    # Shown on the recipient's own console: delivered. A supervisor watching is not the recipient.
                    with self.runtime.uow() as uow:
                        notifications.mark_delivered(uow, items, utcnow())
                        uow.commit()


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=NotificationApi(runtime),
        add_to_server=notifications_pb2_grpc.add_NotificationServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["NotificationService"].full_name,
        permissions=PERMISSIONS,
    )
