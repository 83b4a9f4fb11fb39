# Production image: gunicorn web, Celery worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DEPLOYMENT=production VAR_DIR=/var/lib/plant
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir . && useradd --system --home /app plant && mkdir -p /var/lib/plant \
    && chown plant /var/lib/plant
COPY . .
# collectstatic needs settings to import; these throwaway values never reach a running container.
RUN SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build \
    CELERY_BROKER_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput
# The sequencing search is compiled (Numba) into the image once, not by each worker at start.
RUN python -c "from coordination.scheduling.compiled import warm_up; warm_up()"
USER plant
EXPOSE 8000
# Timeouts and limits: gunicorn.conf.py. In docker-compose nginx (deploy/nginx.conf) is in front.
ENV BIND=0.0.0.0:8000 WEB_WORKERS=4 WEB_THREADS=2
CMD ["gunicorn", "-c", "gunicorn.conf.py", "plantcoord.wsgi"]
