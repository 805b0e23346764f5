"""The demo store's routes (mounted by collector.app when `demo=True`)."""

from __future__ import annotations

from starlette.responses import HTMLResponse
from starlette.routing import Route

HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo store</title>
<script src="/tags/demo.js"></script>
<script src="/demo-init.js"></script>
</head><body><h1>Demo store</h1><p>Open <a href="/#om_debug">/#om_debug</a> to see the overlay,
and <a href="/live?account=demo">the live events</a>.</p></body></html>
"""
INIT = "ometria.init('homepage', null, 'demo');\n"


async def home(request):
    return HTMLResponse(HOME)


async def init_script(request):
    from starlette.responses import Response

    return Response(INIT, media_type='text/javascript')


def demo_routes() -> list:
    return [Route('/', home), Route('/demo-init.js', init_script)]
