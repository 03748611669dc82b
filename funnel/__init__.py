"""funnel: link marketing-automation leads to sales opportunities and diagnose the funnel.

The engine never imports Streamlit. Pages and the CLI use this public surface.
"""

from funnel.errors import EmptyFileError, FunnelError, MappingError, NoKeyColumnError, UnreadableFileError
from funnel.reader import LoadReport, Source
from funnel.sql import connect
from funnel.workspace import Build, LinkSpec, Workspace

__all__ = [
    "Build", "EmptyFileError", "FunnelError", "LinkSpec", "LoadReport", "MappingError", "NoKeyColumnError",
    "Source", "UnreadableFileError", "Workspace", "connect",
]
