# MLflow tracking server with the PostgreSQL driver, as user mlflow (same MLflow as the framework).
#   docker build -f docker/mlflow.Dockerfile -t jpegai_fd-mlflow:3.17.2 docker
FROM python:3.11.7-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
RUN pip install --no-cache-dir mlflow==3.17.2 psycopg2-binary==2.9.13 \
    && groupadd --gid 10002 mlflow \
    && useradd --create-home --uid 10002 --gid 10002 mlflow \
    && mkdir /mlartifacts && chown mlflow:mlflow /mlartifacts
USER 10002:10002
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"]
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]
