"""Serving a file from one folder by name (static assets of the live page and the demo store)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response

__all__ = ['file_from']


def file_from(folder: Path, name: str, cache_control: str = 'no-cache') -> Response:
    """The file `name` of `folder`, or 404: names with a slash (paths out of the folder) and files
    that are not there."""
    path = folder / name
    if '/' in name or '\\' in name or name.startswith('.') or not path.is_file():
        return Response('not found\n', status_code=404, media_type='text/plain')
    return FileResponse(path, headers={'Cache-Control': cache_control})
