# supportflow API and worker image (docker-compose.yml runs `supportflow api` and `supportflow worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SUPPORTFLOW_DATA_DIR=/var/lib/supportflow

WORKDIR /srv/supportflow

# README.m[d]: copied when present (pyproject names it as the long description).
COPY pyproject.toml README.m[d] ./
COPY definitions ./definitions
COPY desk ./desk
COPY store ./store
COPY activities ./activities
COPY worker ./worker
COPY app ./app
COPY cli ./cli
COPY temporal_edge ./temporal_edge
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && useradd --system --uid 10001 --home-dir /var/lib/supportflow --create-home supportflow

USER supportflow
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"

CMD ["supportflow", "api", "--host", "0.0.0.0", "--port", "8000"]
