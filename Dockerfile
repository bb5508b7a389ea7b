# The bridge as one container: gunicorn serving app:app on 8080, SQLite store on /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# A virtualenv keeps our pinned dependencies apart from the system Python.
RUN python -m venv /opt/venv
COPY requirements.txt /app/requirements.txt
RUN pip install -r /app/requirements.txt

WORKDIR /app
COPY app.py gunicorn.conf.py ./
COPY bridge ./bridge
COPY sandbox ./sandbox
COPY mappings ./mappings

RUN useradd --system --uid 10001 --no-create-home --home-dir /app bridge \
    && mkdir -p /data && chown bridge /data
USER bridge

# BRIDGE_SANDBOX_HOST: in sandbox mode (-e BRIDGE_SANDBOX=1) the stand-in must listen on every
# interface to be reached through a published port (-p 8090:8090); it runs only in that mode.
ENV BRIDGE_STORE_URL=sqlite:////data/bridge.db \
    BRIDGE_MAPPINGS_DIR=/app/mappings \
    BRIDGE_BIND=0.0.0.0:8080 \
    BRIDGE_SANDBOX_HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 8080 8090

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1

CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:app"]
