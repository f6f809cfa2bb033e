"""Generate the protobuf and gRPC modules, with mypy stubs, from protos/ into the source tree.

Output lands where the proto paths say (protos/switchboard/ticketing/v1/x.proto becomes
switchboard/ticketing/v1/x_pb2.py), so generated code has absolute imports. Each generated folder
gets an __init__.py; stale modules from deleted protos are removed first, so the result depends
only on protos/.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GENERATED_ROOTS = (
    "buf",
    "switchboard/common",
    "switchboard/events",
    "switchboard/ticketing",
    "switchboard/routing",
    "switchboard/customer360",
    "switchboard/notifications",
)


def main(descriptor_set: str) -> None:
    for folder in GENERATED_ROOTS:
        shutil.rmtree(ROOT / folder, ignore_errors=True)
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    wkt = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{wkt}",
        f"--descriptor_set_in={descriptor_set}",
        f"--python_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        f"--mypy_out=quiet:{ROOT}",
        f"--mypy_grpc_out=quiet:{ROOT}",
        *sources,
        "buf/validate/validate.proto",
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for folder in GENERATED_ROOTS:
        for directory in [ROOT / folder, *(p for p in (ROOT / folder).rglob("*") if p.is_dir())]:
            if directory.exists():
                (directory / "__init__.py").touch()


if __name__ == "__main__":
    main(sys.argv[1])
