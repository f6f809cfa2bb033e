"""The chassis every Switchboard service stands on.

Settings, logging, storage, the unit of work with its outbox, the event bus (relay, consumer
runtime, embedded bus), the gRPC bootstrap and the command line. The chassis never imports a
service: services are found through the ``switchboard.services`` entry points.
"""
