"""The ceiling of this machine for the collector benchmark: an ASGI app that reads the body and
answers 204, served by uvicorn with the collector's own settings."""


async def app(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                await send({'type': 'lifespan.startup.complete'})
            elif message['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    more = True
    while more:
        message = await receive()
        more = message.get('more_body', False)
    await send({'type': 'http.response.start', 'status': 204, 'headers': []})
    await send({'type': 'http.response.body', 'body': b''})
