"""Size: raw, gzip -9 and brotli bytes of our tag and of the peers' shipped files."""

from __future__ import annotations

from build_tags import file_figures
from common import OURS, PEER_FILES


def sizes(data: bytes) -> dict:
    """Raw, gzip -9 and brotli bytes, measured as the build measures its own files."""
    figures = file_figures(data)
    return {key: figures[key] for key in ('raw', 'gzip', 'brotli')}


def run() -> dict:
    result = {'ometria (this tag, dist/tags/demo.js)': sizes(OURS.read_bytes())}
    for _key, (label, path) in PEER_FILES.items():
        result[f'{label} ({path.name})'] = sizes(path.read_bytes())
    return result


if __name__ == '__main__':
    for name, figures in run().items():
        print(f'{name:<60} raw {figures["raw"]:>8}  gzip {figures["gzip"]:>7}  brotli {figures["brotli"]:>7}')
