"""What gunicorn serves: `gunicorn -c gunicorn.conf.py app:app`.

Under gunicorn the worker hook in bridge.web.server starts the app; any other WSGI
server must call `app.extensions["bridge"].start()` itself.
"""
from bridge import create_app
from bridge.web import server

app = create_app(**server.app_options())
