"""What gunicorn serves: `gunicorn app:app` (see gunicorn.conf.py)."""
from bridge import create_app

app = create_app()
