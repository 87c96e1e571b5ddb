# syntax=docker/dockerfile:1
# Build stage: build a wheel of Isthmus and its dependencies.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app ./app
COPY system_apis ./system_apis
COPY process_apis ./process_apis
COPY sandbox ./sandbox
RUN python -m venv /opt/isthmus && /opt/isthmus/bin/pip install .

# Runtime stage: the virtualenv only, run as an unprivileged user.
FROM python:3.11-slim AS runtime
ENV PATH=/opt/isthmus/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ISTHMUS_HOST=0.0.0.0 \
    ISTHMUS_PORT=8000
RUN groupadd --system isthmus && useradd --system --gid isthmus --no-create-home isthmus
COPY --from=build /opt/isthmus /opt/isthmus
USER isthmus
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('ISTHMUS_PORT','8000'), timeout=2)"]
CMD ["isthmus", "serve"]
